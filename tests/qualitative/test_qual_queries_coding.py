"""Coding by span, quote, pattern and classifier; queries with context, frequencies,
co-occurrence and the framework matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.qualitative.coding import (
    code_pattern,
    code_quote,
    code_span,
    suggest_codes,
    text_units,
)
from evaluation.qualitative.queries import (
    code_frequencies,
    cooccurrence,
    cooccurrence_matrix,
    framework_matrix,
    retrieve,
)
from evaluation.qualitative.store import Store, StoreError

TEXT = (
    "Interviewer: How do you get data?\n"
    "Coordinator: The data portal is slow. We wait for weeks. Funding is short too.\n"
    "Interviewer: And attendance?\n"
    "Coordinator: Almost everyone comes. The portal again annoys people.\n"
)


@pytest.fixture
def project(store):
    from evaluation.qualitative.importers import find_speaker_turns

    for key, name in [
        ("data", "Obtaining data"),
        ("funding", "Funding"),
        ("attendance", "Attendance"),
    ]:
        store.add_code(key, name)
    store.add_code("data.portal", "Portal", parent="data")
    first = store.add_document("i1", TEXT, turns=find_speaker_turns(TEXT))
    second = store.add_document(
        "i2",
        TEXT.replace("Funding is short too.", "Money is fine."),
        turns=find_speaker_turns(TEXT),
    )
    store.add_case(
        "C001", attributes={"region": "Nordjylland", "cluster_id": "C001"}, documents=[first]
    )
    store.add_case(
        "C002", attributes={"region": "Sjælland", "cluster_id": "C002"}, documents=[second]
    )
    return store


def test_span_and_quote(project):
    segment = code_quote(
        project, "i1", "funding", "Funding is short too.", coder="anna", memo="money"
    )
    assert project.segment_text(segment) == "Funding is short too."
    start = TEXT.index("We wait")
    other = code_span(project, "i1", "data", start, start + 15, coder="anna")
    assert project.segment_text(other) == "We wait for wee"
    with pytest.raises(StoreError, match="does not contain"):
        code_quote(project, "i1", "data", "not there", coder="anna")
    with pytest.raises(StoreError, match="no code 'nope'"):
        code_span(project, "i1", "nope", 0, 3, coder="anna")


def test_pattern_and_keyword_coding_is_idempotent(project):
    assert (
        code_pattern(project, "data.portal", keywords=["portal"], coder="script", unit="sentence")
        == 4
    )
    texts = project.segments(with_text=True)["text"].tolist()
    assert texts[:2] == ["The data portal is slow.", "The portal again annoys people."]
    assert (
        code_pattern(project, "data.portal", keywords=["portal"], coder="script", unit="sentence")
        == 0
    )
    assert (
        code_pattern(
            project, "attendance", pattern=r"attend\w*|everyone", coder="script", unit="match"
        )
        == 4
    )
    assert code_pattern(project, "funding", keywords=["funding"], coder="script", unit="turn") == 1
    turn = project.segments(with_text=True).query("code_key == 'funding'")["text"].iloc[0]
    assert turn == "The data portal is slow. We wait for weeks. Funding is short too."
    with pytest.raises(StoreError, match="not a valid regular expression"):
        code_pattern(project, "data", pattern="(", coder="script")


def test_text_units_leave_out_speaker_labels(project):
    units = text_units(project, "sentence")
    assert not units["text"].str.contains("Coordinator:").any()
    assert units.iloc[0]["text"] == "How do you get data?"


def test_retrieve_with_context_and_filters(project):
    code_pattern(project, "data.portal", keywords=["portal"], coder="anna", unit="sentence")
    code_quote(project, "i1", "funding", "Funding is short too.", coder="bo")
    every = retrieve(project, code="data", context=10)  # subcodes included
    assert len(every) == 4 and set(every["code"]) == {"Obtaining data/Portal"}
    first = every.iloc[0]
    assert first["before"] == TEXT[first["start"] - 10 : first["start"]]
    assert first["after"] == TEXT[first["end"] : first["end"] + 10]
    assert len(retrieve(project, code="data", include_subcodes=False)) == 0
    assert len(retrieve(project, case="C001")) == 3
    assert len(retrieve(project, attributes={"region": "Sjælland"})) == 2
    assert retrieve(project, coder="bo")["text"].tolist() == ["Funding is short too."]
    with pytest.raises(StoreError, match="no case attribute"):
        retrieve(project, attributes={"colour": "red"})


def test_frequencies_by_case_and_attribute(project):
    code_pattern(project, "data.portal", keywords=["portal"], coder="anna", unit="sentence")
    code_quote(project, "i1", "funding", "Funding is short too.", coder="anna")
    by_case = code_frequencies(project)
    assert by_case.loc["Obtaining data/Portal", "C001"] == 2 and by_case.loc["Funding", "C002"] == 0
    by_region = code_frequencies(project, by="region", count="characters")
    assert by_region.loc["Funding", "Nordjylland"] == len("Funding is short too.")


def brute_force_cooccurrence(segments, distance):
    keys = sorted(segments["code_key"].unique())
    matrix = pd.DataFrame(0, index=keys, columns=keys)
    rows = list(segments.itertuples())
    for i, x in enumerate(rows):
        matrix.loc[x.code_key, x.code_key] += 1
        for y in rows[i + 1 :]:
            if x.document_id != y.document_id or x.coder != y.coder or x.code_key == y.code_key:
                continue
            if distance is None:
                close = x.start < y.end and y.start < x.end
            else:
                gap = max(x.start, y.start) - min(x.end, y.end)
                close = gap <= distance
            if close:
                matrix.loc[x.code_key, y.code_key] += 1
                matrix.loc[y.code_key, x.code_key] += 1
    return matrix


@pytest.mark.parametrize("distance", [None, 0, 15])
def test_cooccurrence_equals_brute_force(distance):
    rng = np.random.default_rng(4)
    n = 300
    starts = rng.integers(0, 1000, n)
    segments = pd.DataFrame(
        {
            "document_id": rng.integers(1, 4, n),
            "coder": rng.choice(["anna", "bo"], n),
            "code_key": rng.choice(list("abcde"), n),
            "start": starts,
            "end": starts + rng.integers(1, 40, n),
        }
    )
    fast = cooccurrence_matrix(segments, distance=distance)
    slow = brute_force_cooccurrence(segments, distance)
    assert (fast.to_numpy() == slow.to_numpy()).all()


def test_cooccurrence_and_framework_on_store(project):
    code_pattern(project, "data.portal", keywords=["portal"], coder="anna", unit="sentence")
    code_pattern(project, "data", keywords=["data", "portal"], coder="anna", unit="turn")
    matrix = cooccurrence(project, coder="anna")
    assert matrix.loc["Obtaining data/Portal", "Obtaining data"] == 4
    frame = framework_matrix(project, coder="anna", quotes_per_cell=1)
    assert list(frame.index) == ["C001", "C002"]
    # 2 portal sentences + 3 turns mentioning data or the portal (the question included)
    assert frame.loc["C001", "Obtaining data"] == "[5] “How do you get data?”"
    assert frame.loc["C001", "Funding"] == ""


def test_suggestions_report_held_out_precision(demo_project):
    with Store.open(demo_project / "coding.sqlite") as store:
        result = suggest_codes(store, coder="anna", threshold=0.5, seed=1)
    report = result.precision.set_index("code_key")
    assert set(report.index) == {
        f"{t}.{p}"
        for t in (
            "local_model",
            "administration",
            "obtaining_data",
            "practice_variation",
            "facilitation",
            "attendance",
            "regional_support",
            "funding",
        )
        for p in ("challenges", "enablers")
    }
    measured = report["held_out_precision"].dropna()
    assert len(measured) >= 10 and measured.between(0, 1).all()
    # the sentence banks are distinctive, so the classifier must do far better than chance
    assert measured.median() > 0.3
    assert not result.suggestions.empty and (result.suggestions["probability"] >= 0.5).all()


def test_suggestions_need_coding(store):
    store.add_document("d", "Nothing coded here.")
    with pytest.raises(StoreError, match="nothing is coded yet"):
        suggest_codes(store)
