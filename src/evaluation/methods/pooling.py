"""Pooling regional estimates: random-effects meta-analysis with a forest plot.

Each region's run of the workbench gives one estimate (say the log rate ratio of NSAID
prescribing after the topic meeting) with its standard error. A national report combines them
without pretending the regions are identical: the random-effects model lets the true effect
differ between regions with variance tau^2 and reports how much it does (I^2, prediction
interval for a new region).

Model: :math:`y_i = \\mu + u_i + e_i`, :math:`u_i \\sim N(0, \\tau^2)`, :math:`e_i \\sim N(0, v_i)`.

- fixed-effect weights :math:`w_i = 1/v_i`, :math:`\\hat\\mu_{FE} = \\sum w_i y_i / \\sum w_i`;
- Cochran's :math:`Q = \\sum w_i (y_i - \\hat\\mu_{FE})^2` on :math:`k-1` df;
- DerSimonian-Laird
  :math:`\\hat\\tau^2 = \\max\\left(0,
  \\frac{Q - (k-1)}{\\sum w_i - \\sum w_i^2/\\sum w_i}\\right)`;
  REML solves
  :math:`\\tau^2 = \\frac{\\sum w_i^{*2}((y_i-\\hat\\mu)^2 - v_i)}{\\sum w_i^{*2}}
  + \\frac{1}{\\sum w_i^*}`
  by fixed-point iteration (:math:`w^*_i = 1/(v_i+\\tau^2)`);
- :math:`\\hat\\mu = \\sum w^*_i y_i / \\sum w^*_i`, :math:`SE = 1/\\sqrt{\\sum w^*_i}`;
- :math:`I^2 = \\max(0, (Q - (k-1))/Q)`;
- Hartung-Knapp(-Sidik-Jonkman) interval (``ci="hk"``, the default when fewer than 10
  estimates are pooled): :math:`SE_{HK} = SE\\sqrt{q}`,
  :math:`q = \\sum w^*_i (y_i - \\hat\\mu)^2 / (k-1)`, and
  :math:`\\hat\\mu \\pm t_{k-1, 0.975} SE_{HK}` with a t test on :math:`k-1` df (not truncated at
  :math:`q \\geq 1`, as metafor's ``test="knha"``). With few estimates the normal interval is
  too narrow: it ignores that :math:`\\tau^2` is itself estimated from a handful of numbers;
- prediction interval :math:`\\hat\\mu \\pm t_{k-2, 0.975}\\sqrt{\\hat\\tau^2 + SE^2}`
  with the normal interval (Higgins 2009; needs k >= 3), and with :math:`t_{k-1}` and the HK
  standard error with ``ci="hk"`` (as metafor's ``predict`` after ``test="knha"``);
- for log ratios, :meth:`PoolResult.percent_change` back-transforms to
  :math:`100(e^{x} - 1)` % change.

References
----------
DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials 1986;7:177-188.
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med 2002;21:1539-1558.
Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of random-effects meta-analysis.
JRSS A 2009;172:137-159 (the prediction interval).
Hartung J, Knapp G. A refined method for the meta-analysis of controlled clinical trials with
binary outcome. Stat Med 2001;20:3875-3889.
IntHout J, Ioannidis JPA, Borm GF. The Hartung-Knapp-Sidik-Jonkman method for random effects
meta-analysis is straightforward and considerably outperforms the standard DerSimonian-Laird
method. BMC Med Res Methodol 2014;14:25.
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects
model. J Educ Behav Stat 2005;30:261-293 (REML).
"""

from __future__ import annotations

__all__ = [
    "pool",
    "pool_estimates",
    "PoolResult",
    "PooledEstimate",
    "RegionalPoolingResult",
    "REMLConvergenceError",
]

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import EvaluationError, InputError
from evaluation.methods.checks import require_columns
from evaluation.palette import OKABE_ITO

METHODS = ("DL", "REML")
CI_METHODS = ("normal", "hk")
#: below this many estimates the Hartung-Knapp interval is the default (IntHout et al. 2014)
HK_BELOW = 10


