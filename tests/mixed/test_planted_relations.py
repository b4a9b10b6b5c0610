"""The join recovers what the generators planted (fixed seeds: data 2026, interviews 2026).

The synthetic data give clusters with data-access trouble x0.35 of the prescribing effect, and
engaged clusters higher attendance; the interview demo has coordinators of those clusters stress
"obtaining data: challenges" and "attendance: enablers". Funding concerns are planted in the
interviews but deliberately unrelated to any effect (truth.json of both generators says so).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evaluation.mixed import mixed_methods
from evaluation.qualitative.store import Store


@pytest.fixture(scope="module")
def joined(national_demo, synthetic_national):
    with Store.open(national_demo / "qualitative" / "demo" / "coding.sqlite") as store:
        return mixed_methods(store, synthetic_national, indicator="nsaid")


def test_the_generators_plant_what_this_test_looks_for(synthetic_national, national_demo):
    data_truth = json.loads((synthetic_national / "truth.json").read_text(encoding="utf-8"))
    assert "funding_concerns is deliberately unrelated to any effect" in data_truth["notes"]
    demo_truth = json.loads(
        (national_demo / "qualitative" / "demo" / "truth.json").read_text(encoding="utf-8")
    )
    assert set(demo_truth["relations"]) >= {
        "obtaining_data.challenges",
        "attendance.enablers",
        "funding.challenges",
    }


def test_data_trouble_goes_with_a_weaker_effect_with_the_right_sign(joined):
    row = joined.relation("obtaining_data.challenges", "effect")
    # effects are reductions (negative % change); trouble keeps only a third of it: closer to zero
    assert row["mean_with"] < 0 and row["mean_without"] < 0
    assert row["difference"] > 0 and row["diff_ci_low"] > 0
    assert row["significant"] and row["mwu_p_value_adjusted"] < 0.05
    assert row["hedges_g"] > 0.8


def test_the_result_has_one_face_like_the_methods(joined):
    import matplotlib

    matplotlib.use("Agg")
    frame = joined.to_frame()
    assert len(frame) == 25 and frame["label"].str.startswith("Interview ").all()
    summary = joined.summary()
    assert ("effect", "Obtaining data/Challenges") in set(zip(summary["outcome"], summary["code"]))
    assert (summary["mwu_p_value_adjusted"] < 0.05).all()
    ax = joined.plot(n_themes=3)
    assert len(ax.get_yticklabels()) == 3
    assert ax.get_xlabel() == joined.effect_label
    # the interviewed clusters' effects against every other cluster's
    typical = joined.effects.summary(interviewed=joined.labels)
    assert list(typical.index) == ["interviewed", "not interviewed"]
    assert typical.loc["interviewed", "clusters with an estimate"] == frame["effect"].notna().sum()
    assert joined.effects.plot(interviewed=joined.labels).get_xlabel() == "% change at the meeting"
    per_region = joined.links.summary()
    assert per_region["interviewed clusters"].sum() == 25
    assert per_region["clusters without an interview"].sum() == 89
    import matplotlib.pyplot as plt

    plt.close("all")


def test_engaged_clusters_report_enablers_and_attend_more(joined):
    row = joined.relation("attendance.enablers", "attendance_rate")
    assert row["difference"] > 0 and row["significant"]


def test_the_unrelated_theme_shows_no_significant_relation(joined):
    for outcome in ("effect", "attendance_rate"):
        row = joined.relation("funding.challenges", outcome)
        assert not row["significant"], (outcome, row["mwu_p_value_adjusted"])
        assert row["mwu_p_value_adjusted"] > 0.2


def test_quantitized_presence_follows_the_planted_truth(joined, synthetic_national):
    truth = pd.DataFrame(
        json.loads((synthetic_national / "truth.json").read_text(encoding="utf-8"))["clusters"]
    )
    truth = truth.set_index("cluster_id")
    q = joined.quantitized[joined.quantitized["code_key"] == "obtaining_data.challenges"].set_index(
        "cluster_id"
    )
    agree = (q["presence"] == truth.loc[q.index, "data_access_trouble"]).mean()
    assert agree >= 0.8  # the consensus misses a passage now and then, so not always 1


def test_every_interviewed_cluster_has_a_row_and_a_reason_when_it_has_no_effect(joined):
    outcomes = joined.outcomes
    assert len(outcomes) == 25 and outcomes["label"].str.match(r"Interview \d\d$").all()
    missing = outcomes[outcomes["effect"].isna()]
    assert (
        len(missing) > 0
        and (missing["effect_status"] == "did not meet on the topic within the study window").all()
    )
    assert outcomes["attendance_rate"].notna().all()
    assert len(joined.links.clusters_without_interviews) == 114 - 25


def test_the_did_method_finds_the_same_sign(national_demo, synthetic_national):
    with Store.open(national_demo / "qualitative" / "demo" / "coding.sqlite") as store:
        did = mixed_methods(
            store, synthetic_national, indicator="nsaid", method="did", coder="anna"
        )
    row = did.relation("obtaining_data.challenges", "effect")
    assert (
        row["difference"] > 0
    )  # a smaller reduction in DDD per 1,000 per day where data were hard to get
    assert did.effects.scale == "change in DDD per 1,000 patients per day"


def test_a_study_with_few_effects_still_joins_without_a_typology(
    national_demo, synthetic_national, tmp_path
):
    import shutil

    store_path = tmp_path / "coding.sqlite"
    shutil.copy(national_demo / "qualitative" / "demo" / "coding.sqlite", store_path)
    with Store.open(store_path) as store:
        # keep three interviews: too few clusters for a typology, still a join to show
        keep = store.cases()["case"].tolist()[:3]
        store.connection.execute(
            f"DELETE FROM cases WHERE name NOT IN ({','.join('?' * len(keep))})", keep
        )
        store.connection.commit()
        result = mixed_methods(store, synthetic_national, indicator="nsaid")
    assert len(result.outcomes) == 3 and result.members.empty
    assert (
        result.types["type"].iloc[0].startswith("no typology: a typology needs at least 4 clusters")
    )
    assert result.comparison["note"].str.startswith("not compared").all()
    with Store.open(store_path) as store:
        with pytest.raises(ValueError, match="this store's coders: anna, bo"):
            mixed_methods(store, synthetic_national, coder="consensus", coders=("anna",))
