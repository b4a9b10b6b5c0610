"""Offline import of Taguette's export files, made by a real server."""

from __future__ import annotations

import sqlite3

import pytest
from taguette_helpers import TRANSCRIPTS, Coder, make_store, store_state, token_client

from evaluation.qualitative.store import Store
from evaluation.qualitative.taguette import (
    TaguetteExportError,
    import_codebook_csv,
    import_highlights_csv,
    import_project_export,
    pull,
    push,
)

NORD, SYD = "Koordinator Nordjylland", "Koordinator Syddanmark"
PHRASES = [
    (
        NORD,
        "Vi henter tal fra portalen 📊, men det tager tid",
        ("Obtaining data.Challenges", "Attendance"),
    ),
    (NORD, "NSAID.\r\n\r\nInterviewer", ("Obtaining data",)),
    (SYD, "Midlerne rækker ikke – det er et problem 😟 for klyngen.\rSlut", ("Funding",)),
]


@pytest.fixture
def coded_project(tmp_path, taguette_server):
    """A pushed and coded project, its exports, and a store pulled from it live (for comparison)."""
    store = make_store(tmp_path / "live.sqlite")
    client = token_client(taguette_server)
    project_id = push(client, store, project_name="Offline").project_id
    coder = Coder(client, project_id)
    for document, phrase, tags in PHRASES:
        coder.highlight(document, phrase, *tags)
    pull(client, store, project_id, coder="anna")
    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("project.sqlite3", "codebook.csv", "highlights/.csv"):
        (exports / name.replace("/", "")).write_bytes(client.export(project_id, name))
    yield store, client, project_id, coder, exports
    store.close()
    client.close()


def _texts(store: Store) -> list[tuple[str, str, str]]:
    frame = store.segments(with_text=True)
    return sorted(
        zip(
            frame["document"],
            frame["code_key"].map(dict(zip(store.codes()["key"], store.codes()["path"]))),
            frame["text"],
        )
    )


def test_project_export_imports_like_a_live_pull(coded_project, tmp_path):
    live, client, project_id, coder, exports = coded_project
    offline = Store.create(tmp_path / "offline.sqlite")
    report = import_project_export(offline, exports / "project.sqlite3", coder="anna")
    assert report.documents_added == 2 and report.segments_added == 4
    # documents born in Taguette: the store holds Taguette's text (line ends as "\n")
    documents = offline.documents(with_text=True).set_index("name")
    assert documents.loc[NORD, "text"] == TRANSCRIPTS[NORD].replace("\r\n", "\n")
    from evaluation.qualitative.taguette import taguette_form

    expected = sorted((d, p, taguette_form(t)) for d, p, t in _texts(live))
    assert _texts(offline) == expected
    assert set(offline.segments()["coder"]) == {"anna"}
    # the same export again changes nothing (but the time of the last import)
    state = store_state(tmp_path / "offline.sqlite", skip=("taguette_sources",))
    assert not import_project_export(offline, exports / "project.sqlite3", coder="anna").changed
    assert store_state(tmp_path / "offline.sqlite", skip=("taguette_sources",)) == state
    # a newer export (one highlight deleted in Taguette) deletes that segment, even though
    # Taguette renumbered every id in the new export
    highlights = client.document_highlights(project_id, coder.documents[SYD])
    client.delete_highlight(project_id, coder.documents[SYD], highlights[0]["id"])
    (exports / "newer.sqlite3").write_bytes(client.export(project_id, "project.sqlite3"))
    newer = import_project_export(offline, exports / "newer.sqlite3", coder="anna")
    assert newer.segments_deleted == 1 and newer.segments_unchanged == 3
    offline.close()


def test_export_into_the_store_it_came_from_links_the_transcripts(coded_project, tmp_path):
    live, client, project_id, coder, exports = coded_project
    report = import_project_export(live, exports / "project.sqlite3", coder="bo")
    assert (
        report.documents_added == 0 and report.documents_linked == 2
    )  # same text: same transcript
    bo = live.segments(with_text=True, coders=["bo"])
    anna = live.segments(with_text=True, coders=["anna"])
    assert sorted(bo["text"]) == sorted(
        anna["text"]
    )  # exact CRLF text: offsets mapped to the store


def test_codebook_and_highlights_csv(coded_project, tmp_path):
    live, client, project_id, coder, exports = coded_project
    store = make_store(tmp_path / "csv.sqlite")
    counts = import_codebook_csv(store, exports / "codebook.csv")
    assert counts["codes_added"] == 1  # only Taguette's default tag "interesting" was new
    assert (
        store.codes().set_index("key").loc["interesting", "description"]
        == "Further review required"
    )
    report = import_highlights_csv(
        store, exports / "highlights.csv", coder="anna", source="Offline"
    )
    assert report.segments_added == 4
    # the CSV flattens white space; the quotes are found in the store's own text, CRLF and all
    assert sorted(store.segments(with_text=True)["text"]) == sorted(
        live.segments(with_text=True)["text"]
    )
    assert not import_highlights_csv(
        store, exports / "highlights.csv", coder="anna", source="Offline"
    ).changed
    store.close()


def test_ambiguous_quotes_in_a_highlights_csv_are_refused(tmp_path):
    store = make_store(tmp_path / "coding.sqlite")
    csv_path = tmp_path / "highlights.csv"
    csv_path.write_text(
        "id,document,tag,content\n1,Koordinator Nordjylland,Funding,Koordinator:\n",
        encoding="utf-8",
    )
    before = store_state(tmp_path / "coding.sqlite")
    with pytest.raises(TaguetteExportError, match=r"row 2: quote occurs 2 times .*--first-match"):
        import_highlights_csv(store, csv_path, coder="anna")
    assert store_state(tmp_path / "coding.sqlite") == before
    report = import_highlights_csv(store, csv_path, coder="anna", first_match=True)
    assert report.segments_added == 1
    assert store.segments(with_text=True)["text"].tolist() == ["Koordinator:"]
    store.close()


def test_bad_export_files_are_refused_with_nothing_written(tmp_path):
    store = make_store(tmp_path / "coding.sqlite")
    before = store_state(tmp_path / "coding.sqlite")
    not_sqlite = tmp_path / "notes.sqlite3"
    not_sqlite.write_text("hello")
    with pytest.raises(TaguetteExportError, match="not an SQLite database"):
        import_project_export(store, not_sqlite)
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(TaguetteExportError, match="not a Taguette project export"):
        import_project_export(store, other)
    wrong_csv = tmp_path / "wrong.csv"
    wrong_csv.write_text("a,b\n1,2\n")
    with pytest.raises(
        TaguetteExportError, match="expected Taguette's columns id, document, tag, content"
    ):
        import_highlights_csv(store, wrong_csv, coder="anna")
    unknown_document = tmp_path / "unknown.csv"
    unknown_document.write_text("id,document,tag,content\n1,Nobody,Funding,hello\n")
    with pytest.raises(TaguetteExportError, match="document 'Nobody' is not in the store"):
        import_highlights_csv(store, unknown_document, coder="anna")
    assert store_state(tmp_path / "coding.sqlite") == before
    store.close()