class REMLConvergenceError(EvaluationError, RuntimeError):
    """The REML estimate of tau^2 did not converge; DerSimonian-Laird always gives one."""


@dataclass
class PoolResult:
    """A random-effects meta-analysis: the studies with their weights and the pooled estimate.

    Build with :func:`pool`; ``.to_frame()`` the studies and the pooled row, ``.summary()`` the
    pooled estimate and heterogeneity in one row, ``.plot()`` the forest plot.
    """

    studies: pd.DataFrame  # label, estimate, se, ci_low, ci_high, weight_fixed, weight_random
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    tau2: float
    i2: float
    q: float
    q_df: int
    q_p_value: float
    prediction_low: float
    prediction_high: float
    method: str
    level: float
    fixed_estimate: float
    fixed_se: float
    ci: str = "normal"
    df: float = np.inf
    labels: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The studies (one row each, weights in percent) and a final row 'Pooled (random effects)'
        with the pooled estimate, its CI and the prediction interval."""
        pooled = pd.DataFrame(
            [
                {
                    "label": f"Pooled (random effects, {self.method}, {self._ci_name})",
                    "estimate": self.estimate,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "weight_fixed": 100.0,
                    "weight_random": 100.0,
                    "prediction_low": self.prediction_low,
                    "prediction_high": self.prediction_high,
                }
            ]
        )
        return pd.concat([self.studies, pooled], ignore_index=True)

    @property
    def _ci_name(self) -> str:
        return "Hartung-Knapp" if self.ci == "hk" else "normal"

    def summary(self) -> pd.DataFrame:
        """The pooled estimate and the heterogeneity in one row: method, ci (``"normal"`` or
        ``"hk"``), k, estimate, se, ci_low, ci_high, z (a t statistic on ``df`` degrees of
        freedom with ``ci="hk"``), df (infinite for the normal interval), p_value, tau2, tau,
        i2, q, q_df, q_p_value, prediction_low, prediction_high, fixed_estimate, fixed_se."""
        row = {
            "method": self.method,
            "ci": self.ci,
            "k": len(self.studies),
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": float(self.ci_low),
            "ci_high": float(self.ci_high),
            "z": self.z,
            "df": self.df,
            "p_value": self.p_value,
            "tau2": self.tau2,
            "tau": float(np.sqrt(self.tau2)),
            "i2": self.i2,
            "q": self.q,
            "q_df": self.q_df,
            "q_p_value": self.q_p_value,
            "prediction_low": self.prediction_low,
            "prediction_high": self.prediction_high,
            "fixed_estimate": self.fixed_estimate,
            "fixed_se": self.fixed_se,
        }
        return pd.DataFrame([row])

    def percent_change(self) -> pd.DataFrame:
        """The pooled estimate, its interval and the prediction interval as % change, for
        estimates pooled on the log scale (log rate ratios, log odds ratios):
        :math:`100(e^{x} - 1)`. One row: percent_change, ci_low, ci_high, prediction_low,
        prediction_high (a rate ratio of 0.90 is -10%)."""
        values = {
            "percent_change": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "prediction_low": self.prediction_low,
            "prediction_high": self.prediction_high,
        }
        return pd.DataFrame([{k: 100 * float(np.expm1(v)) for k, v in values.items()}])

    def plot(
        self,
        ax=None,
        transform=None,
        x_label: str | None = None,
        title: str | None = None,
        null: float | None = None,
    ):
        """Forest plot: each region's estimate and CI (square sized by its weight), the pooled
        diamond and the prediction interval.

        ``transform`` maps estimates for display, e.g. ``numpy.exp`` to show rate ratios from
        log rate ratios (then the reference line is at 1).
        """

        from evaluation.methods._plotting import new_axes

        show = transform or (lambda v: v)
        if null is None:
            null = float(show(0.0))
        rows = self.studies
        k = len(rows)
        ax = new_axes(ax, figsize=(8, 1.2 + 0.45 * (k + 2)))
        colour = OKABE_ITO["blue"]
        positions = np.arange(k, 0, -1) + 1
        sizes = 40 + 260 * rows["weight_random"].to_numpy() / 100
        ax.hlines(positions, show(rows["ci_low"]), show(rows["ci_high"]), color="#4d4d4d", lw=1.2)
        ax.scatter(show(rows["estimate"]), positions, marker="s", s=sizes, color=colour, zorder=3)
        diamond_x = [
            show(self.ci_low),
            show(self.estimate),
            show(self.ci_high),
            show(self.estimate),
        ]
        ax.fill(diamond_x, [0.5, 0.75, 0.5, 0.25], color="black", zorder=3)
        ax.hlines(
            0.5,
            show(self.prediction_low),
            show(self.prediction_high),
            color="black",
            lw=1,
            ls=":",
            label=f"Prediction interval for a new region ({self.level * 100:g}%)",
        )
        ax.axvline(null, color="#9a9a9a", lw=1, ls="--")
        labels = list(rows["label"].astype(str)) + [f"Pooled ({self.method}, {self._ci_name})"]
        ax.set_yticks(list(positions) + [0.5], labels)
        ax.set_ylim(-0.2, k + 1.8)
        ax.set_xlabel(x_label or self.labels.get("x") or "Estimate")
        heterogeneity = (
            f"I² = {self.i2 * 100:.0f}%, τ² = {self.tau2:.3g}, Q = {self.q:.2f} "
            f"(p = {self.q_p_value:.2g})"
        )
        ax.set_title(title or self.labels.get("title") or heterogeneity, fontsize=10)
        if title or self.labels.get("title"):
            # anchored below the axis label (not at a fixed axes fraction, which a two-line or
            # large label overprinted): x from the axes' left edge, y from the label's bottom
            ax.annotate(
                heterogeneity,
                xy=(0.0, 0.0),
                xycoords=("axes fraction", ax.xaxis.label),
                xytext=(0, -4),
                textcoords="offset points",
                va="top",
                ha="left",
                fontsize=8,
            )
        ax.legend(fontsize=8, loc="upper right")
        return ax


def _reml_tau2(
    y: np.ndarray, v: np.ndarray, start: float, tol: float = 1e-12, max_iter: int = 1000
) -> float:
    tau2 = max(start, 0.0)
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        new = max(0.0, np.sum(w**2 * ((y - mu) ** 2 - v)) / np.sum(w**2) + 1 / np.sum(w))
        if abs(new - tau2) < tol * max(1.0, tau2):
            return float(new)
        tau2 = new
    raise REMLConvergenceError(f"REML did not converge in {max_iter} iterations; try method='DL'")


def pool(
    data: pd.DataFrame,
    estimate: str = "estimate",
    se: str = "se",
    label: str | None = "region",
    method: str = "DL",
    level: float = 0.95,
    x_label: str | None = None,
    title: str | None = None,
    ci: str | None = None,
) -> PoolResult:
    """Random-effects meta-analysis of k estimates (e.g. the five regions' log rate ratios).

    Parameters
    ----------
    data : DataFrame
        One row per study/region.
    estimate, se : str
        Columns with the estimate (on a scale where it is roughly normal: log rate ratios, not
        rate ratios) and its standard error (> 0).
    label : str, optional
        Column naming each row (default "region"); the index is used if None or absent.
    method : {"DL", "REML"}
        Between-region variance estimator: DerSimonian-Laird (default) or restricted maximum
        likelihood.
    level : float
        Coverage of the confidence and prediction intervals.
    ci : {"normal", "hk", None}
        Interval for the pooled estimate: normal (z) or Hartung-Knapp(-Sidik-Jonkman), a t
        interval on k - 1 df with a variance rescaled by the spread of the estimates. Default
        (None): ``"hk"`` when fewer than 10 estimates are pooled, else ``"normal"``; with five
        regions the normal interval is too narrow because it treats the estimated tau^2 as
        known.

    Returns
    -------
    :class:`PoolResult` with ``.to_frame()``, ``.summary()`` (tau2, I2, Q, prediction interval),
    ``.percent_change()`` (for log ratios) and ``.plot()`` (forest plot).

    Raises
    ------
    InputError for fewer than 2 estimates, a missing or non-finite value, a standard error <= 0,
    or an unknown method/ci.

    References
    ----------
    DerSimonian R, Laird N. Control Clin Trials 1986;7:177-188.
    Hartung J, Knapp G. Stat Med 2001;20:3875-3889.
    Higgins JPT, Thompson SG, Spiegelhalter DJ. JRSS A 2009;172:137-159.
    Viechtbauer W. J Stat Softw 2010;36(3) (metafor; ``rma(..., test="knha")``).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods import pool
    >>> regions = pd.DataFrame({"region": ["Hovedstaden", "Sjælland", "Syddanmark",
    ...                                    "Midtjylland", "Nordjylland"],
    ...                         "log_rr": [-0.12, -0.05, -0.10, -0.16, -0.02],
    ...                         "se": [0.03, 0.05, 0.04, 0.04, 0.06]})
    >>> result = pool(regions, estimate="log_rr", se="se")
    >>> result.summary()[["ci", "estimate", "ci_low", "ci_high", "tau2", "i2"]].round(4)
       ci  estimate  ci_low  ci_high    tau2      i2
    0  hk   -0.1026 -0.1642  -0.0409  0.0006  0.2553
    >>> result.percent_change()[["percent_change", "ci_low", "ci_high"]].round(1)
       percent_change  ci_low  ci_high
    0            -9.7   -15.1     -4.0
    """
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}; got {method!r}")
    if ci is not None and ci not in CI_METHODS:
        raise InputError(f"ci must be one of {CI_METHODS} or None (automatic); got {ci!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1; got {level!r}")
    require_columns(data, [estimate, se], "pool: data")
    y = pd.to_numeric(data[estimate], errors="coerce").to_numpy(dtype=float)
    s = pd.to_numeric(data[se], errors="coerce").to_numpy(dtype=float)
    names = (
        data[label].astype(str).to_numpy()
        if label and label in data.columns
        else data.index.astype(str).to_numpy()
    )
    for values, column in ((y, estimate), (s, se)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(f"pool: {column!r} is missing or not finite for {names[bad][0]!r}")
    if (s <= 0).any():
        raise InputError(
            f"pool: standard error {se!r} must be > 0; {names[s <= 0][0]!r} has {s[s <= 0][0]!r}"
        )
    k = len(y)
    if k < 2:
        raise InputError(f"pool: needs at least 2 estimates to pool; got {k}")
    v = s**2
    w = 1 / v
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    tau2_dl = max(0.0, (q - (k - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    tau2 = tau2_dl if method == "DL" else _reml_tau2(y, v, tau2_dl)
    w_random = 1 / (v + tau2)
    mu = float(np.sum(w_random * y) / np.sum(w_random))
    se_mu = float(1 / np.sqrt(np.sum(w_random)))
    z_crit = stats.norm.ppf(1 - (1 - level) / 2)
    if ci is None:
        ci = "hk" if k < HK_BELOW else "normal"
    if ci == "hk":
        # not truncated at 1 (metafor's test="knha"): a small spread narrows the interval too
        spread = float(np.sum(w_random * (y - mu) ** 2) / (k - 1))
        se_pooled = se_mu * np.sqrt(spread)
        df = float(k - 1)
        crit = stats.t.ppf(1 - (1 - level) / 2, df)
        prediction_df = k - 1
    else:
        se_pooled, df, crit, prediction_df = se_mu, np.inf, z_crit, k - 2
    if prediction_df >= 1:
        half = stats.t.ppf(1 - (1 - level) / 2, prediction_df) * np.sqrt(tau2 + se_pooled**2)
        prediction = (mu - half, mu + half)
    else:
        # t on k - 2 = 0 df: a new region could be anywhere; say so rather than print a number
        warnings.warn(
            "pool: with 2 estimates the prediction interval is undefined (t on 0 df); it is NaN",
            stacklevel=2,
        )
        prediction = (np.nan, np.nan)
    studies = pd.DataFrame(
        {
            "label": names,
            "estimate": y,
            "se": s,
            "ci_low": y - z_crit * s,
            "ci_high": y + z_crit * s,
            "weight_fixed": 100 * w / w.sum(),
            "weight_random": 100 * w_random / w_random.sum(),
        }
    )
    z = mu / se_pooled
    p_value = stats.norm.sf(abs(z)) if ci == "normal" else stats.t.sf(abs(z), df)
    return PoolResult(
        studies=studies,
        estimate=mu,
        se=float(se_pooled),
        ci_low=float(mu - crit * se_pooled),
        ci_high=float(mu + crit * se_pooled),
        z=float(z),
        p_value=float(2 * p_value),
        tau2=float(tau2),
        i2=float(max(0.0, (q - (k - 1)) / q)) if q > 0 else 0.0,
        q=q,
        q_df=k - 1,
        q_p_value=float(stats.chi2.sf(q, k - 1)),
        prediction_low=float(prediction[0]),
        prediction_high=float(prediction[1]),
        method=method,
        level=level,
        fixed_estimate=fixed,
        fixed_se=float(1 / np.sqrt(w.sum())),
        ci=ci,
        df=df,
        labels={"x": x_label, "title": title},
    )


# ---------------------------------------------------------------------------------------------
# every recorded estimate of a batch run, pooled across the regions
# ---------------------------------------------------------------------------------------------

#: the columns a table of recorded estimates needs (``evaluation.batch.record.read_estimates``)
ESTIMATE_COLUMNS = ("notebook", "name", "estimate", "se")
#: variations of a run (``--sweep``) that split one recorded estimate into several poolings
SWEEP_COLUMNS = ("indicator", "topic")
#: the pooled figures each estimate's row carries
POOLED_COLUMNS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "tau2",
    "i2",
    "prediction_low",
    "prediction_high",
)


@dataclass
class PooledEstimate:
    """One recorded estimate across the regions: its regional rows and, with at least
    ``min_regions`` of them, the random-effects pooling (else ``pooled`` is None and ``note``
    says why)."""

    notebook: str
    name: str
    label: str
    title: str
    sweep: dict
    regions: pd.DataFrame  # region, estimate, ci_low, ci_high, se, n
    pooled: PoolResult | None
    note: str = ""


@dataclass
class RegionalPoolingResult:
    """Every recorded estimate of a run, pooled across its regions. Build with
    :func:`pool_estimates`.

    ``.estimates`` one :class:`PooledEstimate` per estimate (and sweep value), in name order;
    ``.to_frame()`` one row each; ``.summary()`` the same, keeping only those pooled;
    ``.plot(i)`` the forest plot of the i-th.
    """

    estimates: list[PooledEstimate]
    level: float

    def to_frame(self) -> pd.DataFrame:
        """One row per recorded estimate: notebook, name, label, the sweep columns, k (regions),
        estimate, se, ci_low, ci_high, p_value, tau2, i2, prediction_low, prediction_high, note
        (the pooled figures are missing where fewer than two regions recorded it)."""
        columns = [
            "notebook",
            "name",
            "label",
            *SWEEP_COLUMNS,
            "k",
            *POOLED_COLUMNS,
            "note",
        ]
        rows = []
        for item in self.estimates:
            row = {"notebook": item.notebook, "name": item.name, "label": item.label}
            row.update(item.sweep)
            row["k"] = len(item.regions)
            row["note"] = item.note
            if item.pooled is not None:
                summary = item.pooled.summary().iloc[0]
                row.update({c: summary[c] for c in POOLED_COLUMNS})
            rows.append(row)
        return pd.DataFrame(rows).reindex(columns=columns)

    def summary(self) -> pd.DataFrame:
        """:meth:`to_frame` of the estimates that could be pooled."""
        frame = self.to_frame()
        return frame[frame["estimate"].notna()].reset_index(drop=True)

    def plot(self, which: int = 0, ax=None):
        """The forest plot of the ``which``-th pooled estimate, titled and labelled with it."""
        item = self.estimates[which]
        if item.pooled is None:
            raise InputError(f"{item.title}: {item.note}")
        return item.pooled.plot(ax=ax, x_label=item.label, title=item.title)


def pool_estimates(
    estimates: pd.DataFrame,
    *,
    notebooks: Iterable[str] | None = None,
    region_names: Mapping[str, str] | None = None,
    min_regions: int = 2,
    method: str = "DL",
    level: float = 0.95,
    ci: str | None = None,
) -> RegionalPoolingResult:
    """Pool every estimate the region notebooks of a run recorded, one pooling per estimate.

    Rows of ``estimates`` (as ``evaluation.batch.record.read_estimates`` gives them: notebook,
    name, estimate, se and optionally label, region, ci_low, ci_high, n, indicator, topic) are
    grouped by notebook and name, and - where a sweep varied them - by indicator and topic;
    each group's regions are pooled by :func:`pool` (random effects).

    Parameters
    ----------
    estimates : the recorded estimates, one row per region and estimate.
    notebooks : keep only these notebooks' rows (e.g. the region notebooks of the run).
    region_names : region slug -> name for the tables (default the catalogue's names).
    min_regions : fewest regions to pool; a group with fewer is listed with a note.
    method, level, ci : as :func:`pool` (Hartung-Knapp by default below 10 regions).

    Returns
    -------
    :class:`RegionalPoolingResult`.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods import pool_estimates
    >>> recorded = pd.DataFrame({
    ...     "notebook": "01_prescribing_impact", "name": "att", "label": "Change in DDD",
    ...     "region": ["hovedstaden", "sjaelland", "syddanmark"],
    ...     "estimate": [-0.40, -0.25, -0.31], "se": [0.10, 0.12, 0.09]})
    >>> national = pool_estimates(recorded)
    >>> national.to_frame()[["name", "k", "estimate", "ci_low", "ci_high"]].round(3)
      name  k  estimate  ci_low  ci_high
    0  att  3    -0.327  -0.503    -0.15
    >>> national.estimates[0].title
    'Change in DDD (01_prescribing_impact)'
    """
    from evaluation.data.catalogue import REGION_NAMES

    where = "pool_estimates: estimates"
    require_columns(estimates, ESTIMATE_COLUMNS, where)
    if min_regions < 2:
        raise InputError(f"min_regions must be at least 2 (pooling needs two); got {min_regions}")
    rows = estimates
    if notebooks is not None:
        rows = rows[rows["notebook"].isin(set(notebooks))]
    rows = rows.copy()
    names = REGION_NAMES if region_names is None else region_names
    if "region" in rows.columns:
        rows["region_name"] = rows["region"].map(names).fillna(rows["region"])
    else:
        rows["region_name"] = rows.index.astype(str)
    for column in ("label", "ci_low", "ci_high", "n"):
        if column not in rows.columns:
            rows[column] = np.nan
    results = []
    for (notebook, name), group in rows.groupby(["notebook", "name"], sort=True):
        label = group["label"].dropna().iloc[0] if group["label"].notna().any() else name
        keys = [c for c in SWEEP_COLUMNS if c in group.columns and group[c].nunique() > 1]
        parts = group.groupby(keys) if keys else [((), group)]
        for values, part in parts:
            values = values if isinstance(values, tuple) else (values,)
            sweep = dict(zip(keys, values))
            title = f"{label} ({notebook})" + (f", {', '.join(map(str, values))}" if keys else "")
            regions = part[["region_name", "estimate", "ci_low", "ci_high", "se", "n"]].rename(
                columns={"region_name": "region"}
            )
            pooled, note = None, ""
            if len(part) >= min_regions:
                pooled = pool(
                    pd.DataFrame(
                        {
                            "region": part["region_name"],
                            "estimate": part["estimate"],
                            "se": part["se"],
                        }
                    ),
                    estimate="estimate",
                    se="se",
                    label="region",
                    method=method,
                    level=level,
                    ci=ci,
                )
            else:
                note = (
                    f"only {len(part)} region(s) recorded it; pooling needs at least {min_regions}"
                )
            results.append(
                PooledEstimate(
                    notebook=str(notebook),
                    name=str(name),
                    label=str(label),
                    title=title,
                    sweep=sweep,
                    regions=regions.reset_index(drop=True),
                    pooled=pooled,
                    note=note,
                )
            )
    return RegionalPoolingResult(results, level)
