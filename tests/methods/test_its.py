"""Interrupted time series: pinned to Lopez Bernal, Cummins & Gasparrini (2017) on the Sicily data,
the batched panel fit checked against statsmodels, and clear errors for bad input."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluation.methods import its
from evaluation.methods.interrupted_time_series import ITSInputError


def _level(result) -> pd.Series:
    frame = result.to_frame()
    return frame[frame["term"] == "level_change"].iloc[0]


@pytest.mark.parametrize(
    "options, rr, lower, upper",
    [
        (dict(model="poisson"), 0.8944, 0.8647, 0.9251),
        (dict(model="quasipoisson"), 0.8944, 0.8392, 0.9532),
        (dict(model="quasipoisson", harmonics=2), 0.8851, 0.8394, 0.9332),
        (dict(model="quasipoisson", harmonics=2, slope_change=True), 0.8765, 0.8268, 0.9292),
    ],
)
def test_sicily_level_change_matches_the_published_figures(sicily, options, rr, lower, upper):
    row = _level(its(sicily, "aces", "time", intervention=37, population="stdpop", **options))
    assert round(row["rate_ratio"], 4) == rr
    assert round(row["rate_ratio_ci_low"], 4) == lower
    assert round(row["rate_ratio_ci_high"], 4) == upper


def test_sicily_quasi_poisson_dispersion(sicily):
    row = _level(its(sicily, "aces", "time", intervention=37, population="stdpop"))
    assert round(row["dispersion"], 3) == 3.559
    assert row["n_periods"] == 59


def test_indicator_column_and_dates_give_the_same_answer(sicily):
    by_value = _level(
        its(sicily, "aces", "time", intervention=37, population="stdpop", harmonics=2)
    )
    by_indicator = _level(
        its(sicily, "aces", "time", intervention="smokban", population="stdpop", harmonics=2)
    )
    dated = sicily.assign(
        month_start=pd.to_datetime(dict(year=sicily["year"], month=sicily["month"], day=1))
    )
    by_date = _level(
        its(
            dated,
            "aces",
            "month_start",
            intervention="2005-01-01",
            population="stdpop",
            harmonics=2,
        )
    )
    for other in (by_indicator, by_date):
        assert other["estimate"] == pytest.approx(by_value["estimate"], abs=1e-10)
        assert other["se"] == pytest.approx(by_value["se"], abs=1e-10)


def test_counterfactual_continues_the_pre_intervention_pattern(sicily):
    res = its(sicily, "aces", "time", intervention=37, population="stdpop", harmonics=2)
    fitted = res.fitted
    pre, post = fitted[~fitted["post"]], fitted[fitted["post"]]
    np.testing.assert_allclose(pre["fitted"], pre["counterfactual"], rtol=1e-8)
    ratio = post["fitted"] / post["counterfactual"]
    np.testing.assert_allclose(ratio, _level(res)["rate_ratio"], rtol=1e-8)


def test_panel_fit_matches_statsmodels_unit_by_unit(sicily):
    rng = np.random.default_rng(4)
    units = []
    for u, start in enumerate([20, 30, 37, 45]):
        noisy = sicily.assign(
            unit=f"U{u}", aces=rng.poisson(sicily["aces"] * rng.uniform(0.5, 1.5)), start=start
        )
        units.append(noisy)
    panel = pd.concat(units, ignore_index=True)
    res = its(
        panel,
        "aces",
        "time",
        intervention="start",
        population="stdpop",
        unit="unit",
        harmonics=2,
        slope_change=True,
    )
    est = res.to_frame()
    assert list(est.columns[:3]) == ["unit", "term", "estimate"]
    for (unit, start), g in panel.groupby(["unit", "start"]):
        single = its(
            g,
            "aces",
            "time",
            intervention=start,
            population="stdpop",
            harmonics=2,
            slope_change=True,
        ).to_frame()
        ours = est[est["unit"] == unit].reset_index(drop=True)
        np.testing.assert_allclose(ours["estimate"], single["estimate"], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours["se"], single["se"], rtol=1e-6)
        np.testing.assert_allclose(ours["dispersion"], single["dispersion"], rtol=1e-6)
    avg = res.average()
    assert avg["n_units"].iloc[0] == 4
    assert avg["estimate"].iloc[0] == pytest.approx(
        est.query("term == 'level_change'")["estimate"].mean()
    )


def test_ols_with_newey_west_matches_statsmodels_at_the_stated_lag(sicily):
    data = sicily.assign(rate=sicily["aces"] / sicily["stdpop"] * 1e5)
    res = its(data, "rate", "time", intervention=37, model="ols", lag=3)
    row = _level(res)
    post = (data["time"] >= 37).astype(float)
    x = sm.add_constant(pd.DataFrame({"time": data["time"], "post": post}))
    ref = sm.OLS(data["rate"], x).fit(cov_type="HAC", cov_kwds={"maxlags": 3})
    assert row["estimate"] == pytest.approx(ref.params["post"], rel=1e-10)
    assert row["se"] == pytest.approx(ref.bse["post"], rel=1e-10)
    assert row["lag"] == 3 and "rate_ratio" not in res.to_frame()
    default = _level(its(data, "rate", "time", intervention=37, model="ols"))
    assert default["lag"] == int(np.floor(4 * (59 / 100) ** (2 / 9)))


def test_plot_shows_the_counterfactual_with_readable_labels(sicily):
    res = its(sicily, "aces", "time", intervention=37, population="stdpop", harmonics=2)
    ax = res.plot(y_label="Acute coronary events per person")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Expected without the intervention" in labels
    assert ax.get_ylabel() == "Acute coronary events per person"
    plt.close("all")


# --- bad input -----------------------------------------------------------------------------


def test_series_too_short_for_the_seasonality(sicily):
    short = sicily[(sicily["time"] >= 30) & (sicily["time"] <= 40)]
    with pytest.raises(ITSInputError, match="too short for seasonality"):
        its(short, "aces", "time", intervention=37, population="stdpop", harmonics=2)
    with pytest.raises(ITSInputError, match="period of at least"):
        its(sicily, "aces", "time", intervention=37, population="stdpop", harmonics=7)


@pytest.mark.parametrize("value", [0.0, np.nan, -5.0])
def test_zero_or_missing_population(sicily, value):
    bad = sicily.copy()
    bad.loc[bad.index[10], "stdpop"] = value
    with pytest.raises(
        ITSInputError, match=r"zero, negative or missing in 1 row\(s\) \(first rows \[10\]\)"
    ):
        its(bad, "aces", "time", intervention=37, population="stdpop")


@pytest.mark.parametrize("start", [1, 0, 61, 100])
def test_intervention_outside_the_data(sicily, start):
    with pytest.raises(ITSInputError, match="outside the data"):
        its(sicily, "aces", "time", intervention=start, population="stdpop")


def test_panel_units_with_dates_outside_are_reported_not_silently_fitted(sicily):
    panel = pd.concat([sicily.assign(unit="A", start=37), sicily.assign(unit="B", start=80)])
    with pytest.warns(UserWarning, match="not fitted"):
        res = its(panel, "aces", "time", intervention="start", population="stdpop", unit="unit")
    assert list(res.skipped["unit"]) == ["B"]
    assert set(res.to_frame()["unit"]) == {"A"}
    with pytest.raises(ITSInputError, match="no series could be fitted"):
        its(
            panel[panel["unit"] == "B"],
            "aces",
            "time",
            intervention="start",
            population="stdpop",
            unit="unit",
        )


def test_duplicate_periods_and_missing_outcome(sicily):
    with pytest.raises(ITSInputError, match="one row per"):
        its(
            pd.concat([sicily, sicily.iloc[[3]]]),
            "aces",
            "time",
            intervention=37,
            population="stdpop",
        )
    bad = sicily.copy()
    bad.loc[bad.index[5], "aces"] = np.nan
    with pytest.raises(ITSInputError, match="missing"):
        its(bad, "aces", "time", intervention=37, population="stdpop")
    with pytest.raises(ValueError, match="model"):
        its(sicily, "aces", "time", intervention=37, population="stdpop", model="negbin")


def test_panel_skips_series_that_cannot_carry_the_model_and_says_why(sicily):
    panel = pd.concat(
        [
            sicily.assign(unit="ok", start=37),
            sicily.assign(unit="one_post_month", start=59),  # a slope change needs two post periods
            sicily.assign(
                unit="no_events_after",
                start=37,
                aces=np.where(sicily["time"] >= 37, 0, sicily["aces"]),
            ),
            sicily[sicily["time"] <= 30].assign(
                unit="shorter", start=20
            ),  # another length: its own batch
        ],
        ignore_index=True,
    )
    with pytest.warns(UserWarning, match="not fitted"):
        res = its(
            panel,
            "aces",
            "time",
            intervention="start",
            population="stdpop",
            unit="unit",
            harmonics=1,
            slope_change=True,
        )
    reasons = res.skipped.set_index("unit")["reason"]
    assert set(reasons.index) == {"one_post_month", "no_events_after"}
    assert "two periods from the intervention" in reasons["one_post_month"]
    assert "no events" in reasons["no_events_after"]
    est = res.to_frame()
    assert set(est["unit"]) == {"ok", "shorter"}
    assert est[["estimate", "se", "rate_ratio"]].notna().all().all()
    shorter = its(
        sicily[sicily["time"] <= 30],
        "aces",
        "time",
        intervention=20,
        population="stdpop",
        harmonics=1,
        slope_change=True,
    ).to_frame()
    np.testing.assert_allclose(
        est[est["unit"] == "shorter"]["estimate"], shorter["estimate"], rtol=1e-8
    )


def test_panel_average_and_plots(sicily):
    panel = pd.concat([sicily.assign(unit=u) for u in "AB"], ignore_index=True)
    res = its(panel, "aces", "time", intervention=37, population="stdpop", unit="unit", harmonics=2)
    avg = res.average().iloc[0]
    assert avg["n_units"] == 2 and avg["rate_ratio"] == pytest.approx(0.8851, abs=5e-5)
    assert res.plot(unit="A").get_legend() is not None
    assert res.plot().get_ylabel() == "aces"
    # the panel's summary is the average of each term over its units
    pd.testing.assert_frame_equal(res.summary(), res.average("level_change"))
    with pytest.raises(ValueError, match="not fitted"):
        res.plot(unit="Z")
    with pytest.raises(ValueError, match="single series"):
        its(sicily, "aces", "time", intervention=37, population="stdpop").average()
    plt.close("all")


def test_without_population_the_model_warns(sicily):
    with pytest.warns(UserWarning, match="no population"):
        its(sicily, "aces", "time", intervention=37)
