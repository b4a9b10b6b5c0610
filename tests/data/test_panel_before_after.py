"""The analysis panel and the clinic-level before/after on the synthetic data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evaluation.data import load
from evaluation.data.panel import indicator_for_topic, prescribing_panel, topic_uptake
from evaluation.methods.controlled_before_after import before_after


@pytest.fixture(scope="module")
def tables(synthetic_small):
    return load(synthetic_small, tables=["clusters", "clinics", "meetings", "prescribing"])


def test_topic_uptake_is_the_first_meeting_on_the_topic_and_treats_from_the_next_month(tables):
    meetings = tables["meetings"]
    uptake = topic_uptake(meetings, "nsaid").set_index("cluster_id")
    on_topic = meetings[meetings["topic"] == "nsaid"]
    assert set(uptake.index) == set(on_topic["cluster_id"])
    for cluster_id, row in uptake.iterrows():
        first = pd.Timestamp(on_topic.loc[on_topic["cluster_id"] == cluster_id, "date"].min())
        assert row["meeting_date"] == first
        assert row["first_treated_month"] == (first.to_period("M") + 1).to_timestamp()


def test_panel_has_rates_cohorts_and_event_time(tables, synthetic_small):
    panel = prescribing_panel(
        tables["prescribing"],
        tables["clinics"],
        tables["meetings"],
        indicator="nsaid",
        region="sjaelland",
    )
    assert set(panel["region"]) == {"Sjælland"}
    assert panel.groupby("clinic_id").size().eq(96).all()
    row = panel.iloc[0]
    days = row["month"].days_in_month
    assert row["ddd_per_1000_per_day"] == pytest.approx(
        row["ddd"] / row["listed_patients"] * 1000 / days
    )
    treated = panel[panel["cohort"] != 0]
    assert (
        treated["cohort"]
        == treated["first_treated_month"].dt.year * 100 + treated["first_treated_month"].dt.month
    ).all()
    assert (
        treated.loc[treated["month"] == treated["first_treated_month"], "event_time"] == 0
    ).all()
    assert panel.loc[panel["cohort"] == 0, "event_time"].isna().all()
    truth = json.loads((synthetic_small / "truth.json").read_text())
    planted = {
        c["cluster_id"]: c["first_treated_month"] for c in truth["indicators"]["nsaid"]["cohorts"]
    }
    for cluster_id, month in treated.groupby("cluster_id")["first_treated_month"].first().items():
        assert planted[cluster_id] == month.strftime("%Y-%m")


def test_panel_refuses_unknown_names_and_empty_windows(tables):
    args = (tables["prescribing"], tables["clinics"], tables["meetings"])
    with pytest.raises(ValueError, match="unknown indicator 'statins'"):
        prescribing_panel(*args, indicator="statins")
    with pytest.raises(ValueError, match="unknown region 'Skåne'"):
        prescribing_panel(*args, indicator="nsaid", region="Skåne")
    with pytest.raises(ValueError, match="unknown topic"):
        prescribing_panel(*args, indicator="nsaid", topic="yoga")
    with pytest.raises(ValueError, match="no prescribing rows"):
        prescribing_panel(*args, indicator="nsaid", start="2030-01", end="2030-12")
    with pytest.raises(ValueError, match="no prescribing indicator"):
        indicator_for_topic("diabetes")
    assert indicator_for_topic("conjunctivitis") == "eye_antibiotics"


def test_before_after_shows_the_planted_reduction_beyond_the_comparison_clinics(synthetic_national):
    tables = load(synthetic_national, tables=["clinics", "meetings", "prescribing"])
    panel = prescribing_panel(
        tables["prescribing"], tables["clinics"], tables["meetings"], indicator="nsaid"
    )
    result = before_after(panel, window=12)
    summary = result.to_frame().set_index("group")
    took_up, never = summary.loc["took up the topic"], summary.loc["never took it up"]
    assert took_up["ci_high"] < 0
    # the difference of changes is the planted effect beyond the secular decline
    assert took_up["mean_change"] < never["mean_change"]
    assert took_up["n_clinics"] > 500 and never["n_clinics"] > 100
    ax = result.plot(label="NSAID DDD per 1,000 patients per day")
    assert ax.get_ylabel() == "NSAID DDD per 1,000 patients per day"


def test_before_after_needs_a_full_window_and_treated_clinics(tables):
    panel = prescribing_panel(
        tables["prescribing"], tables["clinics"], tables["meetings"], indicator="nsaid"
    )
    with pytest.raises(ValueError, match="on both sides"):
        before_after(panel, window=60)
    with pytest.raises(ValueError, match="no clinic in the panel took the topic up"):
        before_after(panel[panel["cohort"] == 0])
    with pytest.raises(KeyError, match="missing column 'rate'"):
        before_after(panel, outcome="rate")


def test_clusters_treated_after_the_window_are_untreated_within_it(tables):
    args = (tables["prescribing"], tables["clinics"], tables["meetings"])
    full = prescribing_panel(*args, indicator="nsaid")
    late = full.loc[full["first_treated_month"] > pd.Timestamp("2020-12-01"), "clinic_id"].unique()
    assert len(late) > 0
    short = prescribing_panel(*args, indicator="nsaid", end="2020-12")
    of_late = short[short["clinic_id"].isin(late)]
    assert (of_late["cohort"] == 0).all() and of_late["first_treated_month"].isna().all()
    assert of_late["event_time"].isna().all()
