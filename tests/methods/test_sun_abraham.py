"""sun_abraham pinned to fixest ``sunab`` on the HonestDiD README's Medicaid example, the identity
with Callaway & Sant'Anna, and its behaviour on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import InputError
from evaluation.methods import staggered_did
from evaluation.methods.interaction_weighted import sun_abraham

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "honest_did"


@pytest.fixture(scope="module")
def ehec() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "ehec.csv")
    data["cohort"] = data["yexp2"].fillna(0).astype(int)
    return data


def test_matches_fixest_sunab(ehec):
    """README: feols(dins ~ sunab(year_treated, year) | stfips + year, cluster = "stfips")."""
    ref = pd.read_csv(FIXTURES / "sunab_event_study.csv")
    ours = sun_abraham(ehec, "dins", "stfips", "year", "cohort").event_study_estimates()
    assert ours.event_time.tolist() == ref["event_time"].tolist()
    np.testing.assert_allclose(ours.estimate, ref["estimate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        ours.covariance, ref.filter(like="cov_").to_numpy(), rtol=1e-9, atol=1e-16
    )


@pytest.mark.parametrize("data_name", ["ehec", "mpdta"])
def test_equals_callaway_santanna_with_never_treated_and_universal_base(data_name, ehec, mpdta):
    if data_name == "ehec":
        data, args = ehec, ("dins", "stfips", "year", "cohort")
    else:
        data, args = mpdta, ("lemp", "countyreal", "year", "first.treat")
    sa = sun_abraham(data, *args).event_study()
    cs = staggered_did(
        data, *args, control_group="never", method="reg", base_period="universal"
    ).aggregate("dynamic")
    merged = sa.merge(cs, on="event_time", suffixes=("_sa", "_cs"))
    assert len(merged) == len(sa) == len(cs)
    np.testing.assert_allclose(merged["att_sa"], merged["att_cs"], rtol=0, atol=1e-8)


def test_event_study_frame_and_summary(ehec):
    result = sun_abraham(ehec, "dins", "stfips", "year", "cohort", level=0.9)
    frame = result.event_study()
    assert list(frame.columns) == ["event_time", "att", "se", "ci_low", "ci_high", "p_value"]
    ref = frame.set_index("event_time").loc[-1]
    assert ref["att"] == 0 and np.isnan(ref["se"])
    row = frame.set_index("event_time").loc[0]
    assert row["ci_high"] - row["att"] == pytest.approx(1.644854 * row["se"], rel=1e-6)
    summary = result.summary().iloc[0]
    post = frame[frame["event_time"] >= 0]["att"]
    assert summary["estimate"] == pytest.approx(post.mean(), abs=1e-15)
    assert summary["comparison"] == "never treated" and summary["n_clusters"] == 46
    cells = result.cohort_effects
    assert set(cells.columns) >= {"cohort", "event_time", "att", "n_units"}
    assert "since the cluster's NSAID meeting" in result.plot(indicator="nsaid").get_xlabel()


def test_clusters_coarser_than_units(mpdta):
    data = mpdta.assign(region=mpdta["countyreal"].rank(method="dense").astype(int) % 20)
    by_unit = sun_abraham(data, "lemp", "countyreal", "year", "first.treat")
    by_region = sun_abraham(data, "lemp", "countyreal", "year", "first.treat", cluster="region")
    assert by_region.n_clusters == 20 and by_unit.n_clusters == 500
    np.testing.assert_allclose(
        by_unit.event_study()["att"], by_region.event_study()["att"], atol=1e-15
    )
    assert not np.allclose(by_unit.event_study()["se"], by_region.event_study()["se"])


def test_last_treated_cohort_is_the_comparison_without_never_treated(mpdta):
    treated = mpdta[mpdta["first.treat"] > 0]
    result = sun_abraham(treated, "lemp", "countyreal", "year", "first.treat")
    assert "last-treated cohort (2007)" in result.comparison
    # cohort 2006 against cohort 2007 in 2005 (event time -1 is 2005 for 2006: reference)
    frame = treated.pivot(index="countyreal", columns="year", values="lemp")
    cohort = treated.groupby("countyreal")["first.treat"].first()
    change = frame[2006] - frame[2005]
    expected = change[cohort == 2006].mean() - change[cohort == 2007].mean()
    cells = result.cohort_effects.set_index(["cohort", "event_time"])
    assert cells.loc[(2006, 0), "att"] == pytest.approx(expected, abs=1e-14)
    calendar = cells.index.get_level_values("cohort") + cells.index.get_level_values("event_time")
    assert calendar.max() == 2006  # nothing from 2007 on, when the comparison cohort is treated


def test_one_cohort_and_no_never_treated_is_refused(mpdta):
    one = mpdta[mpdta["first.treat"] == 2006]
    with pytest.raises(InputError, match="no comparison group"):
        sun_abraham(one, "lemp", "countyreal", "year", "first.treat")


def test_missing_column_is_refused(mpdta):
    with pytest.raises(ValueError, match="missing column"):
        sun_abraham(mpdta, "employment", "countyreal", "year", "first.treat")
