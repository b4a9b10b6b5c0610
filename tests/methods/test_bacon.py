"""bacon_decomposition pinned to R bacondecomp (castle doctrine and math reform examples,
tests/fixtures/bacon), its identities, and its behaviour on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import InputError
from evaluation.methods.bacon import bacon_decomposition, bacon_summary, plot_bacon

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bacon"


def _with_cohort(data: pd.DataFrame, unit: str, time: str, treated: str) -> pd.DataFrame:
    first = data[data[treated] == 1].groupby(unit)[time].min()
    return data.assign(cohort=data[unit].map(first).fillna(0).astype(int))


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    return _with_cohort(pd.read_csv(FIXTURES / "castle.csv"), "state", "year", "post")


@pytest.fixture(scope="module")
def castle_bacon(castle) -> pd.DataFrame:
    return bacon_decomposition(castle, "l_homicide", "state", "year", "cohort")


@pytest.fixture(scope="module")
def math_bacon() -> pd.DataFrame:
    data = _with_cohort(pd.read_csv(FIXTURES / "math_reform.csv"), "state", "class", "reform_math")
    return bacon_decomposition(data, "incearn_ln", "state", "class", "cohort")


def test_castle_matches_bacondecomp(castle_bacon):
    ref = pd.read_csv(FIXTURES / "castle_notebook.csv")
    twfe = ref.loc[ref["what"] == "twfe", "estimate"].iloc[0]
    assert castle_bacon.attrs["twfe_estimate"] == pytest.approx(twfe, abs=1e-12)
    by_type = castle_bacon.groupby("type")["weight"].sum()
    for row in ref[ref["what"] == "type_weight"].itertuples():
        assert by_type[row.type] == pytest.approx(row.weight, abs=5e-9)
    top = castle_bacon.sort_values("weight").iloc[-1]
    expected = ref[ref["what"] == "largest_weight"].iloc[0]
    assert (top["treated"], top["control"], top["type"]) == (2006, "never treated", expected.type)
    assert top["estimate"] == pytest.approx(expected.estimate, abs=5e-9)
    assert top["weight"] == pytest.approx(expected.weight, abs=5e-8)


def test_math_reform_matches_the_bacondecomp_readme(math_bacon):
    ref = pd.read_csv(FIXTURES / "math_reform_readme.csv")
    ours = math_bacon.set_index(["treated", "control"])
    for row in ref.itertuples():
        got = ours.loc[(row.treated, row.control)]
        assert got["type"] == row.type
        # printed to 8 decimals (estimates) and 9 (weights)
        assert got["estimate"] == pytest.approx(row.estimate, abs=5e-9)
        assert got["weight"] == pytest.approx(row.weight, abs=5e-10)
    summary = bacon_summary(math_bacon).set_index("type")
    printed = pd.read_csv(FIXTURES / "math_reform_readme_summary.csv").set_index("type")
    np.testing.assert_allclose(summary.loc[printed.index, "weight"], printed["weight"], atol=5e-6)
    np.testing.assert_allclose(
        summary.loc[printed.index, "estimate"], printed["avg_est"], atol=5e-6
    )


@pytest.mark.parametrize("which", ["castle", "math"])
def test_weights_sum_to_one_and_average_to_the_twfe_estimate(which, castle_bacon, math_bacon):
    frame = castle_bacon if which == "castle" else math_bacon
    assert frame["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (frame["weight"] > 0).all()
    weighted = (frame["estimate"] * frame["weight"]).sum()
    assert weighted == pytest.approx(frame.attrs["twfe_estimate"], abs=1e-12)
    summary = bacon_summary(frame)
    assert (summary["weight"] * summary["estimate"]).sum() == pytest.approx(weighted, abs=1e-12)
    assert summary["n_comparisons"].sum() == len(frame)


def test_twfe_estimate_is_the_regression_coefficient(castle):
    """Against an explicit dummy regression (statsmodels OLS with state and year dummies)."""
    import statsmodels.formula.api as smf

    data = castle.assign(treated=(castle["cohort"] > 0) & (castle["year"] >= castle["cohort"]))
    fit = smf.ols("l_homicide ~ treated + C(state) + C(year)", data=data).fit()
    ours = bacon_decomposition(castle, "l_homicide", "state", "year", "cohort")
    assert ours.attrs["twfe_estimate"] == pytest.approx(fit.params["treated[T.True]"], abs=1e-10)


def test_always_treated_units_are_a_comparison(castle):
    data = castle.copy()
    data.loc[data["state"].isin(["Alaska", "Arizona"]), "cohort"] = 2000  # treated throughout
    frame = bacon_decomposition(data, "l_homicide", "state", "year", "cohort")
    always = frame[frame["control"] == "always treated"]
    assert (
        len(always) == frame["treated"].nunique()
        and (always["type"] == "Later vs Always Treated").all()
    )
    assert (frame["estimate"] * frame["weight"]).sum() == pytest.approx(
        frame.attrs["twfe_estimate"], abs=1e-12
    )


def test_monthly_dates_with_yyyymm_cohorts():
    rng = np.random.default_rng(4)
    months = pd.date_range("2019-01-01", periods=24, freq="MS")
    cohort = rng.choice([0, 201906, 202003, 201901], size=60)
    data = pd.DataFrame(
        [(u, m, cohort[u]) for u in range(60) for m in months],
        columns=["clinic", "month", "cohort"],
    )
    start = pd.to_datetime(data["cohort"].astype(str), format="%Y%m", errors="coerce")
    data["ddd"] = rng.normal(size=len(data)) - 2.0 * (start.notna() & (data["month"] >= start))
    frame = bacon_decomposition(data, "ddd", "clinic", "month", "cohort")
    assert "always treated" in set(frame["control"])  # 201901 is the first month
    assert (frame["estimate"] * frame["weight"]).sum() == pytest.approx(
        frame.attrs["twfe_estimate"], abs=1e-12
    )
    assert frame.attrs["twfe_estimate"] == pytest.approx(-2.0, abs=0.3)


def test_plot_marks_the_twfe_estimate(castle_bacon):
    ax = plot_bacon(castle_bacon)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Two-way fixed effects estimate" in labels
    assert "Later vs earlier cohort (already treated)" in labels
    assert ax.get_xlabel().startswith("Weight")


def test_single_cohort_is_a_clear_error(castle):
    one = castle[castle["cohort"].isin([0, 2006])]
    with pytest.raises(InputError, match="a single treatment cohort"):
        bacon_decomposition(one, "l_homicide", "state", "year", "cohort")


def test_missing_columns_and_unbalanced_panels_are_refused(castle):
    with pytest.raises(InputError, match="missing column"):
        bacon_decomposition(castle, "homicide_rate", "state", "year", "cohort")
    with pytest.raises(ValueError, match="balanced panel"):
        bacon_decomposition(castle.iloc[1:], "l_homicide", "state", "year", "cohort")
