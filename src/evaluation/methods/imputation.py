"""Borusyak, Jaravel & Spiess (2024) imputation estimator of staggered DiD effects.

Fit unit and period fixed effects on the observations not (yet) treated only, impute each treated
observation's untreated outcome :math:`\\hat Y_{it}(0) = \\hat\\alpha_i + \\hat\\lambda_t`, and
average the differences :math:`\\hat\\tau_{it} = Y_{it} - \\hat Y_{it}(0)` over the treated
observations of each event time. Under parallel trends and no anticipation it is the efficient
estimator when errors are homoskedastic and serially uncorrelated; it uses all pre-treatment
periods (not only the one before treatment) and every not-yet-treated observation.

Inference: the conservative cluster-robust variance of BJS Theorem 3 - each estimate is a linear
function :math:`\\sum_{it} v_{it} Y_{it}` of the outcomes (treated observations weigh
:math:`w_{it}`, untreated ones :math:`v_{it} = -[A_0(A_0'A_0)^{-1}A_1'w]_{it}` through the fixed
effects), and :math:`\\hat\\sigma^2 = \\sum_c (\\sum_{it \\in c} v_{it}\\tilde\\varepsilon_{it})^2`
with untreated residuals from the fixed-effects fit and treated ones net of the average effect of
their cohort and event time (equation 8), as R ``didimputation`` and diff-diff's ``ImputationDiD``
(tests/methods/test_imputation_did.py compares estimates and standard errors with it).

Computation: the two-way fixed-effects normal equations on the untreated observations are solved
by eliminating the unit effects (a diagonal block), leaving one system in the period effects -
exact in unbalanced sets, with no dummy matrix formed; the same factorisation gives every
:math:`v`.

Why not diff-diff's implementation (measured): docs/decisions/0012-did-robustness-engines.md.

Reference: Borusyak, K., Jaravel, X., & Spiess, J. (2024). Revisiting event-study designs: robust
and efficient estimation. Review of Economic Studies, 91(6), 3253-3285.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.event_study import event_study_frame
from evaluation.methods.inference import normal_interval

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["imputation_did", "ImputationDiDResult"]


@dataclass
class ImputationDiDResult:
    """Event-time effects of the imputation estimator. Build with :func:`imputation_did`."""

    outcome: str
    period_unit: str
    n_units: int
    n_clusters: int
    n_treated_observations: int
    level: float
    _event_time: np.ndarray
    _estimate: np.ndarray
    _covariance: np.ndarray
    _counts: np.ndarray
    _overall: tuple[float, float]

    def event_study(self, level: float | None = None) -> pd.DataFrame:
        """event_time, att, se, ci_low, ci_high, p_value and n_obs (treated observations)."""
        frame = event_study_frame(
            self._event_time,
            self._estimate,
            np.sqrt(np.diag(self._covariance)),
            self.level if level is None else level,
        )
        frame["n_obs"] = self._counts
        return frame

    def to_frame(self) -> pd.DataFrame:
        """The event study (as :meth:`event_study`)."""
        return self.event_study()

    def summary(self) -> pd.DataFrame:
        """One row: the average effect over all treated observations (BJS's overall ATT)."""
        estimate, se = self._overall
        ci_low, ci_high, p_value = normal_interval(estimate, se, self.level)
        return pd.DataFrame(
            [
                {
                    "estimate": estimate,
                    "se": se,
                    "ci_low": ci_low,
                    "ci_high": ci_high,
                    "p_value": p_value,
                    "n_treated_observations": self.n_treated_observations,
                    "n_clusters": self.n_clusters,
                }
            ]
        )

    def plot(self, indicator: str | None = None, ax: Axes | None = None) -> Axes:
        """The post-treatment event study with pointwise confidence intervals."""
        from evaluation.methods import _plotting as P

        return P.event_study_plot(
            ax,
            self.event_study(),
            "att",
            marker="D",
            colour=P.AFTER_COLOUR,
            label="Borusyak, Jaravel & Spiess (imputation)",
            outcome=self.outcome,
            period_unit=self.period_unit,
            indicator=indicator,
            treatment_line=False,
        )


class _TwoWayProjection:
    """Least squares with unit and period effects on the observations where ``mask`` is True."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask.astype(float)
        self.unit_count = self.mask.sum(axis=1)
        self.period_count = self.mask.sum(axis=0)
        if (self.unit_count == 0).any():
            raise InputError("every unit needs at least one untreated period to impute from")
        # Eliminate unit effects: (diag(N_t) - C' diag(1/N_i) C) lambda = s - C' (r / N_i)
        schur = np.diag(self.period_count) - self.mask.T @ (self.mask / self.unit_count[:, None])
        self.identified = self.period_count > 0
        keep = np.flatnonzero(self.identified)[1:]  # one period effect fixed at zero
        self.keep = keep
        self.system = schur[np.ix_(keep, keep)]

    def solve(self, unit_rhs: np.ndarray, period_rhs: np.ndarray):
        """Solve the normal equations for right-hand sides (n x k) and (T x k)."""
        reduced = period_rhs - self.mask.T @ (unit_rhs / self.unit_count[:, None])
        period = np.zeros_like(period_rhs)
        period[self.keep] = np.linalg.solve(self.system, reduced[self.keep])
        unit = (unit_rhs - self.mask @ period) / self.unit_count[:, None]
        return unit, period


def imputation_did(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    cluster: str | None = None,
    horizon: int | None = None,
    level: float = 0.95,
) -> ImputationDiDResult:
    """Borusyak-Jaravel-Spiess imputation event study on a balanced panel.

    Parameters
    ----------
    data : one row per unit and period (balanced panel), as for ``staggered_did``.
    outcome, unit, time : column names; ``time`` integers (years) or dates (months).
    cohort : each unit's first treated period (a date, or YYYYMM next to a monthly date column);
        0 or missing = never treated.
    cluster : column to cluster standard errors on; by default units (BJS).
    horizon : last event time to estimate (all by default).
    level : confidence level (0.95).

    Returns
    -------
    ImputationDiDResult: ``.event_study()`` (event_time, att, se, ci_low, ci_high, p_value,
    n_obs) for event times 0, 1, ...; ``.summary()`` the overall average effect; ``.plot()``.

    Formula
    -------
    :math:`\\hat\\tau_e = \\frac{1}{N_e}\\sum_{it: t - G_i = e} (Y_{it} - \\hat\\alpha_i -
    \\hat\\lambda_t)`, with :math:`\\hat\\alpha, \\hat\\lambda` from OLS of :math:`Y_{it} =
    \\alpha_i + \\lambda_t + \\varepsilon_{it}` on untreated observations.

    References
    ----------
    Borusyak, Jaravel & Spiess (2024), Review of Economic Studies 91(6), 3253-3285.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> cohort = rng.choice([0, 2013, 2015], size=300)
    >>> df = pd.DataFrame([(u, t, cohort[u]) for u in range(300) for t in range(2010, 2018)],
    ...                   columns=["unit", "year", "cohort"])
    >>> df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.cohort > 0) & (df.year >= df.cohort))
    >>> es = imputation_did(df, "y", "unit", "year", "cohort").event_study()
    >>> round(float(es.query("event_time == 0")["att"].iloc[0]))
    1
    """
    from evaluation.methods.did import _prepare

    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if horizon is not None and (not isinstance(horizon, (int, np.integer)) or horizon < 0):
        raise InputError(f"horizon must be a non-negative whole number, got {horizon!r}")
    panel = _prepare(data, outcome, unit, time, cohort, None, cluster)
    y = panel.y
    n, n_periods = y.shape
    gpos = panel.cohort_pos
    periods = np.arange(n_periods)
    event = np.where(gpos[:, None] >= 0, periods[None, :] - gpos[:, None], -(10**9))
    treated = (gpos[:, None] >= 0) & (event >= 0)
    fe = _TwoWayProjection(~treated)
    # Treated observations in periods without any untreated unit cannot be imputed (no period
    # effect): they are left out, as in BJS.
    imputable = treated & fe.identified[None, :]
    if horizon is not None:
        imputable &= event <= horizon
    if not imputable.any():
        raise InputError(
            "no treated observation can be imputed: in every treated period all units are "
            "already treated. Add never-treated units (cohort 0) or not-yet-treated periods."
        )
    untreated = ~treated
    y0 = np.where(untreated, y, 0.0)
    unit_fe, period_fe = fe.solve(y0.sum(axis=1, keepdims=True), y0.sum(axis=0)[:, None])
    fitted = unit_fe + period_fe.T  # n x T
    tau = y - fitted
    residual = np.where(untreated, y - fitted, 0.0)

    event_times = np.unique(event[imputable])
    counts = np.array([(imputable & (event == e)).sum() for e in event_times])
    estimate = np.array([tau[imputable & (event == e)].mean() for e in event_times])
    # Target weights: event time e -> 1/N_e on its treated observations; overall -> 1/N.
    targets = [imputable & (event == e) for e in event_times] + [imputable]
    weights = np.stack([mask / mask.sum() for mask in targets], axis=-1)  # n x T x K
    overall = float(tau[imputable].mean())
    # Untreated weights v = -A0 (A0'A0)^{-1} A1'w: solve with the per-unit and per-period sums.
    unit_w, period_w = fe.solve(weights.sum(axis=1), weights.sum(axis=0))
    # Treated residuals net of the cohort x event-time average effect (BJS eq. 8, equal weights)
    tau_tilde = np.zeros_like(tau)
    for g in np.unique(gpos[gpos >= 0]):
        rows = gpos == g
        block = imputable[rows]
        counts_t = block.sum(axis=0)
        means = np.where(counts_t > 0, (tau[rows] * block).sum(axis=0) / np.maximum(counts_t, 1), 0)
        tau_tilde[rows] = means[None, :]
    treated_resid = np.where(imputable, tau - tau_tilde, 0.0)
    per_unit = np.einsum("itk,it->ik", weights, treated_resid)
    # untreated: sum_t v_it e_it = -(a_i sum_t e_it + sum_t l_t e_it)
    per_unit -= unit_w * residual.sum(axis=1, keepdims=True) + residual @ period_w
    codes = panel.cluster if panel.cluster is not None else np.arange(n)
    n_clusters = int(codes.max()) + 1
    sums = np.zeros((n_clusters, per_unit.shape[1]))
    np.add.at(sums, codes, per_unit)
    covariance = sums.T @ sums
    return ImputationDiDResult(
        outcome=outcome,
        period_unit=panel.period_unit,
        n_units=n,
        n_clusters=n_clusters,
        n_treated_observations=int(imputable.sum()),
        level=level,
        _event_time=event_times.astype(int),
        _estimate=estimate,
        _covariance=covariance[:-1, :-1],
        _counts=counts,
        _overall=(overall, float(np.sqrt(covariance[-1, -1]))),
    )
