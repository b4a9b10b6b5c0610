"""Push to and pull from a real Taguette server (started by conftest.py on 127.0.0.1)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from lxml import etree
from sklearn.metrics import cohen_kappa_score
from taguette_helpers import TRANSCRIPTS, Coder, make_store, token_client

from evaluation.qualitative.store import Store
from evaluation.qualitative.taguette import html_text, pull, push, taguette_form

SCHEMA = (
    __import__("pathlib").Path(
        __import__("evaluation.qualitative.refi", fromlist=["SCHEMAS"]).SCHEMAS
    )
    / "Project-mrt2019.xsd"
)

NORD, SYD = "Koordinator Nordjylland", "Koordinator Syddanmark"
PHRASES = [
    # (document, phrase as in the store's text, tag paths)
    (
        NORD,
        "Vi henter tal fra portalen 📊, men det tager tid",
        ("Obtaining data.Challenges", "Obtaining data.Portal (reg․ data)"),
    ),
    (NORD, "møder op?\r\nKoordinator: Omkring to tredjedele 👩‍⚕️👨‍⚕️ kommer", ("Attendance",)),
    (NORD, "NSAID.\r\n\r\nInterviewer", ("Obtaining data",)),
    (SYD, "  Koordinator: Regionens kvalitetsenhed hjalp", ("Regional support",)),
    (
        SYD,
        "Midlerne rækker ikke – det er et problem 😟 for klyngen.\rSlut på båndet.",
        ("Funding",),
    ),
    (SYD, "\tInterviewer: Og økonomien?", ("Funding",)),
]


@pytest.fixture
def pushed(tmp_path, taguette_server):
    store = make_store(tmp_path / "coding.sqlite")
    client = token_client(taguette_server)
    report = push(client, store, project_name="Interviews")
    yield store, client, report.project_id
    client.close()
    store.close()


def _segments(store: Store, coder: str | None = None):
    frame = store.segments(with_text=True, coders=[coder] if coder else None)
    return frame.sort_values(["document", "start", "code_key"]).reset_index(drop=True)


def test_push_uploads_transcripts_without_loss_and_codebook_as_dotted_tags(pushed):
    store, client, project_id = pushed
    listing = client.project(project_id)
    assert sorted(meta["name"] for meta in listing.documents.values()) == sorted(TRANSCRIPTS)
    for document_id, meta in listing.documents.items():
        # what Taguette stores spells the transcript exactly (line ends become "\n")
        assert html_text(client.document_html(project_id, document_id)) == taguette_form(
            TRANSCRIPTS[meta["name"]]
        )
    tags = {tag["path"]: tag["description"] for tag in listing.tags.values()}
    assert tags["Obtaining data.Challenges"] == "Trouble getting or reading data."
    assert (
        tags["Obtaining data.Portal (reg․ data)"] == "The national medication portal."
    )  # "." kept as U+2024
    assert tags["Attendance"] == "Who comes to the meetings."
    # pushing again uploads nothing new
    again = push(client, store, project_id=project_id)
    assert (again.documents_uploaded, again.tags_created, again.documents_already_there) == (
        0,
        0,
        2,
    )
    assert len(client.project(project_id).documents) == 2


def test_pulled_segments_equal_the_highlighted_text(pushed):
    store, client, project_id = pushed
    coder = Coder(client, project_id)
    highlight_ids = [coder.highlight(document, phrase, *tags) for document, phrase, tags in PHRASES]
    report = pull(client, store, project_id, coder="anna")
    assert report.segments_added == sum(len(tags) for _, _, tags in PHRASES)
    assert not report.text_differences and not report.skipped

    segments = _segments(store, "anna")
    expected = sorted(phrase for _, phrase, tags in PHRASES for _ in tags)
    assert sorted(segments["text"]) == expected  # CRLF, lone CR, emoji and æøå intact
    # ... and each equals the text Taguette itself shows for the highlight
    snippets = coder.taguette_snippets()
    for highlight_id, (_, phrase, _) in zip(highlight_ids, PHRASES):
        assert snippets[highlight_id] == taguette_form(phrase)
    codes = store.codes().set_index("id")
    portal = segments[segments["code_key"] == "data.portal"]
    assert portal["text"].tolist() == [PHRASES[0][1]]
    assert codes.loc[portal["code_id"].iloc[0], "path"] == "Obtaining data/Portal (reg. data)"

    # idempotent: a second pull changes nothing
    before = _segments(store)
    again = pull(client, store, project_id, coder="anna")
    assert not again.changed and again.segments_unchanged == len(before)
    assert _segments(store).equals(before)


def test_edits_and_deletions_in_taguette_are_reflected(pushed):
    store, client, project_id = pushed
    coder = Coder(client, project_id)
    moved = coder.highlight(NORD, "Vi henter tal", "Obtaining data")
    retagged = coder.highlight(NORD, "to tredjedele", "Attendance")
    deleted = coder.highlight(SYD, "Midlerne rækker ikke", "Funding")
    coder.highlight(SYD, "kvalitetsenhed", "Regional support")
    pull(client, store, project_id, coder="anna")
    ids_before = dict(zip(_segments(store)["text"], _segments(store)["id"]))

    start, end = coder.byte_span(NORD, "Vi henter tal fra portalen 📊")
    client.update_highlight(project_id, coder.documents[NORD], moved, start=start, end=end)
    client.update_highlight(
        project_id, coder.documents[NORD], retagged, tags=[coder.tags["Funding"]]
    )
    client.delete_highlight(project_id, coder.documents[SYD], deleted)
    client.update_tag(
        project_id,
        coder.tags["Regional support"],
        path="Support.Regional unit",
        description="Renamed in Taguette",
    )
    new_tag = client.add_tag(project_id, "Facilitation", "Running the meeting")
    client.add_highlight(
        project_id, coder.documents[NORD], *coder.byte_span(NORD, "Hvem møder op?"), [new_tag]
    )

    report = pull(client, store, project_id, coder="anna")
    segments = _segments(store)
    by_text = dict(zip(segments["text"], segments["code_key"]))
    assert "Midlerne rækker ikke" not in by_text
    assert by_text["Vi henter tal fra portalen 📊"] == "data"
    assert (
        ids_before["Vi henter tal"]
        == segments.loc[segments["text"] == "Vi henter tal fra portalen 📊", "id"].iloc[0]
    )
    assert by_text["to tredjedele"] == "funding"
    codes = store.codes().set_index("key")
    assert codes.loc["support", "path"] == "Support/Regional unit"
    assert codes.loc["support", "description"] == "Renamed in Taguette"
    facilitation = segments.loc[segments["text"] == "Hvem møder op?", "code_key"].iloc[0]
    assert codes.loc[facilitation, "name"] == "Facilitation"
    assert (
        report.segments_deleted == 2 and report.segments_added == 2
    )  # re-tag = new (highlight, tag) pair
    # a document deleted in Taguette takes its segments with it (the transcript stays in the store)
    client.delete_document(project_id, coder.documents[SYD])
    pull(client, store, project_id, coder="anna")
    assert set(_segments(store)["document"]) == {NORD}
    assert len(store.documents()) == 2
    assert not pull(client, store, project_id).changed  # coder remembered, nothing new


def test_blind_parallel_coding_pulls_two_coders_for_agreement(tmp_path, taguette_server):
    from evaluation.qualitative.agreement import agreement_table

    store = make_store(tmp_path / "coding.sqlite")
    with token_client(taguette_server) as client:
        projects = {
            coder: push(client, store, project_name=f"Interviews ({coder})").project_id
            for coder in ("anna", "bo")
        }
        anna, bo = Coder(client, projects["anna"]), Coder(client, projects["bo"])
        anna.highlight(
            NORD, "Vi henter tal fra portalen 📊, men det tager tid", "Obtaining data.Challenges"
        )
        bo.highlight(NORD, "Vi henter tal fra portalen 📊", "Obtaining data.Challenges")
        anna.highlight(NORD, "Omkring to tredjedele 👩‍⚕️👨‍⚕️ kommer", "Attendance")
        bo.highlight(NORD, "Omkring to tredjedele 👩‍⚕️👨‍⚕️ kommer", "Attendance")
        bo.highlight(SYD, "Midlerne rækker ikke", "Funding")
        for coder, project_id in projects.items():
            pull(client, store, project_id, coder=coder)
    segments = store.segments()
    assert set(segments["coder"]) == {"anna", "bo"}
    assert len(store.documents()) == 2  # both projects map to the same transcripts
    documents = store.documents()
    table = agreement_table(segments, documents, "anna", "bo", level="character", uncoded=True)

    # independent check: character vectors per code over the documents either coder coded
    lengths = dict(zip(documents["id"], documents["n_chars"]))
    coded_documents = sorted(set(segments["document_id"]))
    for code in ("data.challenges", "attendance", "funding"):
        vectors = {}
        for coder in ("anna", "bo"):
            marks = []
            for document_id in coded_documents:
                marked = np.zeros(lengths[document_id], dtype=int)
                mine = segments[
                    (segments["coder"] == coder)
                    & (segments["code_key"] == code)
                    & (segments["document_id"] == document_id)
                ]
                for row in mine.itertuples():
                    marked[row.start : row.end] = 1
                marks.append(marked)
            vectors[coder] = np.concatenate(marks)
        expected = (
            cohen_kappa_score(vectors["anna"], vectors["bo"]) if vectors["anna"].any() else 0.0
        )
        row = table[table["code_key"] == code].iloc[0]
        if code == "attendance":
            assert row["cohen_kappa"] == pytest.approx(1.0)
        if code == "funding":
            assert row["only_b"] == len("Midlerne rækker ikke") and row["both"] == 0
        else:
            assert row["cohen_kappa"] == pytest.approx(expected, abs=1e-9)
    store.close()


def test_a_pulled_project_exports_to_a_schema_valid_qdpx(pushed, tmp_path):
    from evaluation.qualitative.refi import export_qdpx, read_project_xml

    store, client, project_id = pushed
    coder = Coder(client, project_id)
    for document, phrase, tags in PHRASES:
        coder.highlight(document, phrase, *tags)
    pull(client, store, project_id, coder="anna")
    path = export_qdpx(store, tmp_path / "from-taguette.qdpx")
    root = read_project_xml(path)
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(root), schema.error_log
    namespace = {"q": "urn:QDA-XML:project:1.0"}
    assert len(root.findall(".//q:PlainTextSelection", namespace)) == len(store.segments())
    assert {u.get("name") for u in root.findall(".//q:User", namespace)} >= {"anna"}


def test_secrets_never_reach_the_store_or_the_log(tmp_path, taguette_multiuser, caplog):
    from taguette_helpers import login_client

    caplog.set_level(logging.DEBUG)
    store = make_store(tmp_path / "coding.sqlite")
    with login_client(taguette_multiuser, "anna") as client:
        project_id = push(client, store, project_name="Anna's interviews").project_id
        Coder(client, project_id).highlight(NORD, "Vi henter tal", "Obtaining data")
        report = pull(client, store, project_id)
    assert report.coder == "anna"  # default coder: the Taguette login
    store.close()
    secret = taguette_multiuser.passwords["anna"]
    for path in tmp_path.glob("coding.sqlite*"):
        assert secret.encode() not in path.read_bytes()
    assert secret not in caplog.text and secret not in str(report)
    assert "POST /login" in caplog.text  # the log did record the requests, just not the secret
    assert "anna-Pa55word" not in repr(client)


def test_token_never_reaches_the_log(taguette_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    store = make_store(tmp_path / "coding.sqlite")
    with token_client(taguette_server) as client:
        pull(client, store, push(client, store, project_name="Token").project_id)
    store.close()
    assert "token=***" in caplog.text
    assert taguette_server.token not in caplog.text
    for path in tmp_path.glob("coding.sqlite*"):
        assert taguette_server.token.encode() not in path.read_bytes()


def test_multi_user_members_and_blind_projects(tmp_path, taguette_multiuser):
    from taguette_helpers import login_client

    store = make_store(tmp_path / "coding.sqlite")
    with login_client(taguette_multiuser, "admin") as admin:
        project_id = push(admin, store, project_name="Shared").project_id
        admin.set_member(project_id, "bo", "TAG")
    with login_client(taguette_multiuser, "bo") as bo:
        Coder(bo, project_id).highlight(SYD, "kvalitetsenhed", "Regional support")
        report = pull(bo, store, project_id, coder="bo")
    assert report.segments_added == 1
    assert _segments(store, "bo")["text"].tolist() == ["kvalitetsenhed"]
    store.close()


def test_characters_taguette_drops_are_aligned_around(tmp_path, taguette_server):
    store = Store.create(tmp_path / "coding.sqlite")
    text = "Side 1\x0cSide 2\x01: Vi mangler data 📉 fra portalen.\r\nSlut."
    store.add_document("Scannet udskrift", text)
    store.add_code("data", "Obtaining data")
    with token_client(taguette_server) as client:
        project_id = push(client, store, project_name="Odd characters").project_id
        coder = Coder(client, project_id)
        shown = coder.shown_text("Scannet udskrift")
        assert shown == "Side 1?Side 2?: Vi mangler data 📉 fra portalen.\nSlut."  # bleach's doing
        coder.highlight(
            "Scannet udskrift", "Vi mangler data 📉 fra portalen.\nSlut", "Obtaining data"
        )
        report = pull(client, store, project_id, coder="anna")
    assert store.segments(with_text=True)["text"].tolist() == [
        "Vi mangler data 📉 fra portalen.\r\nSlut"
    ]
    assert any("differs from the store's" in note for note in report.text_differences)
    store.close()


def test_push_with_segments_then_pull_updates_the_same_segments(tmp_path, taguette_server):
    store = make_store(tmp_path / "coding.sqlite")
    nord = TRANSCRIPTS[NORD]
    phrase = "Vi henter tal fra portalen 📊"
    first = store.add_segment(
        NORD, "data.challenges", nord.index(phrase), nord.index(phrase) + len(phrase), coder="anna"
    )
    crlf = "NSAID.\r\n\r\nInterviewer"
    second = store.add_segment(
        NORD, "data", nord.index(crlf), nord.index(crlf) + len(crlf), coder="anna"
    )
    store.add_segment(NORD, "attendance", 0, 11, coder="bo")  # another coder's: not pushed
    with token_client(taguette_server) as client:
        report = push(
            client, store, project_name="Carry on coding", coder="anna", with_segments=True
        )
        assert report.highlights_created == 2
        coder = Coder(client, report.project_id)
        assert sorted(coder.taguette_snippets().values()) == sorted([phrase, taguette_form(crlf)])
        highlight = client.document_highlights(report.project_id, coder.documents[NORD])[0]
        longer = "Vi henter tal fra portalen 📊, men det tager tid"
        client.update_highlight(
            report.project_id,
            coder.documents[NORD],
            highlight["id"],
            start=coder.byte_span(NORD, longer)[0],
            end=coder.byte_span(NORD, longer)[1],
        )
        pulled = pull(client, store, report.project_id)
    assert (
        pulled.coder,
        pulled.segments_added,
        pulled.segments_updated,
        pulled.segments_unchanged,
    ) == ("anna", 0, 1, 1)
    anna = store.segments(with_text=True, coders=["anna"]).set_index("id")
    assert anna.loc[first, "text"] == longer and anna.loc[second, "text"] == crlf
    assert len(store.segments(coders=["bo"])) == 1
    store.close()


def test_documents_born_in_taguette_come_in_readable(tmp_path, taguette_server):
    store = Store.create(tmp_path / "coding.sqlite")
    with token_client(taguette_server) as client:
        project_id = client.create_project("Uploaded in Taguette")
        client.add_tag(project_id, "Attendance.Absence", "Who stays away")
        # HTML as converters write it: blocks with no white space between them
        page = (
            '<html><head><meta charset="utf-8"></head><body><p>Interviewer: Hvem udebliver?</p>'
            "<p>Koordinator: De samme tre læger 👨‍⚕️ hver gang.</p><p>Interviewer: Hvorfor?</p>"
            "<p>Koordinator: Travlhed.</p></body></html>"
        )
        document = client.add_document(project_id, "Uploadet interview", page)
        coder = Coder(client, project_id)
        shown = coder.shown_text("Uploadet interview")
        assert "udebliver?Koordinator" in shown  # Taguette's own text runs the paragraphs together
        coder.highlight(
            "Uploadet interview", "De samme tre læger 👨‍⚕️ hver gang.", "Attendance.Absence"
        )
        coder.highlight("Uploadet interview", "gang.Interviewer: Hvorfor?", "Attendance.Absence")
        report = pull(client, store, project_id, coder="anna")
        again = pull(client, store, project_id, coder="anna")
    assert report.documents_added == 1 and not again.changed and not report.text_differences
    text = store.document_text("Uploadet interview")
    assert text.startswith("Interviewer: Hvem udebliver?\n\nKoordinator: De samme tre læger")
    assert sorted(store.segments(with_text=True)["text"]) == [
        "De samme tre læger 👨‍⚕️ hver gang.",
        "gang.\n\nInterviewer: Hvorfor?",
    ]
    assert len(store.speaker_turns("Uploadet interview")) == 4
    assert store.codes().set_index("key").loc["attendance.absence", "path"] == "Attendance/Absence"
    assert document  # the upload answered with its id
    store.close()


def test_codebook_changes_in_the_store_are_pushed_to_the_tags(pushed):
    from evaluation.qualitative.codebook import rename_code

    store, client, project_id = pushed
    Coder(client, project_id).highlight(NORD, "Vi henter tal", "Obtaining data.Challenges")
    pull(client, store, project_id, coder="anna")
    rename_code(store, "data", name="Data access")
    with store.transaction() as cur:
        cur.execute("UPDATE codes SET description = 'Barriers.' WHERE key = 'data.challenges'")
    report = push(client, store, project_id=project_id)
    assert report.tags_updated == 3  # the theme and its two subthemes: their paths changed
    tags = {tag["path"]: tag["description"] for tag in client.project(project_id).tags.values()}
    assert tags["Data access.Challenges"] == "Barriers."
    assert "Obtaining data.Challenges" not in tags
    assert not pull(client, store, project_id).changed  # the store and Taguette agree again
