"""Staggered DiD pinned to R `did` 2.5 on mpdta: every ATT(g,t), all four aggregations, estimates
and analytic standard errors within 1e-6 (tests/fixtures/did/ref_*.csv)."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.methods import staggered_did

TOL = 1e-6
SCENARIOS = {
    "mpdta_nev_dr": dict(control_group="never", method="dr"),
    "mpdta_nyt_dr": dict(control_group="notyet", method="dr"),
    "mpdta_nev_ipw": dict(control_group="never", method="ipw"),
    "mpdta_nev_reg_cov": dict(control_group="never", method="reg", covariates=["lpop"]),
}
LEVEL = {"dynamic": "event_time", "group": "cohort", "calendar": "time"}


@pytest.fixture(scope="module")
def fits(mpdta):
    return {
        name: staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", **kw)
        for name, kw in SCENARIOS.items()
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_group_time_effect_matches_r(fits, ref_attgt, scenario):
    ref = ref_attgt[ref_attgt["scenario"] == scenario].set_index(["group", "t"]).sort_index()
    ours = fits[scenario].att_gt.set_index(["cohort", "time"]).sort_index()
    assert len(ref) == 12 and list(ours.index) == list(ref.index)
    np.testing.assert_allclose(ours["att"], ref["att"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ours["se"], ref["se"], rtol=0, atol=TOL)


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_aggregations_match_r(fits, ref_aggte, scenario, kind):
    ref = ref_aggte[(ref_aggte["scenario"] == scenario) & (ref_aggte["type"] == kind)]
    assert len(ref) > 0
    frame = fits[scenario].aggregate(kind)
    overall = frame.attrs["overall"]
    assert overall["att"] == pytest.approx(ref["overall_att"].iloc[0], abs=TOL)
    assert overall["se"] == pytest.approx(ref["overall_se"].iloc[0], abs=TOL)
    if kind == "simple":
        assert list(frame.columns[:2]) == ["att", "se"] and len(frame) == 1
        assert frame["att"].iloc[0] == pytest.approx(ref["overall_att"].iloc[0], abs=TOL)
        return
    level = LEVEL[kind]
    assert frame.columns[0] == level
    ours = frame.set_index(level).loc[ref["egt"].astype(int)]
    np.testing.assert_allclose(ours["att"], ref["att_egt"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ours["se"], ref["se_egt"], rtol=0, atol=TOL)
    assert len(frame) == len(ref)


def test_headline_simple_att(fits):
    # The reference README's headline: simple ATT -0.0399513 (SE 0.0120340).
    row = fits["mpdta_nev_dr"].overall("simple").iloc[0]
    assert round(row["att"], 7) == -0.0399513
    assert round(row["se"], 7) == 0.0120340


def test_without_covariates_the_three_methods_agree(mpdta):
    results = [
        staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", method=m).att_gt
        for m in ("dr", "ipw", "reg")
    ]
    for other in results[1:]:
        np.testing.assert_allclose(other[["att", "se"]], results[0][["att", "se"]], atol=1e-12)
