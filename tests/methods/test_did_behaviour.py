"""Staggered DiD: bootstrap and bands, pre-trend test, plots, TWFE contrast, and clear errors."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from evaluation.errors import MissingColumnsError
from evaluation.methods import DiDInputError, staggered_did, twfe_event_study


def _panel(n_units=240, periods=range(1, 9), cohorts=(0, 4, 6), effect=-1.0, seed=0, n_clusters=24):
    rng = np.random.default_rng(seed)
    cohort = rng.choice(cohorts, size=n_units)
    cluster = rng.integers(0, n_clusters, size=n_units)
    rows = [(u, t, cohort[u], f"C{cluster[u]:02d}") for u in range(n_units) for t in periods]
    df = pd.DataFrame(rows, columns=["unit", "period", "cohort", "cluster"])
    treated = (df["cohort"] > 0) & (df["period"] >= df["cohort"])
    df["y"] = rng.normal(size=len(df)) + 0.1 * df["period"] + effect * treated
    return df


def test_bootstrap_is_reproducible_close_to_analytic_and_bands_are_wider(mpdta):
    a = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", bootstrap=999, seed=11)
    b = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", bootstrap=999, seed=11)
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt)
    gt = a.att_gt
    assert {"se_analytic", "band_low", "band_high"} <= set(gt.columns)
    np.testing.assert_allclose(gt["se"], gt["se_analytic"], rtol=0.15)
    assert (gt["band_low"] < gt["ci_low"]).all() and (gt["band_high"] > gt["ci_high"]).all()
    for kind in ("dynamic", "group", "calendar"):
        agg = a.aggregate(kind)
        assert agg[["att", "se", "band_low", "band_high"]].notna().all().all()
        assert (agg["band_high"] - agg["band_low"] >= agg["ci_high"] - agg["ci_low"] - 1e-12).all()
    # Point estimates do not depend on the inference.
    analytic = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")
    np.testing.assert_allclose(gt["att"], analytic.att_gt["att"])
    assert "band_low" not in analytic.att_gt


def test_cluster_bootstrap_tracks_clustered_analytic_se():
    df = _panel(n_units=600, n_clusters=60, seed=3)
    res = staggered_did(
        df, "y", "unit", "period", "cohort", cluster="cluster", bootstrap=999, seed=1
    )
    simple = res.overall("simple").iloc[0]
    assert simple["se"] == pytest.approx(simple["se_analytic"], rel=0.15)
    assert simple["ci_low"] < -1.0 < simple["ci_high"]


def test_columns_event_time_and_counts(mpdta):
    res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")
    gt = res.att_gt
    assert list(gt.columns[:5]) == ["cohort", "time", "event_time", "att", "se"]
    assert (gt["event_time"] == gt["time"] - gt["cohort"]).all()
    assert (gt["post"] == (gt["time"] >= gt["cohort"])).all()
    assert set(gt["n_control"]) == {309}  # never-treated counties
    assert res.to_frame().equals(gt)
    dyn = res.aggregate("dynamic")
    assert list(dyn["event_time"]) == [-3, -2, -1, 0, 1, 2, 3]


def test_pretrend_test_detects_diverging_cohorts():
    parallel = staggered_did(_panel(seed=5), "y", "unit", "period", "cohort")
    df = _panel(seed=5)
    df.loc[df["cohort"] == 6, "y"] += (
        0.5 * df.loc[df["cohort"] == 6, "period"]
    )  # a trend of its own
    diverging = staggered_did(df, "y", "unit", "period", "cohort")
    assert parallel.pretrend_test()["p_value"].iloc[0] > 0.01
    assert diverging.pretrend_test()["p_value"].iloc[0] < 1e-6
    assert diverging.pretrend_test(by="cell")["p_value"].iloc[0] < 1e-6
    assert diverging.pretrend_test(leads=2)["n_estimates"].iloc[0] == 2


def test_pretrend_test_refuses_more_estimates_than_clusters():
    df = _panel(n_units=300, periods=range(1, 21), cohorts=(0, 15), n_clusters=5)
    res = staggered_did(df, "y", "unit", "period", "cohort", cluster="cluster")
    with pytest.raises(ValueError, match="leads="):
        res.pretrend_test()
    assert res.pretrend_test(leads=3)["df"].iloc[0] == 3


def test_monthly_dates_with_yyyymm_cohorts():
    df = _panel(periods=range(12), cohorts=(0, 4, 7))
    month = pd.date_range("2020-01-01", periods=12, freq="MS")
    df["month"] = month[df["period"]]
    df["cohort_yyyymm"] = np.where(df["cohort"] > 0, 2020 * 100 + df["cohort"] + 1, 0)
    by_int = staggered_did(df, "y", "unit", "period", "cohort")
    by_date = staggered_did(df, "y", "unit", "month", "cohort_yyyymm")
    np.testing.assert_allclose(by_int.att_gt["att"], by_date.att_gt["att"])
    assert by_date.att_gt["time"].iloc[0] == pd.Timestamp("2020-02-01")
    assert by_date.period_unit == "month"
    assert set(by_date.aggregate("group")["cohort"]) == {202005, 202008}


def test_plots_are_labelled_for_gps(mpdta):
    res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", bootstrap=199, seed=1)
    ax = res.plot("dynamic", indicator="nsaid")
    assert ax.get_xlabel() == "Periods since the cluster's NSAID meeting"
    assert ax.get_ylabel() == "Change in lemp"
    plt.close("all")
    df = _panel(periods=range(12), cohorts=(0, 4, 7))
    df["month"] = pd.date_range("2020-01-01", periods=12, freq="MS")[df["period"]]
    df["ddd_per_1000_per_day"] = df["y"]
    df["cohort_m"] = np.where(df["cohort"] > 0, 202001 + df["cohort"], 0)
    res = staggered_did(df, "ddd_per_1000_per_day", "unit", "month", "cohort_m")
    ax = res.plot("dynamic", indicator="nsaid")
    assert ax.get_xlabel() == "Months since the cluster's NSAID meeting"
    assert ax.get_ylabel() == "Change in NSAID DDD per 1,000 patients per day"
    for kind in ("group", "calendar"):
        assert res.plot(kind, indicator="nsaid").get_ylabel().startswith("Change in NSAID")
    with pytest.raises(ValueError, match="one number"):
        res.plot("simple")
    plt.close("all")


def test_twfe_event_study_recovers_a_constant_effect():
    df = _panel(n_units=600, periods=range(1, 11), cohorts=(0, 4, 7), effect=-1.0, seed=9)
    es = twfe_event_study(df, "y", "unit", "period", "cohort", cluster="cluster", window=(-3, 3))
    frame = es.to_frame()
    assert set(frame["event_time"]) == set(range(-3, 4))
    ref = frame.set_index("event_time")
    assert ref.loc[-1, "estimate"] == 0 and ref.loc[-1, "reference"]
    post = ref.loc[0:3]
    assert ((post["ci_low"] < -1.0) & (post["ci_high"] > -1.0)).mean() >= 0.75
    assert (ref.loc[[-3, -2], "estimate"].abs() < 0.3).all()
    assert es.plot().get_xlabel().startswith("Periods since")
    plt.close("all")


# --- bad input: a clear error, never a table of NaN -------------------------------------------


def test_not_a_panel_duplicate_rows(mpdta):
    bad = pd.concat([mpdta, mpdta.iloc[[0]]])
    with pytest.raises(
        DiDInputError, match=r"expected one row per countyreal and year \(a panel\)"
    ):
        staggered_did(bad, "lemp", "countyreal", "year", "first.treat")


def test_not_a_balanced_panel(mpdta):
    with pytest.raises(DiDInputError, match="balanced panel"):
        staggered_did(mpdta.iloc[1:], "lemp", "countyreal", "year", "first.treat")


def test_cohort_changing_within_unit(mpdta):
    bad = mpdta.copy()
    bad.loc[bad.index[0], "first.treat"] = 2006
    with pytest.raises(DiDInputError, match="varies within unit"):
        staggered_did(bad, "lemp", "countyreal", "year", "first.treat")


def test_no_never_treated_units_for_never_controls(mpdta):
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(DiDInputError, match="no never-treated units"):
        staggered_did(treated_only, "lemp", "countyreal", "year", "first.treat")


def test_cohort_without_comparison_units(mpdta):
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(DiDInputError, match="no comparison units"):
        staggered_did(
            treated_only, "lemp", "countyreal", "year", "first.treat", control_group="notyet"
        )


@pytest.mark.parametrize(
    "cohort, where", [(2009, "after the last"), (2003, "first period"), (2001, "before the first")]
)
def test_treatment_date_outside_the_data(mpdta, cohort, where):
    bad = mpdta.copy()
    bad.loc[bad["first.treat"] == 2007, "first.treat"] = cohort
    with pytest.raises(DiDInputError, match=where):
        staggered_did(bad, "lemp", "countyreal", "year", "first.treat")


def test_missing_outcome_and_unknown_columns(mpdta):
    bad = mpdta.copy()
    bad.loc[bad.index[3], "lemp"] = np.nan
    with pytest.raises(DiDInputError, match="missing or infinite"):
        staggered_did(bad, "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(MissingColumnsError, match="data: missing column 'employment'"):
        staggered_did(mpdta, "employment", "countyreal", "year", "first.treat")


def test_bad_options(mpdta):
    with pytest.raises(ValueError, match="control_group"):
        staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", control_group="later")
    with pytest.raises(ValueError, match="method"):
        staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", method="ols")
    res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(ValueError, match="unknown aggregation"):
        res.aggregate("weekly")


def test_cluster_must_nest_units(mpdta):
    bad = mpdta.assign(state=np.arange(len(mpdta)) % 7)
    with pytest.raises(DiDInputError, match="nest"):
        staggered_did(bad, "lemp", "countyreal", "year", "first.treat", cluster="state")


def test_covariates_with_clusters_match_unit_level_sums(mpdta):
    data = mpdta.assign(state=mpdta["countyreal"] // 1000)
    for method in ("dr", "ipw", "reg"):
        res = staggered_did(
            data,
            "lemp",
            "countyreal",
            "year",
            "first.treat",
            covariates=["lpop"],
            method=method,
            cluster="state",
            bootstrap=299,
            seed=2,
        )
        plain = staggered_did(
            data, "lemp", "countyreal", "year", "first.treat", covariates=["lpop"], method=method
        )
        np.testing.assert_allclose(res.att_gt["att"], plain.att_gt["att"])
        assert res.att_gt[["se", "se_analytic", "band_low"]].notna().all().all()
        assert res.n_clusters == data["state"].nunique()


def test_cluster_sums_from_cohort_outcome_sums_equal_summing_unit_influence(mpdta):
    # Without covariates the clustered influence sums are built from (cluster, cohort) outcome sums;
    # they must equal summing the unit-level influence functions within clusters.
    data = mpdta.assign(state=mpdta["countyreal"] // 1000)
    clustered = staggered_did(data, "lemp", "countyreal", "year", "first.treat", cluster="state")
    units = staggered_did(data, "lemp", "countyreal", "year", "first.treat")
    state_of_unit = data.groupby("countyreal")["state"].first().to_numpy()
    codes = pd.factorize(state_of_unit)[0]
    by_hand = np.zeros((codes.max() + 1, units._blocks.shape[1]))
    np.add.at(by_hand, codes, units._blocks)
    np.testing.assert_allclose(clustered._blocks, by_hand, atol=1e-9)
    np.testing.assert_allclose(
        clustered.att_gt["se"], np.sqrt((by_hand**2).sum(axis=0)) / len(codes), rtol=1e-12
    )


# --- one face for the results: .to_frame(), .summary() (a tidy DataFrame) and .plot() ---------


def test_summary_is_the_overall_estimate_of_each_aggregation(mpdta):
    res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")
    summary = res.summary()
    assert summary["kind"].tolist() == ["simple", "dynamic", "group", "calendar"]
    assert {"att", "se", "ci_low", "ci_high", "p_value"} <= set(summary.columns)
    for kind in ("simple", "group"):
        row = summary.set_index("kind").loc[kind]
        assert row["att"] == pytest.approx(res.aggregate(kind).attrs["overall"]["att"])
    assert res.summary(["group"])["kind"].tolist() == ["group"]


def test_level_sets_the_width_of_every_interval(mpdta):
    wide = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", level=0.99)
    usual = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")
    w, u = wide.overall("simple").iloc[0], usual.overall("simple").iloc[0]
    assert w["att"] == pytest.approx(u["att"]) and w["se"] == pytest.approx(u["se"])
    assert (w["ci_high"] - w["ci_low"]) / (u["ci_high"] - u["ci_low"]) == pytest.approx(
        2.5758293 / 1.9599640, rel=1e-6
    )
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", level=95)


def test_twfe_summary_averages_the_coefficients_before_and_after_with_their_covariance():
    df = _panel(n_units=400, seed=5)
    es = twfe_event_study(df, "y", "unit", "period", "cohort", cluster="cluster", window=(-3, 2))
    coef = es.to_frame().set_index("event_time")
    summary = es.summary().set_index("term")
    after = summary.loc["average from the meeting on"]
    # event times 0 and 1; 2 is the binned end point
    assert after["n_event_times"] == 2
    assert after["estimate"] == pytest.approx(coef.loc[[0, 1], "estimate"].mean())
    assert after["ci_low"] < -1.0 < after["ci_high"]
    before = summary.loc["average before the meeting"]
    assert before["n_event_times"] == 1  # -2 (-1 is the reference, -3 binned)
    assert before["estimate"] == pytest.approx(coef.loc[-2, "estimate"])
    assert before["se"] == pytest.approx(coef.loc[-2, "se"])
    assert before["p_value"] > 0.01
