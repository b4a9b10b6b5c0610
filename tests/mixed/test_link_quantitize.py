"""evaluation.mixed.link and .quantitizing on small hand-made frames, each number worked out by
hand."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.errors import MissingColumnsError
from evaluation.mixed.link import link_cases
from evaluation.mixed.quantitizing import QuantitizeError, choose_segments, quantitize, theme_matrix

CLUSTERS = pd.DataFrame(
    {
        "cluster_id": ["C001", "C002", "C003", "C004"],
        "region": ["Nordjylland", "Nordjylland", "Sjælland", "Sjælland"],
    }
)


def test_every_case_is_linked_mismatched_or_unlinked_and_no_cluster_is_lost():
    cases = pd.DataFrame(
        {
            "case": ["C001", "Coordinator B", "C02", "Pilot interview", "C003 (second)"],
            "cluster_id": [None, "C002", None, None, "C003"],
        }
    )
    links = link_cases(cases, CLUSTERS)
    # a cluster_id attribute wins over the name; a name that is an id links by itself
    assert links.linked.to_dict("records") == [
        {"case": "C001", "cluster_id": "C001", "region": "Nordjylland"},
        {"case": "Coordinator B", "cluster_id": "C002", "region": "Nordjylland"},
        {"case": "C003 (second)", "cluster_id": "C003", "region": "Sjælland"},
    ]
    assert links.unlinked["case"].tolist() == [
        "C02",
        "Pilot interview",
    ]  # "C02" is not of the id pattern
    assert links.clusters_without_interviews.to_dict("records") == [
        {"cluster_id": "C004", "region": "Sjælland"}
    ]
    assert links.mismatched.empty
    assert links.sentence() == (
        "3 interview case(s) linked to 3 of the 4 clusters; 2 case(s) name no cluster; "
        "1 cluster(s) have no interview."
    )


def test_links_to_frame_lists_every_case_once_and_summary_counts_per_region():
    import matplotlib

    matplotlib.use("Agg")
    cases = pd.DataFrame({"case": ["C001", "typo", "pilot"], "cluster_id": ["C001", "C0O2", None]})
    links = link_cases(cases, CLUSTERS)
    frame = links.to_frame()
    assert frame[["case", "status"]].values.tolist() == [
        ["C001", "linked"],
        ["typo", "mismatched"],
        ["pilot", "unlinked"],
    ]
    assert frame.loc[1, "reason"].endswith("did you mean C002?")
    summary = links.summary()
    assert summary["interviewed clusters"].sum() == 1
    assert summary["clusters without an interview"].sum() == len(CLUSTERS) - 1
    ax = links.plot()
    assert ax.get_xlabel() == "Clusters"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_cluster_id_not_in_the_data_is_reported_with_close_matches():
    cases = pd.DataFrame({"case": ["a", "b"], "cluster_id": ["C0001", "C999"]})
    links = link_cases(cases, CLUSTERS)
    assert links.linked.empty
    reasons = dict(zip(links.mismatched["case"], links.mismatched["reason"]))
    assert reasons["a"].startswith("cluster C0001 is not in the clusters table; did you mean C001")
    assert link_cases(pd.DataFrame({"case": ["x"], "cluster_id": ["c-OO3"]}), CLUSTERS).mismatched[
        "reason"
    ][0] == ("cluster c-OO3 is not in the clusters table; did you mean C003?")
    assert reasons["b"] == "cluster C999 is not in the clusters table"
    problems = links.problems()
    assert problems.columns.tolist() == ["case", "cluster_id", "problem"] and len(problems) == 2
    assert len(links.clusters_without_interviews) == 4


def test_link_refuses_tables_without_their_keys():
    with pytest.raises(MissingColumnsError, match="clusters table: missing column 'cluster_id'"):
        link_cases(pd.DataFrame({"case": ["C001"]}), pd.DataFrame({"id": ["C001"]}))
    with pytest.raises(MissingColumnsError, match="cases table.*missing column 'case'"):
        link_cases(pd.DataFrame({"name": ["C001"]}), CLUSTERS)


# a codebook of one theme with two sub-codes, and a second theme without children
CODES = pd.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "key": ["data", "data.challenges", "data.enablers", "funding"],
        "name": ["Obtaining data", "Challenges", "Enablers", "Funding"],
        "parent_id": pd.array([pd.NA, 1, 1, pd.NA], dtype="Int64"),
        "path": [
            "Obtaining data",
            "Obtaining data/Challenges",
            "Obtaining data/Enablers",
            "Funding",
        ],
        "depth": [0, 1, 1, 0],
    }
)
DOCUMENTS = pd.DataFrame({"id": [10, 11, 12], "n_chars": [1000, 500, 400]})
CASE_DOCUMENTS = pd.DataFrame({"document_id": [10, 11, 12], "case": ["C001", "C001", "C002"]})
SEGMENTS = pd.DataFrame(
    {
        "document_id": [10, 10, 10, 11, 12, 12],
        "code_key": [
            "data.challenges",
            "data.challenges",
            "funding",
            "data.enablers",
            "funding",
            "funding",
        ],
        "coder": ["anna"] * 6,
        "start": [0, 50, 300, 0, 0, 10],
        "end": [100, 200, 400, 50, 20, 40],
    }
)


def _links():
    return link_cases(pd.DataFrame({"case": ["C001", "C002"]}), CLUSTERS)


def test_quantitize_counts_rolls_up_and_covers_overlaps_once():
    q = quantitize(SEGMENTS, CASE_DOCUMENTS, DOCUMENTS, CODES, _links()).set_index(
        ["cluster_id", "code_key"]
    )
    assert len(q) == 2 * 4  # every linked cluster x every code, zeros included
    c1 = q.loc["C001"]
    assert c1["frequency"].to_dict() == {
        "data": 3,
        "data.challenges": 2,
        "data.enablers": 1,
        "funding": 1,
    }
    assert c1["level"].to_dict() == {
        "data": "theme",
        "data.challenges": "code",
        "data.enablers": "code",
        "funding": "theme",
    }
    assert c1.loc["data.challenges", "share"] == pytest.approx(
        2 / 4
    )  # 4 passages in C001's two documents
    assert c1.loc["data", "share"] + c1.loc["funding", "share"] == pytest.approx(1.0)
    # spans 0-100 and 50-200 overlap: 200 characters of 1,500 in C001's documents, not 250
    assert c1.loc["data.challenges", "coverage"] == pytest.approx(200 / 1500)
    assert c1.loc["data", "coverage"] == pytest.approx((200 + 50) / 1500)
    c2 = q.loc["C002"]
    assert c2.loc["funding", "frequency"] == 2 and c2.loc["funding", "coverage"] == pytest.approx(
        40 / 400
    )
    assert c2.loc["data", "presence"] == False and c2.loc["funding", "presence"] == True  # noqa: E712
    assert (q["n_interviews"] == 1).all()
    matrix = theme_matrix(q.reset_index(), "frequency", code_level="code")
    assert matrix.columns.tolist() == ["Obtaining data/Challenges", "Obtaining data/Enablers"]
    assert matrix.loc["C002"].tolist() == [0, 0]


def test_presence_needs_min_passages():
    q = quantitize(SEGMENTS, CASE_DOCUMENTS, DOCUMENTS, CODES, _links(), min_passages=2).set_index(
        ["cluster_id", "code_key"]
    )
    assert bool(q.loc[("C001", "data.challenges"), "presence"]) and not bool(
        q.loc[("C001", "funding"), "presence"]
    )
    with pytest.raises(QuantitizeError, match="at least 1"):
        quantitize(SEGMENTS, CASE_DOCUMENTS, DOCUMENTS, CODES, _links(), min_passages=0)


def test_documents_of_unlinked_cases_do_not_count():
    links = link_cases(pd.DataFrame({"case": ["C002"]}), CLUSTERS)
    q = quantitize(SEGMENTS, CASE_DOCUMENTS, DOCUMENTS, CODES, links)
    assert set(q["cluster_id"]) == {"C002"}


def test_consensus_keeps_only_what_both_coders_coded_alike():
    bo = pd.DataFrame(
        {
            "document_id": [10, 10, 12],
            "code_key": ["data.challenges", "data.enablers", "funding"],
            "coder": "bo",
            "start": [20, 300, 30],
            "end": [80, 400, 35],
        }
    )
    both = pd.concat([SEGMENTS, bo], ignore_index=True)
    consensus = choose_segments(both, "consensus", ("anna", "bo"))
    # anna's 0-200 data.challenges stretch overlaps bo's 20-80; bo's data.enablers 300-400 has
    # no partner (anna coded funding there); in document 12 bo's 30-35 overlaps anna's funding
    # 10-40
    assert sorted(map(tuple, consensus[["document_id", "code_key"]].to_numpy().tolist())) == [
        (10, "data.challenges"),
        (12, "funding"),
    ]
    assert choose_segments(both, "bo", None)["code_key"].tolist() == [
        "data.challenges",
        "data.enablers",
        "funding",
    ]
    with pytest.raises(QuantitizeError, match="coder 'carl' has no coding"):
        choose_segments(both, "carl")
    with pytest.raises(QuantitizeError, match="needs the two coders"):
        choose_segments(both, "consensus")
    with pytest.raises(QuantitizeError, match="carl"):
        choose_segments(both, "consensus", ("anna", "carl"))


def test_a_code_outside_the_codebook_is_an_error():
    bad = SEGMENTS.assign(code_key=SEGMENTS["code_key"].replace({"funding": "money"}))
    with pytest.raises(QuantitizeError, match="not in the codebook: money"):
        quantitize(bad, CASE_DOCUMENTS, DOCUMENTS, CODES, _links())
