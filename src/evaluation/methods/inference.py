"""Normal (Wald) intervals and p-values: the one place every estimator turns an SE into them.

Each estimator of the methods wing reports ``se, ci_low, ci_high, p_value`` beside its estimate
(the house vocabulary, docs/decisions/0011). Where those come from a normal approximation,
:func:`normal_interval` computes them, so the critical value, the two-sided p-value and the rule
for a missing or zero SE are the same in every table.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from evaluation.errors import InputError

__all__ = ["critical_value", "normal_interval"]


def critical_value(level: float) -> float:
    """The two-sided normal critical value :math:`z_{1-(1-level)/2}` (1.96 for 0.95).

    >>> round(critical_value(0.95), 4)
    1.96
    """
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(stats.norm.ppf(0.5 + level / 2))


def normal_interval(estimate, se, level: float = 0.95):
    """``(ci_low, ci_high, p_value)`` of estimates with normal standard errors.

    :math:`\\hat\\theta \\pm z\\,se` and :math:`p = 2\\,(1 - \\Phi(|\\hat\\theta| / se))`. A
    missing or non-positive SE (a reference period fixed at zero, a single observation) gets
    no interval and no p-value (NaN), rather than a zero-width interval that would read as
    infinite precision. Scalars give floats; arrays or Series give arrays.

    >>> [round(v, 3) for v in normal_interval(2.0, 1.0)]
    [0.04, 3.96, 0.046]
    >>> normal_interval([1.0, 0.0], [float("nan"), 0.0])[2]
    array([nan, nan])
    """
    z = critical_value(level)
    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    usable = se > 0
    safe_se = np.where(usable, se, np.nan)
    ci_low = estimate - z * safe_se
    ci_high = estimate + z * safe_se
    p_value = 2 * stats.norm.sf(np.abs(estimate) / safe_se)
    if estimate.ndim == 0 and se.ndim == 0:
        return float(ci_low), float(ci_high), float(p_value)
    return ci_low, ci_high, p_value
