"""On the national synthetic set (seed 2026) ITS and staggered DiD recover the planted NSAID effect.

What each estimand is, and why it matches the truth it is compared with:

* DiD: truth's ``att_ddd_per_1000_per_day`` is the average over treated clinic-months of expected
  treated minus untreated DDD per 1,000 patients per day. The panel is balanced (every clinic in
  every month), so Callaway & Sant'Anna's *simple* aggregation - ATT(g,t) over post cells weighted
  by cohort size - weights every treated clinic-month equally: the same average. Cohorts are the
  first month after the cluster's meeting (monthly, no coarsening); clinics whose meeting fell in
  the study's last month are untreated within the data, as in truth, and coded cohort 0.
* ITS: each treated clinic's own series gets a quasi-Poisson segmented regression (trend, one
  Fourier pair for the yearly season, level change at its first treated month, offset 1,000
  patient-days). The level change estimates that clinic's planted log rate ratio, so the
  equal-weight mean over clinics estimates the mean of ``clinic_effects[].log_rr`` over the same
  clinics (truth's ``mean_clinic_log_rr`` averages all exposed clinics; the two coincide here).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation.methods import its, staggered_did

pytestmark = pytest.mark.slow


def test_staggered_did_recovers_the_nsaid_att(nsaid_national):
    panel, truth = nsaid_national
    target = truth["indicators"]["nsaid"]["att_ddd_per_1000_per_day"]
    res = staggered_did(
        panel, "ddd_per_1000_per_day", "clinic_id", "month", "cohort", cluster="cluster_id"
    )
    simple = res.overall("simple").iloc[0]
    assert simple["ci_low"] < target < simple["ci_high"], (simple.to_dict(), target)
    assert simple["att"] < 0
    # The treated clinic-months the simple aggregation averages are exactly truth's.
    effects = pd.DataFrame(truth["clinic_effects"]).query("indicator == 'nsaid'")
    last = panel["month"].max()
    start = pd.to_datetime(effects["first_treated_month"])
    treated_months = (
        ((last.year - start.dt.year) * 12 + last.month - start.dt.month + 1).clip(lower=0).sum()
    )
    gt = res.att_gt[res.att_gt["post"]]
    assert int(gt["n_treated"].sum()) == int(treated_months)
    # No pre-trends in the year before the meetings (clustered Wald test).
    assert res.pretrend_test(leads=12)["p_value"].iloc[0] > 0.001
    dynamic = res.aggregate("dynamic").set_index("event_time")
    assert (dynamic.loc[0:12, "att"] < 0).mean() > 0.9


def test_its_recovers_the_mean_clinic_rate_ratio(nsaid_national):
    panel, truth = nsaid_national
    treated = panel[panel["cohort"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every treated clinic must be fitted
        res = its(
            treated,
            "ddd",
            "month",
            intervention="first_treated_month",
            population="thousand_patient_days",
            unit="clinic_id",
            harmonics=1,
        )
    effects = pd.DataFrame(truth["clinic_effects"]).query("indicator == 'nsaid'")
    fitted = effects[effects["clinic_id"].isin(res.to_frame()["clinic_id"])]
    assert len(fitted) == treated["clinic_id"].nunique() == res.average()["n_units"].iloc[0]
    avg = res.average().iloc[0]
    target = fitted["log_rr"].mean()
    assert avg["ci_low"] < target < avg["ci_high"], (avg.to_dict(), target)
    assert avg["ci_low"] < truth["indicators"]["nsaid"]["mean_clinic_log_rr"] < avg["ci_high"]
    assert avg["rate_ratio"] == pytest.approx(np.exp(target), abs=0.02)
