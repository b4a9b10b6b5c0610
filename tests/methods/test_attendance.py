"""Attendance: rates, trends, persistent absence and the dose-response, on hand-made tables and on
the synthetic national set (whose truth.json records what was planted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import EvaluationError
from evaluation.methods import attendance
from evaluation.methods.meeting_attendance import (
    absence_by_cluster,
    attendance_rates,
    attendance_trend,
    dose_response,
    persistent_absence,
    topic_meeting_share,
)

MEETINGS = pd.DataFrame(
    {
        "meeting_id": ["M1", "M2", "M3", "M4"],
        "cluster_id": ["C1", "C1", "C1", "C2"],
        "date": ["2020-03-01", "2021-03-01", "2022-03-01", "2021-05-01"],
        "topic": ["nsaid", "copd", "nsaid", "nsaid"],
    }
)
GPS = pd.DataFrame(
    {
        "gp_id": ["G1", "G2", "G3", "G4"],
        "clinic_id": ["K1", "K1", "K2", "K3"],
        "cluster_id": ["C1", "C1", "C1", "C2"],
    }
)
CLUSTERS = pd.DataFrame({"cluster_id": ["C1", "C2"], "region": ["Sjælland", "Nordjylland"]})
PRESENT = pd.DataFrame(
    {
        "meeting_id": ["M1"] * 3 + ["M2"] * 3 + ["M3"] * 3 + ["M4"],
        "gp_id": ["G1", "G2", "G3"] * 3 + ["G4"],
        "attended": [True, True, False, True, False, False, True, True, False, True],
    }
)


def test_rates_per_meeting_clinic_cluster_region_and_year():
    per_meeting = attendance_rates(PRESENT, MEETINGS, GPS, by="meeting").set_index("meeting_id")
    assert per_meeting.loc["M2", ["invited", "attended"]].tolist() == [3, 1]
    assert per_meeting.loc["M1", "topic"] == "nsaid"
    assert per_meeting.loc["M1", "ci_low"] < 2 / 3 < per_meeting.loc["M1", "ci_high"]
    per_clinic = attendance_rates(PRESENT, MEETINGS, GPS, by="clinic").set_index("clinic_id")
    assert per_clinic.loc["K1", "rate"] == pytest.approx(5 / 6)
    assert per_clinic.loc["K2", "rate"] == 0 and per_clinic.loc["K2", "ci_high"] > 0
    per_region = attendance_rates(PRESENT, MEETINGS, GPS, by="region", clusters=CLUSTERS).set_index(
        "region"
    )
    assert per_region.loc["Sjælland", "rate"] == pytest.approx(5 / 9)
    per_year = attendance_rates(PRESENT, MEETINGS, GPS, by="cluster", per="year")
    assert per_year[["cluster_id", "year"]].values.tolist() == [
        ["C1", 2020],
        ["C1", 2021],
        ["C1", 2022],
        ["C2", 2021],
    ]
    with pytest.raises(ValueError, match="needs the clusters table"):
        attendance_rates(PRESENT, MEETINGS, GPS, by="region")


def test_persistent_absence_rule_window_and_still_absent():
    flags = persistent_absence(PRESENT, MEETINGS, GPS).set_index("gp_id")
    assert flags.loc["G3", "longest_absence"] == 3 and flags.loc["G3", "flagged"]
    assert flags.loc["G2", "longest_absence"] == 1 and not flags.loc["G2", "flagged"]
    assert flags.loc["G2", "last_attended"] == pd.Timestamp("2022-03-01")
    assert pd.isna(flags.loc["G3", "last_attended"])
    assert flags.index[0] == "G3"  # flagged first
    assert (
        not persistent_absence(PRESENT, MEETINGS, GPS, consecutive=4)
        .set_index("gp_id")
        .loc["G3", "flagged"]
    )
    # within the last two meetings G3 still missed both; "still absent" needs the run to reach today
    lately = persistent_absence(PRESENT, MEETINGS, GPS, window=2, still_absent=True).set_index(
        "gp_id"
    )
    assert lately.loc["G3", "flagged"] and lately.loc["G3", "invited"] == 2
    with pytest.raises(ValueError, match="whole number"):
        persistent_absence(PRESENT, MEETINGS, GPS, consecutive=0)


def test_topic_meeting_share_is_the_clinic_share_at_the_first_topic_meeting():
    shares = topic_meeting_share(PRESENT, MEETINGS, GPS, "nsaid").set_index("clinic_id")
    assert shares.loc["K1", "meeting_id"] == "M1" and shares.loc["K1", "share_attended"] == 1.0
    assert shares.loc["K2", "share_attended"] == 0.0
    assert shares.loc["K3", "first_treated_month"] == pd.Timestamp("2021-06-01")
    with pytest.raises(ValueError, match="no cluster held a meeting"):
        topic_meeting_share(PRESENT, MEETINGS, GPS, "diabetes")
    with pytest.raises(ValueError, match="unknown topic"):
        topic_meeting_share(PRESENT, MEETINGS, GPS, "nsaids")


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda a: a.assign(attended=a["attended"].astype(object).where(a.index != 2, None)),
            "missing at row 2",
        ),
        (lambda a: a.assign(attended=["yes"] * len(a)), "true/false"),
        (lambda a: pd.concat([a, a.head(1)]), "listed twice for one meeting"),
        (
            lambda a: a.assign(meeting_id=a["meeting_id"].where(a.index != 0, "M99")),
            "meetings not in",
        ),
        (lambda a: a.assign(gp_id=a["gp_id"].where(a.index != 0, "G99")), "GPs not in"),
        (lambda a: a.drop(columns="attended"), "attendance table: missing column 'attended'"),
        (lambda a: a.iloc[0:0], "no rows"),
    ],
)
def test_bad_attendance_tables_get_a_clear_error(change, message):
    with pytest.raises(EvaluationError, match=message):
        attendance_rates(change(PRESENT), MEETINGS, GPS)


def test_overview_to_frame_and_plot():
    overview = attendance(PRESENT, MEETINGS, GPS, clusters=CLUSTERS)
    frame = overview.to_frame().set_index("cluster_id")
    assert frame.loc["C1", "persistent_absentees"] == 1 and frame.loc["C1", "region"] == "Sjælland"
    assert frame.loc["C2", "engagement"] == "not estimable"
    assert "one year" in frame.loc["C2", "note"]
    ax = overview.plot()
    assert ax.get_ylabel() == "Share of invited GPs attending"
    summary = overview.summary().iloc[0]
    assert summary["invited"] == 10 and summary["attended"] == 6
    assert summary["rate"] == pytest.approx(0.6) and summary["ci_low"] < 0.6 < summary["ci_high"]
    assert summary["clusters"] == 2 and summary["clusters_not_estimable"] == 1
    assert summary["persistent_absentees"] == frame["persistent_absentees"].sum()


def test_rates_per_quarter_and_absence_per_cluster():
    per_quarter = attendance_rates(PRESENT, MEETINGS, GPS, by="cluster", per="quarter")
    assert per_quarter[["cluster_id", "quarter", "invited"]].values.tolist() == [
        ["C1", pd.Timestamp("2020-01-01"), 3],
        ["C1", pd.Timestamp("2021-01-01"), 3],
        ["C1", pd.Timestamp("2022-01-01"), 3],
        ["C2", pd.Timestamp("2021-04-01"), 1],
    ]
    flags = persistent_absence(PRESENT, MEETINGS, GPS)
    per_cluster = absence_by_cluster(flags).set_index("cluster_id")
    assert per_cluster.loc["C1", "gps"] == 3 and per_cluster.loc["C1", "flagged_gps"] == 1
    assert per_cluster.loc["C1", "longest_absence"] == flags["longest_absence"].max()


# --------------------------------------------------------------------------------------------
# the synthetic national set: recover what truth.json says was planted
# --------------------------------------------------------------------------------------------


def test_fading_clusters_have_a_negative_trend_and_steady_ones_do_not(national_tables):
    t = national_tables
    trend = attendance_trend(t["attendance"], t["meetings"], t["gps"])
    fade = {c["cluster_id"]: c["fade_logit_per_year"] for c in t["truth"]["clusters"]}
    trend["fade"] = trend["cluster_id"].map(fade)
    estimable = trend[trend["engagement"] != "not estimable"]
    fading = estimable[estimable["fade"] < 0]
    steady = estimable[estimable["fade"] == 0]
    assert len(fading) > 20 and len(steady) > 20
    assert fading["slope_logit_per_year"].mean() < -0.05
    assert abs(steady["slope_logit_per_year"].mean()) < 0.05
    assert fading["slope_logit_per_year"].mean() < steady["slope_logit_per_year"].mean()
    # clusters called "fading" are mostly truly fading ones
    called = estimable[estimable["engagement"] == "fading"]
    assert len(called) > 5 and (called["fade"] < 0).mean() > 0.8
    # one trend over all clusters, robust to clustering: fading on average
    overall = attendance_trend(t["attendance"], t["meetings"], t["gps"], by=None)
    assert overall["slope_logit_per_year"].iloc[0] < 0


def test_persistent_absentees_in_truth_are_flagged(national_tables):
    t = national_tables
    truth = set(t["truth"]["persistent_absentees"])
    flags = persistent_absence(t["attendance"], t["meetings"], t["gps"])
    flagged = set(flags.loc[flags["flagged"], "gp_id"])
    assert len(truth) > 50
    assert len(truth & flagged) / len(truth) > 0.9
    # a stricter rule keeps them and drops most of the GPs who merely missed two in a row once
    strict = persistent_absence(t["attendance"], t["meetings"], t["gps"], consecutive=4)
    strict_flagged = set(strict.loc[strict["flagged"], "gp_id"])
    assert len(truth & strict_flagged) / len(truth) > 0.9
    assert len(truth & strict_flagged) / len(strict_flagged) > len(truth & flagged) / len(flagged)


def test_dose_response_has_the_planted_negative_sign(national_tables):
    t = national_tables
    planted = t["truth"]["indicators"]["nsaid"]["dose_response"]
    assert planted["sign"] == "negative"
    shares = topic_meeting_share(t["attendance"], t["meetings"], t["gps"], "nsaid")
    # the shares are the ones the generator used
    truth_shares = pd.DataFrame(t["truth"]["clinic_effects"]).query("indicator == 'nsaid'")
    merged = shares.merge(truth_shares, on="clinic_id", suffixes=("", "_truth"))
    assert len(merged) == len(shares)
    np.testing.assert_allclose(merged["share_attended"], merged["share_attended_truth"], atol=1e-6)

    result = dose_response(t["prescribing"], shares, indicator="nsaid")
    assert result.slope < 0 and result.ci_high < 0
    assert result.ci_low < planted["log_rr_per_unit_share_attended"] < result.ci_high
    assert result.n_clinics > 500 and result.n_clusters > 30
    frame = result.to_frame()
    assert frame["term"].tolist() == [
        "no GP attending (intercept)",
        "share of GPs attending (slope)",
    ]
    assert frame.loc[1, "estimate"] == pytest.approx(result.slope)
    predicted = result.predict([0.0, 1.0])
    assert predicted["percent_change"].iloc[1] < predicted["percent_change"].iloc[0]
    summary = result.summary().iloc[0]
    assert summary["estimate"] == result.slope and summary["ci_high"] == result.ci_high
    assert summary["percent_change_all_attending"] == pytest.approx(
        predicted["percent_change"].iloc[1]
    )
    # "auto" chooses never-treated comparison clinics when there are any
    assert result.comparison == "never"
    auto = dose_response(t["prescribing"], shares, indicator="nsaid", comparison="auto")
    assert auto.comparison == "never" and auto.slope == result.slope
    treated_only = t["prescribing"][t["prescribing"]["clinic_id"].isin(shares["clinic_id"])]
    late = dose_response(treated_only, shares, indicator="nsaid", comparison="auto")
    assert late.comparison == "notyet"
    ax = result.plot()
    assert "Share of the clinic's GPs" in ax.get_xlabel()
    assert ax.get_ylabel().replace("\n", " ") == (
        "Change in NSAID prescriptions per 1,000 patients per month (%), net of the change in "
        "comparison clinics"
    )


def test_dose_response_bad_input(national_tables):
    t = national_tables
    shares = topic_meeting_share(t["attendance"], t["meetings"], t["gps"], "nsaid")
    nsaid = t["prescribing"][t["prescribing"]["indicator"] == "nsaid"]
    with pytest.raises(ValueError, match="several indicators"):
        dose_response(t["prescribing"], shares)
    broken = nsaid.copy()
    broken.loc[broken.index[5], "listed_patients"] = 0
    with pytest.raises(ValueError, match="must be > 0"):
        dose_response(broken, shares)
    treated_only = nsaid[nsaid["clinic_id"].isin(shares["clinic_id"])]
    with pytest.raises(ValueError, match="no comparison clinics"):
        dose_response(treated_only, shares)
    assert dose_response(treated_only, shares, comparison=None).slope < 0
    with pytest.raises(ValueError, match="shorter window"):
        dose_response(nsaid, shares, window=60)


def test_trend_per_region_and_its_errors():
    per_region = attendance_trend(PRESENT, MEETINGS, GPS, by="region", clusters=CLUSTERS).set_index(
        "region"
    )
    assert per_region.loc["Nordjylland", "engagement"] == "not estimable"
    assert per_region.loc["Sjælland", "invited"] == 9
    assert per_region.loc["Sjælland", "ci_low"] < per_region.loc["Sjælland", "slope_logit_per_year"]
    with pytest.raises(ValueError, match="needs the clusters table"):
        attendance_trend(PRESENT, MEETINGS, GPS, by="region")
    with pytest.raises(ValueError, match="by must be"):
        attendance_trend(PRESENT, MEETINGS, GPS, by="gp")


def test_the_odds_ratio_per_year_has_its_interval_on_the_odds_ratio_scale(national_tables):
    # issue 12: notebook 02 showed "0.752 (-0.379 to -0.191)": the log-odds limits beside the OR
    t = national_tables
    trend = attendance_trend(t["attendance"], t["meetings"], t["gps"])
    estimable = trend[trend["engagement"] != "not estimable"]
    odds_ratio = estimable["odds_ratio_per_year"]
    low, high = estimable["odds_ratio_per_year_ci_low"], estimable["odds_ratio_per_year_ci_high"]
    assert (low > 0).all() and (low < odds_ratio).all() and (odds_ratio < high).all()
    assert np.allclose(np.log(low), estimable["ci_low"]) and np.allclose(
        np.log(high), estimable["ci_high"]
    )
    # and the reader table puts the OR-scale limits, not the slope's, in the estimate's cell
    from evaluation.reports.present import reader_table

    row = estimable.iloc[[0]]
    cell = reader_table(row, ["odds_ratio_per_year"], estimate="odds_ratio_per_year").frame
    expected = f"({low.iloc[0]:.2f} to {high.iloc[0]:.2f})"
    assert cell.iloc[0, 0].endswith(expected)
