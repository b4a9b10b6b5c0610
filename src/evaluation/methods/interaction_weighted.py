"""Sun & Abraham (2021) interaction-weighted event study.

The two-way fixed-effects event study mixes effects of different cohorts and periods, with weights
that can be negative when effects differ by cohort. Sun & Abraham saturate the regression instead:
one coefficient per cohort and event time,

.. math:: Y_{it} = \\alpha_i + \\lambda_t + \\sum_{g} \\sum_{e \\ne -1} \\beta_{g,e}\\,
          1[G_i = g]\\,1[t - g = e] + \\varepsilon_{it},

estimated with the never-treated units as the comparison group (or, when every unit is treated
in the data, the last-treated cohort before its treatment), then average the cohort-specific
:math:`\\beta_{g,e}` at each event time with weights equal to each cohort's share of the units
observed at that event time (fixest ``sunab``'s aggregation).

Computation: in a balanced panel the saturated regression has a closed form - each
:math:`\\hat\\beta_{g,e}` is the difference between cohort *g* and the comparison group in the
mean change of the outcome from period :math:`g-1` to :math:`g+e` (the treated units' other
periods are absorbed by their own coefficients, so time effects come from the comparison group
alone) - and so do its OLS scores. So the estimates are differences of cohort means, no regression
with thousands of dummies is formed, and the cluster-robust covariance is the sum of the scores
within clusters with fixest's small-sample factor :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}` (N
unit-periods, K = the interaction coefficients plus one per period: unit effects nest in the
clusters). The same closed form is why, without covariates and with never-treated comparison
units, the event-time estimates equal Callaway & Sant'Anna's dynamic aggregation with a universal
base period (tests/methods/test_sun_abraham.py checks it to 1e-8; the standard errors differ:
fixest treats the cohort weights as fixed, ``did`` adds their estimation error).

tests/fixtures/honest_did pins estimates and covariance to fixest ``sunab`` on the HonestDiD
README's Medicaid-expansion example.

Why not diff-diff's implementation (measured): docs/decisions/0012-did-robustness-engines.md.

Reference: Sun, L., & Abraham, S. (2021). Estimating dynamic treatment effects in event studies
with heterogeneous treatment effects. Journal of Econometrics, 225(2), 175-199.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.event_study import EventStudyEstimates, event_study_frame
from evaluation.methods.inference import normal_interval

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["sun_abraham", "SunAbrahamResult"]


@dataclass
class SunAbrahamResult:
    """Cohort-by-event-time effects and their interaction-weighted event study.

    Build with :func:`sun_abraham`. ``cohort_effects`` has one row per cohort and event time
    (cohort, event_time, att, n_units); the event study and its covariance come from
    :meth:`event_study` and :meth:`event_study_estimates`.
    """

    cohort_effects: pd.DataFrame
    outcome: str
    period_unit: str
    comparison: str  # "never treated" or "last-treated cohort (<label>)"
    n_units: int
    n_clusters: int
    level: float
    _event_time: np.ndarray
    _estimate: np.ndarray
    _covariance: np.ndarray
    _post_average: tuple[float, float]

    def event_study(self, level: float | None = None) -> pd.DataFrame:
        """event_time, att, se, ci_low, ci_high, p_value; the reference period -1 at zero."""
        se = np.sqrt(np.diag(self._covariance))
        return event_study_frame(
            np.r_[self._event_time, -1],
            np.r_[self._estimate, 0.0],
            np.r_[se, np.nan],
            self.level if level is None else level,
        )

    def event_study_estimates(self) -> EventStudyEstimates:
        """Estimates and cluster-robust covariance, for ``honest_did`` and ``pretrends_power``."""
        return EventStudyEstimates(
            self._event_time,
            self._estimate,
            self._covariance,
            reference=-1,
            outcome=self.outcome,
            estimator="Sun & Abraham",
        )

    def to_frame(self) -> pd.DataFrame:
        """The event study (as :meth:`event_study`)."""
        return self.event_study()

    def summary(self) -> pd.DataFrame:
        """One row: the average of the post-treatment event-time estimates, with its interval."""
        estimate, se = self._post_average
        ci_low, ci_high, p_value = normal_interval(estimate, se, self.level)
        return pd.DataFrame(
            [
                {
                    "estimate": estimate,
                    "se": se,
                    "ci_low": ci_low,
                    "ci_high": ci_high,
                    "p_value": p_value,
                    "n_units": self.n_units,
                    "n_clusters": self.n_clusters,
                    "comparison": self.comparison,
                }
            ]
        )

    def plot(self, indicator: str | None = None, ax: Axes | None = None) -> Axes:
        """Event-study plot with pointwise confidence intervals."""
        from evaluation.methods import _plotting as P

        frame = self.event_study()
        return P.event_study_plot(
            ax,
            frame[frame["event_time"] != -1],
            "att",
            marker="o",
            colour=P.AFTER_COLOUR,
            label="Sun & Abraham",
            outcome=self.outcome,
            period_unit=self.period_unit,
            indicator=indicator,
        )


def _cluster_sums(values: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    sums = np.zeros((n_clusters, values.shape[1]))
    np.add.at(sums, codes, values)
    return sums


def sun_abraham(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    cluster: str | None = None,
    level: float = 0.95,
) -> SunAbrahamResult:
    """Sun & Abraham (2021) interaction-weighted event study on a balanced panel.

    Parameters
    ----------
    data : one row per unit and period (balanced panel), as for ``staggered_did``.
    outcome, unit, time : column names; ``time`` integers (years) or dates (months).
    cohort : each unit's first treated period (a date, or YYYYMM next to a monthly date column);
        0 or missing = never treated.
    cluster : column to cluster standard errors on (clinics nest in quality clusters); by default
        units (fixest's default with unit fixed effects).
    level : confidence level of the intervals (0.95).

    Returns
    -------
    SunAbrahamResult: ``.event_study()`` (event_time, att, se, ci_low, ci_high, p_value),
    ``.cohort_effects``, ``.summary()``, ``.plot()`` and ``.event_study_estimates()``.

    Formula
    -------
    :math:`\\hat\\beta_{g,e} = \\overline{\\Delta Y}_{g}(g-1 \\to g+e) -
    \\overline{\\Delta Y}_{C}(g-1 \\to g+e)`; :math:`\\hat\\nu_e = \\sum_g \\hat\\beta_{g,e}\\,
    n_g / \\sum_{g'} n_{g'}` over the cohorts observed at event time e.

    References
    ----------
    Sun & Abraham (2021), Journal of Econometrics 225(2), 175-199; R fixest ``sunab``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> cohort = rng.choice([0, 2013, 2015], size=300)
    >>> df = pd.DataFrame([(u, t, cohort[u]) for u in range(300) for t in range(2010, 2018)],
    ...                   columns=["unit", "year", "cohort"])
    >>> df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.cohort > 0) & (df.year >= df.cohort))
    >>> es = sun_abraham(df, "y", "unit", "year", "cohort").event_study()
    >>> round(float(es.query("event_time == 0")["att"].iloc[0]))
    1
    """
    from evaluation.methods.did import _prepare

    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    panel = _prepare(data, outcome, unit, time, cohort, None, cluster)
    y = panel.y
    n, n_periods = y.shape
    gpos = panel.cohort_pos.copy()
    comparison = "never treated"
    if not (gpos < 0).any():
        # No never-treated units: the last-treated cohort serves as comparison, before its
        # treatment only (Sun & Abraham 2021, sec. 4.1).
        last = int(gpos.max())
        if np.unique(gpos).size < 2:
            raise InputError(
                "every unit is treated at the same time and none is never treated: there is no "
                "comparison group. Add never-treated units (cohort 0)."
            )
        comparison = f"last-treated cohort ({panel.cohort_label[last]!s}), before its treatment"
        gpos[gpos == last] = -1
        y = y[:, :last]
        n_periods = last
    control = gpos < 0
    n_control = int(control.sum())
    cohorts = np.unique(gpos[gpos >= 0])
    cluster_codes = panel.cluster if panel.cluster is not None else np.arange(n)
    n_clusters = int(cluster_codes.max()) + 1
    if n_clusters < 2:
        raise InputError("need at least two clusters for cluster-robust standard errors")

    rows = []
    scores = {}  # (cohort position, event time) -> n-vector of OLS scores
    for g in cohorts:
        members = gpos == g
        size = int(members.sum())
        change = y - y[:, [g - 1]]  # outcome change from the period before treatment
        mean_treated = change[members].mean(axis=0)
        mean_control = change[control].mean(axis=0)
        for t in range(n_periods):
            if t == g - 1:
                continue
            e = t - g
            score = np.zeros(n)
            score[members] = (change[members, t] - mean_treated[t]) / size
            score[control] = -(change[control, t] - mean_control[t]) / n_control
            scores[(g, e)] = score
            rows.append(
                {
                    "cohort": panel.cohort_label[g],
                    "event_time": e,
                    "att": mean_treated[t] - mean_control[t],
                    "n_units": size,
                    "_g": g,
                }
            )
    cells = pd.DataFrame(rows)
    event_times = np.sort(cells["event_time"].unique())
    weights = cells["n_units"] / cells.groupby("event_time")["n_units"].transform("sum")
    estimate = (cells["att"] * weights).groupby(cells["event_time"]).sum().loc[event_times]
    aggregated = np.zeros((n, event_times.size))
    position = {e: k for k, e in enumerate(event_times)}
    for (g, e), w in zip(zip(cells["_g"], cells["event_time"]), weights):
        aggregated[:, position[e]] += w * scores[(g, e)]
    sums = _cluster_sums(aggregated, cluster_codes, n_clusters)
    n_obs = n * n_periods
    n_coefficients = len(cells) + n_periods
    correction = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - n_coefficients)
    covariance = correction * sums.T @ sums

    post = event_times >= 0
    average_weights = post / max(post.sum(), 1)
    post_estimate = float(estimate.to_numpy() @ average_weights)
    post_se = float(np.sqrt(average_weights @ covariance @ average_weights))
    return SunAbrahamResult(
        cohort_effects=cells.drop(columns="_g").reset_index(drop=True),
        outcome=outcome,
        period_unit=panel.period_unit,
        comparison=comparison,
        n_units=n,
        n_clusters=n_clusters,
        level=level,
        _event_time=event_times.astype(int),
        _estimate=estimate.to_numpy(),
        _covariance=covariance,
        _post_average=(post_estimate, post_se),
    )
