"""Funnel plots: exact limits pinned to FunnelPlotR, overdispersion, coverage, errors, figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.errors import EvaluationError
from evaluation.methods import funnel
from evaluation.methods.funnel_plots import expected_counts, funnel_limits

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures"

# FunnelPlotR's exact Poisson limits for a standardised ratio (shared reference README).
FUNNELPLOTR_EXACT = pd.DataFrame(
    {
        "denominator": [15.0, 20.0, 30.0],
        "lower_95": [0.5596924, 0.6108260, 0.6746958],
        "upper_95": [1.649348, 1.544419, 1.427562],
        "lower_998": [0.3862650, 0.4479107, 0.5289724],
        "upper_998": [2.082907, 1.902094, 1.702771],
    }
)


def test_exact_poisson_limits_reproduce_funnelplotr_to_6_significant_digits():
    limits = funnel_limits([15, 20, 30], kind="ratio")
    for column in ("lower_95", "upper_95", "lower_998", "upper_998"):
        ours, ref = limits[column].to_numpy(), FUNNELPLOTR_EXACT[column].to_numpy()
        # 6 significant digits: agree when both are rounded to 6 significant figures
        assert [float(f"{v:.6g}") for v in ours] == [float(f"{v:.6g}") for v in ref], column
        np.testing.assert_allclose(ours, ref, rtol=5e-7)


def test_exact_binomial_limits_match_a_brute_force_interpolated_quantile():
    n, target = 57, 0.23
    limits = funnel_limits([n], kind="proportion", target=target)

    def by_hand(prob):
        cdf = 0.0
        for r in range(n + 1):
            previous, cdf = cdf, cdf + stats.binom.pmf(r, n, target)
            if cdf >= prob:
                return (r - (cdf - prob) / (cdf - previous)) / n
        raise AssertionError

    assert limits["lower_95"].iloc[0] == pytest.approx(by_hand(0.025), abs=1e-12)
    assert limits["upper_95"].iloc[0] == pytest.approx(by_hand(0.975), abs=1e-12)
    assert limits["lower_998"].iloc[0] == pytest.approx(by_hand(0.001), abs=1e-12)
    assert limits["upper_998"].iloc[0] == pytest.approx(by_hand(0.999), abs=1e-12)


@pytest.mark.parametrize("kind", ["ratio", "proportion"])
def test_exact_limits_hold_about_their_coverage_when_units_differ_only_by_chance(kind):
    rng = np.random.default_rng(11)
    size = rng.integers(20, 400, 4000).astype(float)
    if kind == "ratio":
        observed = rng.poisson(size)
    else:
        observed = rng.binomial(size.astype(int), 0.3)
    data = pd.DataFrame({"unit": np.arange(len(size)), "observed": observed, "size": size})
    result = funnel(
        data, "observed", "size", group="unit", kind=kind, target=None if kind == "ratio" else 0.3
    )
    outside_95 = (result.to_frame()["outlier_95"] != "").mean()
    outside_998 = (result.to_frame()["outlier_998"] != "").mean()
    assert 0.03 < outside_95 < 0.07
    assert outside_998 < 0.006


def _medpar_expected_deaths() -> pd.DataFrame:
    import statsmodels.formula.api as smf

    medpar = pd.read_csv(DATA / "funnel" / "medpar.csv")
    model = smf.glm(
        "died ~ los + hmo + white + age80 + type2 + type3",
        data=medpar,
        family=__import__("statsmodels.api").api.families.Binomial(),
    ).fit()
    medpar["expected"] = model.predict(medpar)
    return medpar


def test_medpar_standardised_mortality_funnel_with_shmi_additive_overdispersion():
    medpar = _medpar_expected_deaths()
    result = funnel(
        medpar, "died", "expected", group="provnum", overdispersion="additive", sr_method="SHMI"
    )
    units = result.to_frame()
    assert len(units) == medpar["provnum"].nunique()
    totals = medpar.groupby("provnum")[["died", "expected"]].sum()
    np.testing.assert_allclose(
        units.set_index("group").loc[totals.index, "value"], totals["died"] / totals["expected"]
    )
    # The SHMI z-score is sqrt(E) log(O/E); the truncation keeps the middle 80 % of ranks.
    with np.errstate(divide="ignore"):
        z = np.sqrt(units["denominator"]) * np.log(units["value"])
    np.testing.assert_allclose(units["z"], z)
    finite = np.isfinite(z)
    ranks = stats.rankdata(z)
    kept = (np.floor(ranks * 10 / (len(z) + 1)) > 0) & (np.floor(ranks * 10 / (len(z) + 1)) < 9)
    assert result.n_used == kept.sum()
    phi = np.mean(z[kept] ** 2)
    assert result.phi == pytest.approx(phi, rel=1e-12)
    w = units["denominator"][kept].to_numpy()  # 1 / s^2 with s = 1 / sqrt(E)
    n = kept.sum()
    tau2 = (
        max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
        if n * phi >= n - 1
        else 0.0
    )
    assert result.tau2 == pytest.approx(tau2, rel=1e-12)
    # Additive limits: exp(+-z sqrt(1/E + tau2)) around 1.
    e = units["denominator"].to_numpy()
    np.testing.assert_allclose(
        units["upper_998"], np.exp(stats.norm.ppf(0.999) * np.sqrt(1 / e + result.tau2))
    )
    np.testing.assert_allclose(
        units["lower_95"], np.exp(-stats.norm.ppf(0.975) * np.sqrt(1 / e + result.tau2))
    )
    assert not finite.all()  # providers with no deaths: log z = -inf, truncated away as in the SHMI


def test_overdispersed_clinics_widen_the_limits_and_remove_false_outliers():
    rng = np.random.default_rng(5)
    expected = rng.uniform(50, 2000, 300)
    observed = rng.poisson(
        expected * rng.gamma(20, 1 / 20, 300)
    )  # ~22 % real variation between clinics
    clinics = pd.DataFrame(
        {"clinic": [f"K{i:04d}" for i in range(300)], "rx": observed, "expected": expected}
    )
    exact = funnel(clinics, "rx", "expected", group="clinic")
    additive = funnel(clinics, "rx", "expected", group="clinic", overdispersion="additive")
    multiplicative = funnel(
        clinics, "rx", "expected", group="clinic", overdispersion="multiplicative", sr_method="CQC"
    )
    untrimmed = funnel(clinics, "rx", "expected", group="clinic", overdispersion="additive", trim=0)
    assert exact.phi > 5 and additive.tau2 > 0.01
    assert additive.p_overdispersion < 1e-6
    n_exact = (exact.to_frame()["outlier_998"] != "").sum()
    n_additive = (additive.to_frame()["outlier_998"] != "").sum()
    n_multiplicative = (multiplicative.to_frame()["outlier_998"] != "").sum()
    n_untrimmed = (untrimmed.to_frame()["outlier_998"] != "").sum()
    assert n_exact > 100 and n_additive < n_exact / 5 and n_multiplicative < n_exact / 5
    # Without trimming tau2 is about the frailty's variance on the log scale (trigamma(20) = 0.051)
    # and the 99.8 % limits hold nearly every clinic; trimming, meant to keep a few true outliers
    # from inflating tau2, shrinks it when every clinic varies (Spiegelhalter 2005, QSHC).
    assert 0.035 < untrimmed.tau2 < 0.07 and n_untrimmed <= 4
    assert additive.tau2 < untrimmed.tau2
    # multiplicative: CQC square-root scale, variance phi * s^2, back-transformed by squaring
    units = multiplicative.to_frame()
    s = 1 / (2 * np.sqrt(units["denominator"]))
    np.testing.assert_allclose(
        units["upper_95"], (1 + stats.norm.ppf(0.975) * np.sqrt(multiplicative.phi) * s) ** 2
    )


def test_no_overdispersion_gives_tau2_zero_and_proportion_target_is_pooled():
    rng = np.random.default_rng(3)
    n = rng.integers(30, 300, 200)
    data = pd.DataFrame({"unit": range(200), "events": rng.binomial(n, 0.2), "n": n})
    result = funnel(data, "events", "n", group="unit", kind="proportion", overdispersion="additive")
    assert result.target == pytest.approx(data["events"].sum() / data["n"].sum())
    assert result.tau2 < 0.002
    limits = result.limits([100.0])
    assert 0 < limits["lower_998"].iloc[0] < result.target < limits["upper_998"].iloc[0] < 1


def test_expected_counts_standardise_by_strata():
    rows = pd.DataFrame(
        {
            "clinic": ["A", "A", "B", "B", "C", "C"],
            "urban": [1, 1, 0, 0, 1, 0],
            "rx": [10, 20, 30, 10, 5, 5],
            "patients": [100, 100, 200, 100, 50, 50],
        }
    )
    out = expected_counts(rows, "rx", "patients", "clinic", strata="urban").set_index("clinic")
    urban_rate, rural_rate = 35 / 250, 45 / 350
    assert out.loc["A", "expected"] == pytest.approx(200 * urban_rate)
    assert out.loc["B", "expected"] == pytest.approx(300 * rural_rate)
    assert out.loc["C", "expected"] == pytest.approx(50 * urban_rate + 50 * rural_rate)
    assert out["observed"].sum() == pytest.approx(out["expected"].sum())


def test_plot_labels_outliers_and_speaks_plainly():
    rng = np.random.default_rng(1)
    expected = rng.uniform(20, 400, 60)
    observed = rng.poisson(expected)
    observed[0] = int(expected[0] * 2.5) + 10
    data = pd.DataFrame({"clinic": [f"K{i}" for i in range(60)], "rx": observed, "e": expected})
    result = funnel(
        data, "rx", "e", group="clinic", y_label="NSAID prescriptions: observed / expected"
    )
    ax = result.plot()
    outliers = result.outliers
    assert "K0" in set(outliers["group"])
    assert {t.get_text() for t in ax.texts} == set(outliers["group"])
    assert ax.get_ylabel() == "NSAID prescriptions: observed / expected"
    assert "Expected" in ax.get_xlabel()
    assert result.to_frame().loc[0, "assessment"].startswith("higher than expected")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.assign(e=d["e"].where(d.index != 2, 0.0)), "must be > 0"),
        (lambda d: d.assign(e=d["e"].where(d.index != 2, -1.0)), "must be > 0"),
        (lambda d: d.assign(rx=d["rx"].where(d.index != 1, -3)), "count >= 0"),
        (
            lambda d: d.assign(rx=d["rx"].astype(float).where(d.index != 1, np.nan)),
            "missing or non-numeric",
        ),
        (lambda d: d.head(2), "at least 3 units"),
        (lambda d: d.drop(columns="e"), "missing column 'e'"),
        (lambda d: d.assign(clinic=d["clinic"].where(d.index != 3, None)), "missing at row 3"),
    ],
)
def test_bad_input_gets_a_clear_error(change, message):
    data = pd.DataFrame(
        {"clinic": list("ABCDE"), "rx": [10, 12, 9, 20, 15], "e": [11.0, 10.0, 12.0, 18.0, 14.0]}
    )
    with pytest.raises(EvaluationError, match=message):
        funnel(change(data), "rx", "e", group="clinic")


def test_zero_deaths_in_the_middle_of_shmi_asks_for_cqc_and_proportions_are_checked():
    data = pd.DataFrame(
        {
            "unit": list("ABCDEFGHIJ"),
            "o": [0, 5, 6, 7, 8, 4, 5, 6, 7, 5],
            "e": [5.0, 5, 6, 7, 8, 4, 5, 6, 7, 5],
        }
    )
    with pytest.raises(ValueError, match="sr_method='CQC'"):
        funnel(data, "o", "e", group="unit", overdispersion="additive", trim=0)
    assert (
        funnel(
            data, "o", "e", group="unit", overdispersion="additive", sr_method="CQC", trim=0
        ).tau2
        >= 0
    )
    with pytest.raises(ValueError, match="exceeds its denominator"):
        funnel(data.assign(o=data["o"] + 10), "o", "e", group="unit", kind="proportion")
    with pytest.raises(ValueError, match="kind must be"):
        funnel(data, "o", "e", kind="rate")
    with pytest.raises(ValueError, match="must be positive"):
        funnel_limits([10, 0, 5])
    with pytest.raises(ValueError, match="whole-number"):
        funnel_limits([57.5], kind="proportion", target=0.2)
    with pytest.raises(ValueError, match="whole-number counts"):
        funnel(data.assign(e=data["e"] + 0.5), "o", "e", group="unit", kind="proportion")


def test_proportion_funnel_plot_draws_whole_limit_curves():
    rng = np.random.default_rng(2)
    n = rng.integers(15, 90, 80)
    data = pd.DataFrame(
        {"clinic": [f"K{i}" for i in range(80)], "attended": rng.binomial(n, 0.8), "invited": n}
    )
    result = funnel(
        data,
        "attended",
        "invited",
        group="clinic",
        kind="proportion",
        y_label="Share of invited GPs attending",
    )
    curves = result.limits()
    assert curves.notna().all().all() and (curves["denominator"] % 1 == 0).all()
    ax = result.plot()
    assert ax.get_ylabel() == "Share of invited GPs attending"
    assert all(np.isfinite(line.get_ydata()).all() for line in ax.lines)


def test_medpar_length_of_stay_outliers_match_the_funnelplotr_readme():
    """FunnelPlotR 0.6's README: a Poisson GLM of length of stay on medpar (los ~ hmo + died +
    age80 + factor(type)); of 54 providers 25 lie outside the exact 99.8 % limits and 9 outside
    the SHMI overdispersion-adjusted ones."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    medpar = pd.read_csv(DATA / "funnel" / "medpar.csv")
    medpar["type"] = np.select([medpar["type2"] == 1, medpar["type3"] == 1], [2, 3], 1)
    model = smf.glm(
        "los ~ hmo + died + age80 + C(type)", data=medpar, family=sm.families.Poisson()
    ).fit()
    medpar["predicted"] = model.predict(medpar)
    exact = funnel(medpar, "los", "predicted", group="provnum")
    shmi = funnel(
        medpar,
        "los",
        "predicted",
        group="provnum",
        overdispersion="additive",
        sr_method="SHMI",
        shmi_rounding=True,
    )
    assert len(exact.to_frame()) == 54
    assert (exact.to_frame()["outlier_998"] != "").sum() == 25
    assert (shmi.to_frame()["outlier_998"] != "").sum() == 9
    # the summary says the same in one row
    summary = shmi.summary()
    assert len(summary) == 1 and summary["n_outliers_998"].iloc[0] == 9
    assert summary["n_units"].iloc[0] == 54 and summary["tau2"].iloc[0] == shmi.tau2
    assert summary["overdispersion"].iloc[0] == "additive"
