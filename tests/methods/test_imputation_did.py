"""imputation_did cross-checked with diff-diff's ImputationDiD (which is pinned to R didimputation)
on mpdta and the Medicaid example, and its behaviour on bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import InputError
from evaluation.methods.imputation import imputation_did

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _diff_diff(data, outcome, unit, time, cohort, cluster=None):
    from diff_diff import ImputationDiD

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ImputationDiD(cluster=cluster).fit(
            data, outcome=outcome, unit=unit, time=time, first_treat=cohort
        )
        events = fit.aggregate("event_study").to_dataframe()
    events = events[~events["is_reference"]].set_index("event_time")
    return fit, events


@pytest.fixture(scope="module")
def ehec() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "honest_did" / "ehec.csv")
    data["cohort"] = data["yexp2"].fillna(0).astype(int)
    return data


@pytest.mark.parametrize("which", ["mpdta", "ehec"])
def test_matches_diff_diff(which, mpdta, ehec):
    if which == "mpdta":
        args = (mpdta, "lemp", "countyreal", "year", "first.treat")
    else:
        args = (ehec, "dins", "stfips", "year", "cohort")
    ours = imputation_did(*args)
    fit, ref = _diff_diff(*args)
    frame = ours.event_study().set_index("event_time")
    assert list(frame.index) == list(ref.index)
    np.testing.assert_allclose(frame["att"], ref["att"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(frame["se"], ref["se"], rtol=1e-8)
    np.testing.assert_allclose(frame["n_obs"], ref["n"])
    summary = ours.summary().iloc[0]
    assert summary["estimate"] == pytest.approx(fit.overall_att, abs=1e-10)
    assert summary["se"] == pytest.approx(fit.overall_se, rel=1e-8)


def test_clustered_standard_errors_match_diff_diff(mpdta):
    data = mpdta.assign(region=mpdta["countyreal"].rank(method="dense").astype(int) % 25)
    args = (data, "lemp", "countyreal", "year", "first.treat")
    ours = imputation_did(*args, cluster="region").event_study().set_index("event_time")
    _, ref = _diff_diff(*args, cluster="region")
    np.testing.assert_allclose(ours["se"], ref["se"], rtol=1e-8)


def test_imputation_by_hand(mpdta):
    """Effect at event time 0 = mean over treated of Y - (unit effect + year effect) fitted on
    untreated observations (explicit dummy regression with statsmodels)."""
    import statsmodels.formula.api as smf

    data = mpdta.copy()
    data["treated"] = (data["first.treat"] > 0) & (data["year"] >= data["first.treat"])
    fit = smf.ols("lemp ~ C(countyreal) + C(year)", data=data[~data["treated"]]).fit()
    on_impact = data[data["treated"] & (data["year"] == data["first.treat"])]
    expected = (on_impact["lemp"] - fit.predict(on_impact)).mean()
    ours = imputation_did(mpdta, "lemp", "countyreal", "year", "first.treat").event_study()
    assert ours.set_index("event_time").loc[0, "att"] == pytest.approx(expected, abs=1e-10)


def test_horizon_and_frame(mpdta):
    result = imputation_did(mpdta, "lemp", "countyreal", "year", "first.treat", horizon=1)
    frame = result.event_study()
    assert frame["event_time"].tolist() == [0, 1]
    assert list(frame.columns) == [
        "event_time",
        "att",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "n_obs",
    ]
    assert result.summary()["n_treated_observations"].iloc[0] == frame["n_obs"].sum()
    ax = result.plot()
    assert ax.get_legend().get_texts()[0].get_text().startswith("Borusyak, Jaravel & Spiess")


def test_no_untreated_period_to_impute_from_is_refused(mpdta):
    treated = mpdta[mpdta["first.treat"] > 0]  # every unit treated by 2007, none never treated
    late = treated[treated["year"] >= 2006]  # cohort 2006's only untreated year is gone
    late = late[late["first.treat"] >= 2006]
    with pytest.raises(InputError, match="no treated observation can be imputed"):
        imputation_did(
            late[late["first.treat"] == 2007], "lemp", "countyreal", "year", "first.treat"
        )


def test_bad_arguments(mpdta):
    with pytest.raises(InputError, match="horizon"):
        imputation_did(mpdta, "lemp", "countyreal", "year", "first.treat", horizon=-1)
    with pytest.raises(InputError, match="level"):
        imputation_did(mpdta, "lemp", "countyreal", "year", "first.treat", level=95)
