"""ITS diagnostics: seasonality chosen by QAIC/AIC (pinned to the Sicily reference model of Lopez
Bernal et al. 2017), the Ljung-Box test and Newey-West errors, and the placebo in time on the
national synthetic data (seed 2026)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evaluation.methods import event_time_series, its, its_diagnostics
from evaluation.methods.interrupted_time_series import ITSInputError


def _level(result) -> pd.Series:
    frame = result.to_frame()
    return frame[frame["term"] == "level_change"].iloc[0]


@pytest.fixture(scope="module")
def sicily_checks(sicily):
    return its_diagnostics(sicily, "aces", "time", intervention=37, population="stdpop")


def test_qaic_chooses_the_reference_seasonality_on_sicily(sicily, sicily_checks):
    # the published model is quasi-Poisson + harmonic(month, 2, 12): RR 0.8851 (0.8394-0.9332)
    assert sicily_checks.criterion == "QAIC"
    assert sicily_checks.harmonics == 2
    table = sicily_checks.seasonality
    assert table["harmonics"].tolist() == [0, 1, 2, 3, 4]
    assert table.loc[table["chosen"], "harmonics"].item() == 2
    chosen = its(sicily, "aces", "time", intervention=37, population="stdpop", harmonics=2)
    row = _level(chosen)
    assert (round(row["rate_ratio"], 4), round(row["rate_ratio_ci_low"], 4)) == (0.8851, 0.8394)
    assert round(row["rate_ratio_ci_high"], 4) == 0.9332
    # the diagnostics' effect is that model (Newey-West only changes the standard error)
    assert _level(sicily_checks.effect)["rate_ratio"] == pytest.approx(row["rate_ratio"], abs=1e-12)


def test_qaic_is_computed_from_the_poisson_likelihood_and_the_largest_models_dispersion(sicily):
    checks = its_diagnostics(
        sicily, "aces", "time", intervention=37, population="stdpop", max_harmonics=3
    )
    x_base = np.column_stack([np.ones(59), sicily["time"], (sicily["time"] >= 37).astype(float)])
    season = sicily["time"].to_numpy(dtype=float)
    fits = {}
    for k in range(4):
        columns = [x_base]
        for j in range(1, k + 1):
            columns += [np.sin(2 * np.pi * j * season / 12), np.cos(2 * np.pi * j * season / 12)]
        x = np.column_stack(columns)
        fits[k] = sm.GLM(
            sicily["aces"], x, family=sm.families.Poisson(), offset=np.log(sicily["stdpop"])
        ).fit()
    c_hat = fits[3].pearson_chi2 / fits[3].df_resid
    for k, fit in fits.items():
        row = checks.seasonality.loc[checks.seasonality["harmonics"] == k].iloc[0]
        assert row["loglik"] == pytest.approx(fit.llf, abs=1e-6)
        assert row["value"] == pytest.approx(-2 * fit.llf / c_hat + 2 * (len(fit.params) + 1))


def test_ljung_box_is_computed_on_the_chosen_models_pearson_residuals(sicily, sicily_checks):
    fit = its(sicily, "aces", "time", intervention=37, population="stdpop", harmonics=2)
    residuals = fit.fit_statistics["residuals"]
    n, h = len(residuals), 12
    centred = residuals - residuals.mean()
    r = np.array([np.sum(centred[k:] * centred[:-k]) for k in range(1, h + 1)]) / np.sum(centred**2)
    q = n * (n + 2) * np.sum(r**2 / (n - np.arange(1, h + 1)))
    test = sicily_checks.autocorrelation.iloc[0]
    assert test["test"] == "Ljung-Box" and test["lags"] == h
    assert test["statistic"] == pytest.approx(q, rel=1e-10)
    assert test["p_value"] == pytest.approx(stats.chi2.sf(q, h), rel=1e-10)
    np.testing.assert_allclose(sicily_checks.residual_acf["acf"], r, rtol=1e-10)


def test_autocorrelation_switches_to_newey_west_standard_errors(sicily, sicily_checks):
    # the Sicily residuals are autocorrelated at 12 lags (p < 0.05): HAC errors at lag 3
    summary = sicily_checks.summary().iloc[0]
    assert summary["autocorrelated"] and summary["standard_errors"] == "Newey-West"
    effect = _level(sicily_checks.effect)
    assert effect["lag"] == 3
    x = np.column_stack([np.ones(59), sicily["time"], (sicily["time"] >= 37).astype(float)])
    for j in (1, 2):
        x = np.column_stack(
            [
                x,
                np.sin(2 * np.pi * j * sicily["time"] / 12),
                np.cos(2 * np.pi * j * sicily["time"] / 12),
            ]
        )
    hac = sm.GLM(
        sicily["aces"], x, family=sm.families.Poisson(), offset=np.log(sicily["stdpop"])
    ).fit(cov_type="HAC", cov_kwds={"maxlags": 3})
    assert effect["se"] == pytest.approx(np.asarray(hac.bse)[2], rel=1e-10)
    assert summary["ci_low"] < summary["estimate"] < summary["ci_high"] < 0


def test_no_autocorrelation_keeps_the_model_standard_errors():
    rng = np.random.default_rng(11)
    t = np.arange(1, 73)
    series = pd.DataFrame(
        {"time": t, "cases": rng.poisson(2000 * np.exp(-0.15 * (t >= 49))), "pop": 1e6}
    )
    checks = its_diagnostics(series, "cases", "time", intervention=49, population="pop")
    summary = checks.summary().iloc[0]
    assert not summary["autocorrelated"] and summary["standard_errors"] == "model"
    plain = its(series, "cases", "time", intervention=49, population="pop",
                harmonics=checks.harmonics)  # fmt: skip
    assert _level(checks.effect)["se"] == pytest.approx(_level(plain)["se"], rel=1e-12)


def test_the_placebo_uses_only_periods_before_the_intervention(sicily, sicily_checks):
    frame = sicily_checks.to_frame().set_index("analysis")
    assert frame.loc["placebo", "intervention"] == 25  # a year before month 37
    assert frame.loc["placebo", "n_periods"] == 36
    summary = sicily_checks.summary().iloc[0]
    assert summary["placebo_includes_zero"]
    assert summary["placebo_ci_low"] < 0 < summary["placebo_ci_high"]


def test_placebo_in_time_includes_zero_on_the_national_synthetic_data(nsaid_national):
    panel, _ = nsaid_national
    series = event_time_series(panel, months_before=24, months_after=24)
    checks = its_diagnostics(
        series, "ddd", "event_time", intervention=0, population="patient_days_thousands",
        slope_change=True,
    )  # fmt: skip
    summary = checks.summary().iloc[0]
    assert summary["placebo_includes_zero"], summary
    assert checks.placebo_intervention == -12
    # the planted reduction is found at the real meeting
    assert summary["ci_high"] < 0
    # DDD are not whole numbers: the criterion uses the Poisson likelihood extended to them
    assert np.isfinite(checks.seasonality["value"]).all()
    assert checks.seasonality["chosen"].sum() == 1


def test_dates_shift_the_placebo_by_calendar_months(sicily):
    dated = sicily.assign(
        month_start=pd.to_datetime(dict(year=sicily["year"], month=sicily["month"], day=1))
    )
    checks = its_diagnostics(
        dated, "aces", "month_start", intervention="2005-01-01", population="stdpop"
    )
    assert checks.placebo_intervention == pd.Timestamp("2004-01-01")
    assert checks.harmonics == 2


def test_diagnostics_plot_shows_the_criterion_and_the_residual_autocorrelation(sicily_checks):
    left, right = sicily_checks.plot()
    assert "QAIC" in left.get_ylabel()
    assert "Ljung-Box" in right.get_title()


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(placebo_shift=35), "placebo 35 periods"),
        (dict(placebo_shift=0), "placebo_shift must be a positive integer"),
        (dict(max_harmonics=-1), "max_harmonics"),
        (dict(autocorrelation_lags=80), "autocorrelation_lags"),
    ],
)
def test_bad_settings_get_a_clear_error(sicily, options, message):
    with pytest.raises(ITSInputError, match=message):
        its_diagnostics(sicily, "aces", "time", intervention=37, population="stdpop", **options)


def test_newey_west_is_for_one_series(sicily):
    panel = pd.concat([sicily.assign(unit=1), sicily.assign(unit=2)])
    with pytest.raises(ValueError, match="newey_west=True is for one series"):
        its(panel, "aces", "time", intervention=37, population="stdpop", unit="unit",
            newey_west=True)  # fmt: skip
