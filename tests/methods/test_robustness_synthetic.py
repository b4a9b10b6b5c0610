"""The DiD robustness panel on the national synthetic set (seed 2026, NSAID; truth.json).

* Every alternative estimator brackets the planted effect: truth's ``att_ddd_per_1000_per_day``
  averages expected treated-minus-untreated DDD over treated clinic-months, which is what
  Callaway & Sant'Anna's simple aggregation and the imputation estimator's overall effect estimate
  (both weight treated clinic-months equally); Sun & Abraham's average of event-time effects and
  the TWFE coefficient weight them differently, so they are checked to lie with the others around
  the truth, and each interval to cover it.
* The sensitivity analysis is reported: the breakdown values for relative magnitudes and
  smoothness of the average effect over the first six months, consistent with the robust sets.
* The pre-trend test passes (no pre-trend is planted) and its power is reported beside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.methods import staggered_did
from evaluation.methods.bacon import bacon_decomposition
from evaluation.methods.imputation import imputation_did
from evaluation.methods.interaction_weighted import sun_abraham
from evaluation.methods.parallel_trends_sensitivity import breakdown_value, honest_did
from evaluation.methods.pretrends import pretrends_power

pytestmark = pytest.mark.slow
ARGS = ("ddd_per_1000_per_day", "clinic_id", "month", "cohort")


def _interval(row) -> tuple[float, float]:
    """The row's 95% confidence interval."""
    return row["ci_low"], row["ci_high"]


@pytest.fixture(scope="module")
def universal(nsaid_national):
    panel, _ = nsaid_national
    return staggered_did(panel, *ARGS, cluster="cluster_id", base_period="universal")


def test_alternative_estimators_bracket_the_planted_effect(nsaid_national, universal):
    panel, truth = nsaid_national
    target = truth["indicators"]["nsaid"]["att_ddd_per_1000_per_day"]
    cs = universal.overall("simple").iloc[0]
    sa = sun_abraham(panel, *ARGS, cluster="cluster_id").summary().iloc[0]
    bjs = imputation_did(panel, *ARGS, cluster="cluster_id").summary().iloc[0]
    twfe = bacon_decomposition(panel, *ARGS).attrs["twfe_estimate"]
    for name, row in (("Callaway & Sant'Anna", cs), ("Sun & Abraham", sa), ("imputation", bjs)):
        low, high = _interval(row)
        assert low < target < high, (name, low, high, target)
    estimates = [cs["att"], sa["estimate"], bjs["estimate"], twfe]
    assert min(estimates) < target < max(estimates), (estimates, target)
    assert all(e < 0 for e in estimates)


def test_sun_abraham_equals_callaway_santanna_on_the_synthetic_panel(nsaid_national, universal):
    panel, _ = nsaid_national
    never = staggered_did(
        panel, *ARGS, cluster="cluster_id", base_period="universal", method="reg"
    ).aggregate("dynamic")
    sa = sun_abraham(panel, *ARGS, cluster="cluster_id").event_study()
    merged = sa.merge(never, on="event_time", suffixes=("_sa", "_cs"))
    assert len(merged) == len(sa)
    np.testing.assert_allclose(merged["att_sa"], merged["att_cs"], rtol=0, atol=1e-8)


def test_breakdown_values_are_reported_and_consistent(universal):
    window = dict(pre_periods=6, post_periods=6)
    for method in ("relative_magnitude", "smoothness"):
        value = breakdown_value(universal, method, **window)
        print(f"breakdown value ({method}, average effect over months 0-5): {value:.3f}")
        assert np.isfinite(value) and value > 0
        sets = honest_did(universal, method, m=[0.0, 0.9 * value, 1.1 * value], **window)
        excludes_zero = (sets["ci_high"] < 0) | (sets["ci_low"] > 0)
        assert excludes_zero.tolist() == [True, True, False], sets
    original = sets.attrs["original"]
    assert original["ci_high"] < 0  # the effect is significant under exact parallel trends


def test_pretrend_test_passes_and_its_power_is_shown(universal):
    power = pretrends_power(universal, power=[0.5, 0.8], pre_periods=6)
    assert power["p_value"].iloc[0] > 0.05  # no planted pre-trend
    slopes = power.set_index("power")["slope"]
    assert 0 < slopes[0.5] < slopes[0.8]
    print(power.to_string())
