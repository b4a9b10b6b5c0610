"""staggered_did(base_period="universal") pinned to R `did` on the HonestDiD README's Medicaid
expansion example (tests/fixtures/honest_did): the dynamic aggregation and the influence-function
covariance of its event study, and what changes (and what does not) against the varying base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.methods import staggered_did
from evaluation.methods.did import DiDInputError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "honest_did"


@pytest.fixture(scope="module")
def ehec() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "ehec.csv")
    data["cohort"] = data["yexp2"].fillna(0).astype(int)  # never expanded: cohort 0
    return data


@pytest.fixture(scope="module")
def universal(ehec):
    # R: att_gt(control_group = "notyettreated", base_period = "universal"), no covariates
    return staggered_did(
        ehec, "dins", "stfips", "year", "cohort", control_group="notyet", base_period="universal"
    )


def test_universal_event_study_matches_r_did(universal):
    ref = pd.read_csv(FIXTURES / "cs_universal_dynamic.csv").set_index("event_time")
    ours = universal.aggregate("dynamic").set_index("event_time").loc[ref.index]
    np.testing.assert_allclose(ours["att"], ref["att"], rtol=0, atol=1e-10)
    # the reference period is zero by construction and has no standard error, as in R
    assert ours.loc[-1, "att"] == 0 and np.isnan(ours.loc[-1, "se"])


def test_event_study_covariance_is_r_influence_covariance(universal):
    influence = pd.read_csv(FIXTURES / "cs_universal_influence.csv").to_numpy()
    expected = influence.T @ influence / influence.shape[0] ** 2  # R honest_did's V
    ours = universal.event_study_covariance().loc[-5:5, -5:5].to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-14)
    dynamic = universal.aggregate("dynamic").set_index("event_time")
    np.testing.assert_allclose(
        np.sqrt(np.diag(ours))[[0, 1, 2, 3, 5]], dynamic.loc[[-5, -4, -3, -2, 0], "se"], rtol=1e-12
    )


def test_post_treatment_effects_do_not_depend_on_the_base_period(ehec, universal):
    varying = staggered_did(ehec, "dins", "stfips", "year", "cohort", control_group="notyet")
    post_u = universal.att_gt[universal.att_gt["post"]].set_index(["cohort", "time"])
    post_v = varying.att_gt[varying.att_gt["post"]].set_index(["cohort", "time"])
    np.testing.assert_allclose(post_u["att"], post_v.loc[post_u.index, "att"], atol=1e-14)
    np.testing.assert_allclose(post_u["se"], post_v.loc[post_u.index, "se"], atol=1e-14)
    # before treatment they differ: cumulative from g-1 (universal) against period-on-period
    pre_u = universal.aggregate("dynamic").set_index("event_time").loc[-5:-2, "att"]
    pre_v = varying.aggregate("dynamic").set_index("event_time").loc[-5:-2, "att"]
    assert np.abs(pre_u - pre_v).max() > 1e-3
    # universal has one more cell per cohort: the first period
    assert len(universal.att_gt) == len(varying.att_gt) + universal.att_gt["cohort"].nunique()


def test_pretrend_test_leaves_out_the_reference_period(universal):
    test = universal.pretrend_test(leads=4).iloc[0]
    assert test["n_estimates"] == 4 and test["df"] == 4  # event times -5..-2, not -1
    cell = universal.pretrend_test(by="cell").iloc[0]
    pre = universal.att_gt[~universal.att_gt["post"]]
    assert cell["n_estimates"] == int((pre["event_time"] < -1).sum())


def test_unknown_base_period_is_refused(ehec):
    with pytest.raises(DiDInputError, match="base_period must be 'varying' or 'universal'"):
        staggered_did(ehec, "dins", "stfips", "year", "cohort", base_period="fixed")
