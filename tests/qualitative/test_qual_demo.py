"""The demo project: 25 interviews, 5 per region, whose themes follow the synthetic truth."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evaluation.qualitative import demo_text
from evaluation.qualitative.queries import code_frequencies
from evaluation.qualitative.store import Store


@pytest.fixture(scope="module")
def demo(demo_project):
    store = Store.open(demo_project / "coding.sqlite")
    yield store, json.loads((demo_project / "truth.json").read_text(encoding="utf-8"))
    store.close()


def test_twenty_five_interviews_five_per_region_one_per_cluster(
    demo, demo_project, synthetic_national
):
    store, truth = demo
    cases = store.cases()
    assert len(cases) == 25 and cases["cluster_id"].is_unique
    assert cases["region"].value_counts().to_dict() == {
        r: 5 for r in ["Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"]
    }
    clusters = pd.read_parquet(synthetic_national / "clusters.parquet").set_index("cluster_id")
    for row in cases.itertuples():
        assert clusters.loc[row.cluster_id, "region"] == row.region
        assert int(row.n_gps) == clusters.loc[row.cluster_id, "n_gps"]
        assert 0 <= float(row.urban_share) <= 1
    assert len(store.case_documents()) == 25
    formats = {p.suffix for p in (demo_project / "transcripts").iterdir()}
    assert formats == {".txt", ".docx", ".md", ".html", ".odt"}
    assert set(store.coders()) == {"anna", "bo"}
    assert len(store.speaker_turns()) > 25 * 10


def test_transcripts_are_pseudonymised(demo):
    store, _ = demo
    names = (
        demo_text.COORDINATOR_NAMES
        + demo_text.COLLEAGUE_NAMES
        + demo_text.CONSULTANT_NAMES
        + demo_text.TOWN_NAMES
    )
    texts = store.documents(with_text=True)["text"]
    assert not any(name in text for name in names for text in texts)
    assert texts.str.contains(r"\[Coordinator \d+\]").all()
    assert "pseudonym_mapping_sha256" in store.project_info()


def test_what_transcripts_stress_follows_the_synthetic_truth(demo, synthetic_national):
    store, truth = demo
    synthetic = {
        c["cluster_id"]: c
        for c in json.loads((synthetic_national / "truth.json").read_text())["clusters"]
    }
    by_case = {c["cluster_id"]: c for c in truth["cases"]}
    for cluster_id, case in by_case.items():
        assert (
            case["synthetic_truth"]["data_access_trouble"]
            == synthetic[cluster_id]["data_access_trouble"]
        )
        assert case["stresses"]["funding.challenges"] == synthetic[cluster_id]["funding_concerns"]
    # what the coders coded (not only the generator's truth) carries the relation
    frequencies = code_frequencies(store, coder="anna").T
    paths = dict(zip(store.codes()["key"], store.codes()["path"]))
    data_trouble = frequencies[paths["obtaining_data.challenges"]]
    trouble = pd.Series(
        {c: by_case[c]["synthetic_truth"]["data_access_trouble"] for c in frequencies.index}
    )
    assert trouble.sum() >= 3 and (~trouble).sum() >= 3
    assert data_trouble[trouble].mean() > data_trouble[~trouble].mean() + 1.5
    funding = frequencies[paths["funding.challenges"]]
    concerns = pd.Series(
        {c: by_case[c]["synthetic_truth"]["funding_concerns"] for c in frequencies.index}
    )
    assert funding[concerns].mean() > funding[~concerns].mean() + 1
    engaged = pd.Series(
        {c: by_case[c]["synthetic_truth"]["engaged_gps"] for c in frequencies.index}
    )
    attendance = frequencies[paths["attendance.enablers"]]
    assert attendance[engaged].mean() > attendance[~engaged].mean() + 1
    # the truth file records the generator's spans, and they point at real coordinator answers
    document = store.document_text(by_case[frequencies.index[0]]["document"])
    for span in by_case[frequencies.index[0]]["true_spans"]:
        assert (
            document[span["start"] : span["end"]].strip()
            and "Interviewer:" not in document[span["start"] : span["end"]]
        )


def test_data_trouble_clusters_had_weaker_effects(demo):
    _, truth = demo
    multipliers = pd.DataFrame(
        [{**c["synthetic_truth"], "cluster_id": c["cluster_id"]} for c in truth["cases"]]
    )
    weaker = multipliers.groupby("data_access_trouble")["effect_multiplier"].mean()
    assert weaker[True] < weaker[False]


def test_coordinators_name_the_topics_their_cluster_took_up(demo, synthetic_national):
    store, truth = demo
    meetings = pd.read_parquet(synthetic_national / "meetings.parquet")
    for case in truth["cases"]:
        expected = list(
            dict.fromkeys(
                meetings[meetings["cluster_id"] == case["cluster_id"]].sort_values("date")["topic"]
            )
        )
        assert case["topics_mentioned"] == expected
        text = store.document_text(case["document"])
        assert (
            f"We have had {(meetings['cluster_id'] == case['cluster_id']).sum()} meetings" in text
        )
