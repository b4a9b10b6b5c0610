"""Power of the pre-trend test (Roth 2022): what a passed test could have missed.

A pre-trend test that does not reject is often read as evidence of parallel trends. Roth (2022)
asks how large a violation it could detect: :func:`pretrends_power` returns the slope of the
linear pre-trend :math:`\\delta_t = \\text{slope}\\times(t - t_{ref})` that the test would detect
with the given probability (50%, 80%). If plausible trends of that size would bias the effect
estimates materially, the passed test is weak evidence.

Two tests:

* ``test="wald"`` (default): the joint Wald test of all pre-treatment estimates, the one
  ``StaggeredDiDResult.pretrend_test()`` reports. Under a linear trend its statistic is
  non-central :math:`\\chi^2_k(\\lambda)`, :math:`\\lambda = \\text{slope}^2\\, d'V^{-1}d`, so the
  slope for a given power is exact: solve for :math:`\\lambda` and take the square root.
* ``test="individual"``: "any pre-treatment estimate individually significant", the test of R
  ``pretrends`` (Roth's package, MIT): power
  :math:`1 - P(|\\hat\\beta_j| \\le z\\,se_j\\ \\forall j)` under
  :math:`\\hat\\beta_{pre} \\sim N(\\delta, V)`, a multivariate-normal rectangle probability
  (scipy's Genz algorithm, fixed seed). tests/fixtures/pretrends pins it to the package README's
  He & Wang (2017) example.

Why not diff-diff's implementation (measured): docs/decisions/0012-did-robustness-engines.md.

Reference: Roth, J. (2022). Pretest with caution: event-study estimates after testing for parallel
trends. American Economic Review: Insights, 4(3), 305-322.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaluation.errors import InputError
from evaluation.methods.event_study import event_study_estimates

__all__ = ["pretrends_power"]


def _box_probability(mean: np.ndarray, cov: np.ndarray, half_width: np.ndarray) -> float:
    """P(|X_j| <= half_width_j for all j), X ~ N(mean, cov)."""
    if mean.size == 1:
        sd = np.sqrt(cov[0, 0])
        upper, lower = (half_width[0] - mean[0]) / sd, (-half_width[0] - mean[0]) / sd
        return float(stats.norm.cdf(upper) - stats.norm.cdf(lower))
    dist = stats.multivariate_normal(
        mean=mean,
        cov=cov,
        seed=np.random.default_rng(0),
        maxpts=20_000 * mean.size,
        abseps=1e-6,
        releps=1e-6,
    )
    return float(dist.cdf(half_width, lower_limit=-half_width))


def pretrends_power(
    result,
    power: float | Sequence[float] = 0.8,
    level: float = 0.95,
    test: Literal["wald", "individual"] = "wald",
    pre_periods: int | None = None,
) -> pd.DataFrame:
    """The linear pre-trend the pre-test would detect with the given power.

    Parameters
    ----------
    result : a ``staggered_did(..., base_period="universal")`` or ``sun_abraham(...)`` result, or
        :class:`~evaluation.methods.event_study.EventStudyEstimates` (reference period -1).
    power : target probability of rejecting, or several (e.g. ``[0.5, 0.8]``).
    level : 1 - size of the pre-test (0.95: a 5% test).
    test : "wald" (joint test, as ``pretrend_test()``) or "individual" (any estimate significant,
        as R ``pretrends``).
    pre_periods : how many pre-treatment estimates (nearest the reference first) the test uses;
        all by default. With clustered monthly data keep it below the number of clusters.

    Returns
    -------
    DataFrame, one row per power: ``power``, ``slope`` (change in the outcome per period of the
    trend difference that is detected with that probability; always positive: a trend of either
    sign), ``test``, ``n_pre``, and beside it the pre-test on the data: ``statistic`` (Wald
    :math:`\\chi^2`, or the largest absolute t) and ``p_value``.

    Formula
    -------
    Wald: :math:`1 - F_{\\chi^2_k(\\lambda)}(\\chi^2_{k,level}) = power`,
    :math:`\\text{slope} = \\sqrt{\\lambda / d'V^{-1}d}`, :math:`d_t = t - t_{ref}`.

    References
    ----------
    Roth (2022), AER: Insights 4(3), 305-322; R package pretrends.

    Examples
    --------
    >>> import numpy as np
    >>> from evaluation.methods.event_study import EventStudyEstimates
    >>> es = EventStudyEstimates([-4, -3, -2, 0], [0.0, 0.1, 0.0, 1.0], np.eye(4) * 0.01)
    >>> pretrends_power(es, power=[0.5, 0.8])[["power", "slope"]].round(3)
       power  slope
    0    0.5  0.064
    1    0.8  0.088
    """
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if test not in ("wald", "individual"):
        raise InputError(f"test must be 'wald' or 'individual', got {test!r}")
    targets = np.atleast_1d(np.asarray(power, dtype=float))
    if targets.size == 0 or np.any((targets <= 1 - level) | (targets >= 1)):
        raise InputError(
            f"power must be between the test's size ({1 - level:g}) and 1, got {targets.tolist()}"
        )
    estimates = event_study_estimates(result).window(pre=pre_periods, post=0)
    if estimates.n_pre < 1:
        raise InputError(
            "no pre-treatment estimates before the reference period: there is no pre-trend test "
            "whose power could be computed"
        )
    beta, cov = estimates.estimate, estimates.covariance
    if np.linalg.matrix_rank(cov) < cov.shape[0]:
        raise InputError(
            f"the covariance of the {cov.shape[0]} pre-treatment estimates is singular (too few "
            "clusters for so many event times); use fewer, e.g. pre_periods=6"
        )
    direction = (estimates.event_time - estimates.reference).astype(float)
    k = beta.size
    alpha = 1 - level
    rows = []
    if test == "wald":
        precision = np.linalg.inv(cov)
        statistic = float(beta @ precision @ beta)
        p_value = float(stats.chi2.sf(statistic, k))
        critical = stats.chi2.ppf(level, k)
        information = float(direction @ precision @ direction)
        for target in targets:

            def gap(noncentrality: float, target: float = target) -> float:
                return stats.ncx2.sf(critical, k, noncentrality) - target

            high = 1.0
            while gap(high) < 0:
                high *= 2
            lam = optimize.brentq(gap, 0.0, high, xtol=1e-14, rtol=1e-14)
            rows.append({"power": target, "slope": float(np.sqrt(lam / information))})
    else:
        se = np.sqrt(np.diag(cov))
        z = stats.norm.ppf(1 - alpha / 2)
        half_width = z * se
        statistic = float(np.max(np.abs(beta / se)))
        p_value = 1 - _box_probability(np.zeros(k), cov, statistic * se)
        for target in targets:

            def gap(slope: float, target: float = target) -> float:
                return 1 - _box_probability(slope * direction, cov, half_width) - target

            high = float(se.max())
            while gap(high) < 0:
                high *= 2
            slope = optimize.brentq(gap, 0.0, high, xtol=1e-12 * high, rtol=1e-10)
            rows.append({"power": target, "slope": float(slope)})
    frame = pd.DataFrame(rows)
    frame["test"] = test
    frame["n_pre"] = k
    frame["statistic"] = statistic
    frame["p_value"] = p_value
    frame.attrs = {"level": level, "outcome": estimates.outcome, "estimator": estimates.estimator}
    return frame
