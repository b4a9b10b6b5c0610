"""The SQLite store: integrity rules live in the database, not only in Python."""

from __future__ import annotations

import sqlite3

import pytest

from evaluation.qualitative.store import Store, StoreError


def test_store_uses_wal_and_foreign_keys(store):
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        store.connection.execute(
            'INSERT INTO segments (guid, document_id, code_id, coder_id, start, "end", created_at) '
            "VALUES ('x', 999, 999, 999, 0, 1, 'now')"
        )


def test_offsets_are_code_points(store):
    text = "Coordinator: Data 😀 fra Ærø – ok."
    document = store.add_document("emoji", text)
    code = store.add_code("data", "Obtaining data")
    start = text.index("fra")
    segment = store.add_segment(document, code, start, start + len("fra Ærø"), coder="anna")
    assert store.segment_text(segment) == "fra Ærø"
    # the emoji is one code point: the store agrees with Python's indexing
    assert store.documents().loc[0, "n_chars"] == len(text)


def test_segment_past_document_end_is_refused_and_nothing_written(store):
    document = store.add_document("d", "short text")
    code = store.add_code("c")
    store.add_segment(document, code, 0, 5, coder="anna")
    with pytest.raises(StoreError, match="past the end"):
        store.add_segments([(document, code, 0, 3), (document, code, 2, 11)], coder="anna")
    assert len(store.segments()) == 1  # the good row of the failed batch was rolled back too
    with pytest.raises(StoreError, match="0 <= start < end"):
        store.add_segment(document, code, 5, 5, coder="anna")


def test_document_text_is_immutable_once_coded(store):
    document = store.add_document("d", "first version")
    store.replace_document_text(document, "second version")  # allowed: nothing coded yet
    code = store.add_code("c")
    store.add_segment(document, code, 0, 6, coder="anna")
    with pytest.raises(StoreError, match="immutable once coded"):
        store.replace_document_text(document, "third version")
    with pytest.raises(sqlite3.IntegrityError):  # also at the SQL level
        store.connection.execute("UPDATE documents SET text = 'x' WHERE id = ?", (document,))
    assert store.document_text(document) == "second version"


def test_memos_on_every_target_and_cases_with_attributes(store):
    document = store.add_document("interview_C012", "Coordinator: We meet four times a year.")
    code = store.add_code("admin", "Administration")
    segment = store.add_segment(document, code, 13, 39, coder="anna")
    case = store.add_case(
        "C012",
        attributes={"region": "Nordjylland", "n_gps": 31, "cluster_id": "C012"},
        documents=[document],
    )
    store.add_memo("Overall impression", target="project")
    store.add_memo("Long interview", target="document", target_id="interview_C012")
    store.add_memo("Use for scheduling", target="code", target_id="admin", coder="anna")
    store.add_memo("Typical quote", target="segment", target_id=segment)
    store.add_memo("Rural cluster", target="case", target_id="C012")
    memos = store.memos()
    assert memos["target"].tolist() == ["project", "document", "code", "segment", "case"]
    assert memos.loc[2, "coder"] == "anna"
    with pytest.raises(StoreError, match="expected project"):
        store.add_memo("x", target="planet")
    with pytest.raises(StoreError, match="memo refused"):
        store.add_memo("x", target="segment", target_id=999)
    cases = store.cases()
    assert cases.loc[0, "region"] == "Nordjylland" and cases.loc[0, "cluster_id"] == "C012"
    # updating a case keeps one row and overwrites the attribute
    store.add_case("C012", attributes={"region": "Midtjylland"})
    assert store.cases()["region"].tolist() == ["Midtjylland"]
    assert store.case_documents()["document_id"].tolist() == [document]
    assert case == store.case_id("C012")


def test_open_refuses_missing_or_foreign_files(tmp_path):
    with pytest.raises(StoreError, match="workbench qual init"):
        Store.open(tmp_path / "none.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(StoreError, match="not a coding store"):
        Store.open(other)


def test_duplicate_document_name_refused(store):
    store.add_document("a", "text")
    with pytest.raises(StoreError, match="already in the store"):
        store.add_document("a", "other text")


def test_deleting_segments_and_documents(store):
    document = store.add_document("d", "some text here")
    code = store.add_code("c")
    ids = store.add_segments(
        [
            (document, code, 0, 4, None, "aaaaaaaa-0000-4000-8000-000000000001"),
            (document, code, 5, 9),
        ],
        coder="anna",
    )
    store.add_memo("note", target="segment", target_id=ids[0])
    assert store.segment_ids_by_guid(["aaaaaaaa-0000-4000-8000-000000000001", "unknown"]) == {
        "aaaaaaaa-0000-4000-8000-000000000001": ids[0]
    }
    store.delete_segments([ids[0]])
    assert (
        store.segments()["id"].tolist() == [ids[1]] and store.memos().empty
    )  # memo went with its segment
    with pytest.raises(StoreError, match="has 1 segment"):
        store.delete_document("d")
    store.delete_document("d", with_segments=True)
    assert store.summary()["documents"] == 0 and store.summary()["segments"] == 0


def test_cluster_cases_link_documents_by_cluster_id(store, synthetic_small):
    import pandas as pd

    from evaluation.qualitative.cases import link_cluster_cases

    clusters = pd.read_parquet(synthetic_small / "clusters.parquet")
    first, second = clusters["cluster_id"].iloc[0], clusters["cluster_id"].iloc[1]
    store.add_document(f"interview_01_{first}", "Coordinator: a")
    store.add_document(f"interview_02_{second}", "Coordinator: b")
    store.add_document("pilot interview", "Coordinator: c")
    links = link_cluster_cases(store, synthetic_small)
    assert links["case"].tolist() == [first, second]
    cases = store.cases().set_index("case")
    assert cases.loc[first, "region"] == clusters.set_index("cluster_id").loc[first, "region"]
    assert {"cluster_id", "n_gps", "n_clinics", "urban_share", "listed_patients"} <= set(
        cases.columns
    )
    store.add_document("interview_03_C999", "Coordinator: d")
    with pytest.raises(StoreError, match="names cluster C999"):
        link_cluster_cases(store, synthetic_small)
