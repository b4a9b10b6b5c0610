"""Staggered difference-in-differences (Callaway & Sant'Anna 2021) and a TWFE event study.

Clusters take up a topic at different dates, so clinics form *cohorts* by the month their
cluster first met on it. :func:`staggered_did` estimates every group-time effect ATT(g,t)
(cohort g in period t against never-treated or not-yet-treated clinics), then aggregates them
the way the question needs (:meth:`StaggeredDiDResult.aggregate`): one number, an event study,
per cohort or per calendar period - the two-step design of R's ``did`` (``att_gt``/``aggte``).

The estimator is implemented here on numpy and pinned to R ``did`` on mpdta (within 1e-6);
diff-diff cross-checks it in the tests. Why not an engine directly, with the measurements:
docs/decisions/0010-staggered-did-on-numpy.md.

Inference follows R ``did``: analytic standard errors from the influence functions, or a
Rademacher multiplier bootstrap (``bootstrap=999``) whose SE is the bootstrap IQR / 1.349 and
whose uniform (sup-t) bands cover all estimates of a table at once. With ``cluster=`` both
analytic and bootstrap inference sum the influence functions within clusters (Liang-Zeger);
R ``did`` averages them within clusters instead, which is the same for equal cluster sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import InputError
from evaluation.methods.checks import (
    require_columns,
    require_complete_panel,
    require_frame,
    require_unique,
)
from evaluation.methods.inference import normal_interval

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "staggered_did",
    "StaggeredDiDResult",
    "twfe_event_study",
    "TWFEEventStudyResult",
    "DiDInputError",
]

_CONTROL_GROUPS = {
    "never": "never",
    "never_treated": "never",
    "nevertreated": "never",
    "notyet": "notyet",
    "not_yet_treated": "notyet",
    "notyettreated": "notyet",
}
_METHODS = ("dr", "ipw", "reg")
_KINDS = ("simple", "dynamic", "group", "calendar")
_BASE_PERIODS = ("varying", "universal")
_LEVEL_COLUMN = {"dynamic": "event_time", "group": "cohort", "calendar": "time"}


class DiDInputError(InputError):
    """The data cannot be analysed as asked; the message says which column or rows and what to do.

    An :class:`evaluation.errors.InputError` (so an ``EvaluationError`` and a ``ValueError``).
    """


# --------------------------------------------------------------------------------------------
# input: a balanced panel as matrices
# --------------------------------------------------------------------------------------------


@dataclass
class _Panel:
    units: np.ndarray  # unit ids, sorted
    periods: pd.Index  # sorted period labels (as in the data)
    y: np.ndarray  # n x T outcome
    cohort_pos: np.ndarray  # n, position of first treated period; -1 = never treated
    cohort_label: dict[int, object]  # position -> label as the user wrote it
    x: np.ndarray | None  # n x T x k covariates (None without covariates)
    cluster: np.ndarray | None  # n cluster codes
    period_unit: str  # "month", "quarter", "year" or "period": for axis labels


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series) or (
        series.dtype == object
        and len(series) > 0
        and hasattr(series.iloc[0], "year")
        and not isinstance(series.iloc[0], (int, float, np.integer, np.floating))
    )


def _period_unit(periods: pd.Index) -> str:
    if isinstance(periods, pd.DatetimeIndex) and len(periods) > 1:
        gaps = np.diff(periods.to_period("M").astype("int64"))
        step = int(np.median(gaps))
        return {1: "month", 3: "quarter", 12: "year"}.get(step, "period")
    return "period"


def _prepare(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None,
    cluster: str | None,
    where: str = "staggered_did: data",
) -> _Panel:
    require_frame(data, where)
    covariates = list(covariates or [])
    needed = [outcome, unit, time, cohort, *covariates, cluster]
    require_columns(data, needed, where)
    frame = data[[c for c in dict.fromkeys(needed) if c is not None]].copy()
    for col in [outcome, *covariates]:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise DiDInputError(
                f"{where}: column {col!r} must be numeric, got dtype {frame[col].dtype}"
            )
        bad = frame[col].isna() | ~np.isfinite(frame[col].astype(float))
        if bad.any():
            rows = frame.index[bad][:5].tolist()
            raise DiDInputError(
                f"{where}: column {col!r} has {int(bad.sum())} missing or infinite value(s) "
                f"(first rows {rows}); drop or impute them before estimating."
            )
    time_is_date = _is_datetime(frame[time])
    if time_is_date:
        frame[time] = pd.to_datetime(frame[time])
    require_unique(
        frame,
        [unit, time],
        where,
        what=f"one row per {unit} and {time} (a panel)",
        hint="aggregate first (e.g. sum DDD per clinic-month)",
        error=DiDInputError,
    )
    periods = require_complete_panel(frame, unit, time, where, error=DiDInputError)
    if time_is_date:
        periods = pd.DatetimeIndex(periods)
    n_periods = len(periods)
    if n_periods < 2:
        raise DiDInputError(f"{where}: need at least two periods in {time!r}, found {n_periods}")
    units = np.sort(frame[unit].unique())

    per_unit = frame.groupby(unit, sort=True)[cohort].nunique(dropna=False)
    if (per_unit > 1).any():
        raise DiDInputError(
            f"{where}: cohort column {cohort!r} varies within unit "
            f"{per_unit[per_unit > 1].index[0]!r}; a unit's cohort is the first period it is "
            "treated and must be the same on all its rows."
        )
    frame = frame.sort_values([unit, time], kind="stable")
    n = len(units)
    y = frame[outcome].to_numpy(dtype=float).reshape(n, n_periods)
    cohort_values = frame.groupby(unit, sort=True)[cohort].first()
    cohort_pos, labels = _cohort_positions(cohort_values, periods, time_is_date, cohort, time)
    x = None
    if covariates:
        x = frame[covariates].to_numpy(dtype=float).reshape(n, n_periods, len(covariates))
    cluster_codes = None
    if cluster:
        per_unit_cluster = frame.groupby(unit, sort=True)[cluster].nunique(dropna=False)
        if (per_unit_cluster > 1).any():
            varies = per_unit_cluster[per_unit_cluster > 1].index[0]
            raise DiDInputError(
                f"{where}: cluster column {cluster!r} varies within unit {varies!r}; "
                "units must nest in clusters (a clinic belongs to one cluster)."
            )
        cl = frame.groupby(unit, sort=True)[cluster].first()
        if cl.isna().any():
            raise DiDInputError(
                f"cluster column {cluster!r} is missing for {int(cl.isna().sum())} unit(s)"
            )
        cluster_codes = pd.factorize(cl)[0]
    return _Panel(units, periods, y, cohort_pos, labels, x, cluster_codes, _period_unit(periods))


def _cohort_positions(
    values: pd.Series, periods: pd.Index, time_is_date: bool, cohort: str, time: str
):
    """Map each unit's cohort to the position of its first treated period (-1 = never)."""
    raw = values
    never = raw.isna() | (raw.astype(str).isin(["0", "0.0", "NaT"]))
    if time_is_date:
        as_date = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        treated = raw[~never]
        if len(treated):
            if pd.api.types.is_numeric_dtype(treated):
                # The panel builder writes cohorts as YYYYMM integers next to a monthly date column.
                ints = treated.astype(int)
                as_date[~never] = pd.to_datetime(
                    {"year": ints // 100, "month": ints % 100, "day": 1}
                ).to_numpy()
            else:
                as_date[~never] = pd.to_datetime(treated).to_numpy()
        key = as_date
    else:
        key = raw.where(~never)
    labels: dict[int, object] = {}
    pos = np.full(len(raw), -1, dtype=int)
    lookup = {v: i for i, v in enumerate(periods)}
    first, last = periods[0], periods[-1]
    problems = []
    for value, idx in pd.Series(np.arange(len(raw)), index=key.to_numpy())[
        ~never.to_numpy()
    ].groupby(level=0):
        p = lookup.get(value)
        label = raw.iloc[idx.to_numpy()[0]]
        if p is None:
            where = (
                "after the last"
                if value > last
                else "before the first"
                if value < first
                else "between"
            )
            problems.append(
                f"cohort {label!r} ({len(idx)} unit(s)) starts {where} period of the data "
                f"({first!s} .. {last!s})"
                if where != "between"
                else f"cohort {label!r} ({len(idx)} unit(s)) is not one of the periods in {time!r}"
            )
            continue
        if p == 0:
            problems.append(
                f"cohort {label!r} ({len(idx)} unit(s)) is treated in the first period, so it "
                "has no pre-treatment period to compare"
            )
            continue
        pos[idx.to_numpy()] = p
        labels[p] = label
    if problems:
        raise DiDInputError(
            "treatment date(s) outside the data: "
            + "; ".join(problems)
            + f". Code units untreated within "
            f"the data as cohort 0 in {cohort!r}, or drop units treated before the data begin."
        )
    if not labels:
        raise DiDInputError(
            f"no treated units: every unit has cohort 0 (never treated) in {cohort!r}"
        )
    return pos, labels


# --------------------------------------------------------------------------------------------
# the 2x2 building blocks (Sant'Anna & Zhao 2020, as R DRDID computes them)
# --------------------------------------------------------------------------------------------


def _logit(d: np.ndarray, x: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Propensity score by Newton-Raphson; returns fitted probabilities and the inverse Hessian."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        w = p * (1.0 - p)
        hess = (x * w[:, None]).T @ x
        step = np.linalg.solve(hess, x.T @ (d - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    else:
        raise DiDInputError(
            f"propensity score did not converge for {where}: covariates may separate "
            "treated from comparison units; use fewer covariates or method='reg'"
        )
    p = 1.0 / (1.0 + np.exp(-(x @ beta)))
    w = p * (1.0 - p)
    return p, np.linalg.inv((x * w[:, None]).T @ x)


def _two_by_two(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, method: str, where: str
) -> tuple[float, np.ndarray]:
    """ATT and its influence function (length n, in the subsample) for one cohort-period cell."""
    n = len(dy)
    ctrl = 1.0 - d
    if method in ("reg", "dr"):
        xc = x[ctrl == 1]
        xtx = xc.T @ xc
        if np.linalg.matrix_rank(xtx) < x.shape[1]:
            raise DiDInputError(
                f"outcome regression is singular for {where}: a covariate does not vary "
                "among comparison units"
            )
        beta = np.linalg.solve(xtx, xc.T @ dy[ctrl == 1])
        out_delta = x @ beta
        xpx_inv = np.linalg.inv((x * ctrl[:, None]).T @ x / n)
        lin_rep_ols = (ctrl * (dy - out_delta))[:, None] * x @ xpx_inv
    if method in ("ipw", "dr"):
        ps, hess_inv = _logit(d, x, where)
        ps = np.minimum(ps, 1 - 1e-6)
        trim = np.where(d == 1, ps < 1.01, ps < 0.995)  # R DRDID's trimming of extreme controls
        lin_rep_ps = ((d - ps)[:, None] * x) @ (hess_inv * n)
        w_cont = trim * ps * ctrl / (1 - ps)
    w_treat = d
    mean_wt = w_treat.mean()
    if method == "reg":
        treat_part = w_treat * dy
        cont_part = w_treat * out_delta
        eta_t, eta_c = treat_part.mean() / mean_wt, cont_part.mean() / mean_wt
        inf_treat = (treat_part - w_treat * eta_t) / mean_wt
        m1 = (w_treat[:, None] * x).mean(axis=0)
        inf_control = (cont_part - w_treat * eta_c + lin_rep_ols @ m1) / mean_wt
        return eta_t - eta_c, inf_treat - inf_control
    mean_wc = w_cont.mean()
    if mean_wc <= 0:
        raise DiDInputError(f"no comparison units keep a usable propensity score in {where}")
    if method == "ipw":
        treat_part, cont_part = w_treat * dy, w_cont * dy
        eta_t, eta_c = treat_part.mean() / mean_wt, cont_part.mean() / mean_wc
        inf_treat = (treat_part - w_treat * eta_t) / mean_wt
        m2 = ((w_cont * (dy - eta_c))[:, None] * x).mean(axis=0)
        inf_control = (cont_part - w_cont * eta_c + lin_rep_ps @ m2) / mean_wc
        return eta_t - eta_c, inf_treat - inf_control
    resid = dy - out_delta
    treat_part, cont_part = w_treat * resid, w_cont * resid
    eta_t, eta_c = treat_part.mean() / mean_wt, cont_part.mean() / mean_wc
    m1 = (w_treat[:, None] * x).mean(axis=0)
    inf_treat = (treat_part - w_treat * eta_t - lin_rep_ols @ m1) / mean_wt
    m2 = ((w_cont * (resid - eta_c))[:, None] * x).mean(axis=0)
    m3 = (w_cont[:, None] * x).mean(axis=0)
    inf_control = (cont_part - w_cont * eta_c + lin_rep_ps @ m2 - lin_rep_ols @ m3) / mean_wc
    return eta_t - eta_c, inf_treat - inf_control


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass
class StaggeredDiDResult:
    """Group-time effects and their aggregations. Build with :func:`staggered_did`."""

    att_gt: pd.DataFrame
    outcome: str
    control_group: str
    method: str
    level: float
    bootstrap: int
    n_units: int
    n_clusters: int | None
    period_unit: str
    # Influence functions summed within the units of inference ("blocks"): clusters with cluster=,
    # else units. m x K; every standard error, band and test is a function of these sums.
    _blocks: np.ndarray = field(repr=False)
    _block_groups: np.ndarray = field(
        repr=False
    )  # m x groups: units of each cohort group per block
    _group_pos: np.ndarray = field(repr=False)  # groups: -1 (never treated) then cohort positions
    _cohort_pos: np.ndarray = field(repr=False)
    _cells: pd.DataFrame = field(repr=False)  # cohort_pos, time_pos per cell
    _labels: dict = field(repr=False)
    _periods: pd.Index = field(repr=False)
    _seed: int | None = field(repr=False, default=None)
    _draws: np.ndarray | None = field(repr=False, default=None)
    _cache: dict = field(repr=False, default_factory=dict)
    #: "varying" (pre-treatment effects are period-on-period changes) or "universal" (every
    #: effect is measured from the period before the cohort's first treated period)
    base_period: str = "varying"

    # --- inference -------------------------------------------------------------------------
    def _multipliers(self) -> np.ndarray:
        if self._draws is None:
            rng = np.random.default_rng(self._seed)
            m = self._blocks.shape[0]
            self._draws = rng.choice(np.array([-1.0, 1.0]), size=(self.bootstrap, m))
        return self._draws

    def _inference(self, estimates: np.ndarray, inf: np.ndarray) -> pd.DataFrame:
        """SE, pointwise CI and (with bootstrap) a uniform band for a family of estimates."""
        n = self.n_units
        sums = inf
        se_analytic = np.sqrt((sums**2).sum(axis=0)) / n
        out = pd.DataFrame({"att": estimates})
        if self.bootstrap:
            draws = self._multipliers() @ sums / n  # B x K deviations of the estimates
            q25, q75 = np.quantile(draws, [0.25, 0.75], axis=0, method="inverted_cdf")
            se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
            ok = se > np.sqrt(np.finfo(float).eps) * 10
            sup_t = np.max(np.abs(draws[:, ok] / se[ok]), axis=1) if ok.any() else np.zeros(1)
            crit = float(np.quantile(sup_t, self.level, method="inverted_cdf"))
            out["se"] = se
        else:
            out["se"] = se_analytic
        # A universal base period's reference cells are zero by construction: R did gives them no
        # standard error (NA) rather than a zero that would read as infinite precision.
        out.loc[~(np.abs(inf).sum(axis=0) > 0), "se"] = np.nan
        # the vocabulary's order: estimate, se, ci_low, ci_high, p_value, then the extras
        out["ci_low"], out["ci_high"], out["p_value"] = normal_interval(
            out["att"], out["se"], self.level
        )
        if self.bootstrap:
            out["se_analytic"] = se_analytic
            out["band_low"] = out["att"] - crit * out["se"]
            out["band_high"] = out["att"] + crit * out["se"]
            out.attrs["critical_value"] = crit
        return out

    # --- aggregation -----------------------------------------------------------------------
    def _wif_times(self, groups: np.ndarray, pg: np.ndarray, estimates: np.ndarray) -> np.ndarray:
        """Influence of estimating the cohort-share weights (R did's ``wif``) times the estimates.

        R builds the n x m matrix ``wif`` with columns :math:`(1[G=g_k] - p_k)/\\sum p -
        \\sum_j (1[G=g_j] - p_j) p_k / (\\sum p)^2` and multiplies it by the m estimates; the
        product depends on a unit only through its cohort, so it is computed per cohort and
        summed per block.
        """
        total = pg.sum()
        index = np.searchsorted(self._group_pos, groups)
        own_sum = np.bincount(index, weights=estimates, minlength=len(self._group_pos))
        own_count = np.bincount(index, minlength=len(self._group_pos))
        pa = pg @ estimates
        per_group = (own_sum - pa) / total - (own_count - total) * pa / total**2
        return self._block_groups @ per_group

    def _aggregate_parts(self, kind: str):
        if kind in self._cache:
            return self._cache[kind]
        cells = self._cells
        att = self.att_gt["att"].to_numpy()
        inf = self._blocks
        g, t = cells["cohort_pos"].to_numpy(), cells["time_pos"].to_numpy()
        shares = {p: np.mean(self._cohort_pos == p) for p in np.unique(g)}
        pg = np.array([shares[p] for p in g])
        levels, estimates, columns = [], [], []
        if kind == "simple":
            keep = np.flatnonzero(t >= g)
            w = pg[keep] / pg[keep].sum()
            estimate = att[keep] @ w
            col = inf[:, keep] @ w + self._wif_times(g[keep], pg[keep], att[keep])
            overall = (estimate, col)
        elif kind == "group":
            group_pos = np.unique(g)
            for p in group_pos:
                keep = np.flatnonzero((g == p) & (t >= p))
                levels.append(self._labels[p])
                estimates.append(att[keep].mean())
                columns.append(inf[:, keep].mean(axis=1))
            est = np.array(estimates)
            cols = np.column_stack(columns)
            pgg = np.array([shares[p] for p in group_pos])
            w = pgg / pgg.sum()
            overall = (est @ w, cols @ w + self._wif_times(group_pos, pgg, est))
        elif kind == "dynamic":
            e = t - g
            for k in np.unique(e):
                keep = np.flatnonzero(e == k)
                w = pg[keep] / pg[keep].sum()
                levels.append(int(k))
                estimates.append(att[keep] @ w)
                columns.append(inf[:, keep] @ w + self._wif_times(g[keep], pg[keep], att[keep]))
            est = np.array(estimates)
            cols = np.column_stack(columns)
            post = np.array(levels) >= 0
            overall = (est[post].mean(), cols[:, post].mean(axis=1))
        elif kind == "calendar":
            for p in np.unique(t[t >= g.min()]):
                keep = np.flatnonzero((t == p) & (g <= p))
                w = pg[keep] / pg[keep].sum()
                levels.append(self._periods[p])
                estimates.append(att[keep] @ w)
                columns.append(inf[:, keep] @ w + self._wif_times(g[keep], pg[keep], att[keep]))
            est = np.array(estimates)
            cols = np.column_stack(columns)
            overall = (est.mean(), cols.mean(axis=1))
        else:
            raise InputError(f"unknown aggregation {kind!r}; expected one of {', '.join(_KINDS)}")
        if kind == "simple":
            parts = (None, None, None, overall)
        else:
            parts = (levels, est, cols, overall)
        self._cache[kind] = parts
        return parts

    def aggregate(
        self, kind: Literal["simple", "dynamic", "group", "calendar"] = "simple"
    ) -> pd.DataFrame:
        """Aggregate ATT(g,t) into one number, an event study, per cohort or per calendar period.

        Parameters
        ----------
        kind : "simple" (average over all treated unit-periods), "dynamic" (by event time: periods
            since the cohort's first treated period; negative = before), "group" (per cohort,
            averaged over its post periods) or "calendar" (per period, over cohorts treated by
            then).

        Returns
        -------
        DataFrame with the level column (``event_time``, ``cohort`` or ``time``; none for
        "simple"), ``att``, ``se``, ``ci_low``, ``ci_high``, ``p_value`` and, with bootstrap,
        ``se_analytic`` and the uniform band ``band_low``/``band_high``. The overall summary of
        a dynamic, group or calendar aggregation (R ``aggte``'s ``overall.att``) is in
        ``frame.attrs["overall"]`` and :meth:`overall`.

        Notes
        -----
        Weights as in Callaway & Sant'Anna (2021, sec. 3): with cohort shares
        :math:`P(G=g)`, simple :math:`\\theta = \\sum_{g,t\\ge g} P(G=g) ATT(g,t) / \\sum P(G=g)`;
        dynamic :math:`\\theta(e) = \\sum_g P(G=g|G+e \\le T) ATT(g,g+e)`; group
        :math:`\\theta(g) = \\frac{1}{T-g+1}\\sum_{t\\ge g} ATT(g,t)`; calendar
        :math:`\\theta(t) = \\sum_{g\\le t} P(G=g|G\\le t) ATT(g,t)`. Standard errors include the
        estimation of the cohort-share weights, as R ``did::aggte``.
        """
        if kind not in _KINDS:
            raise InputError(f"unknown aggregation {kind!r}; expected one of {', '.join(_KINDS)}")
        levels, est, cols, (overall_est, overall_col) = self._aggregate_parts(kind)
        overall_frame = self._inference(np.array([overall_est]), overall_col[:, None])
        overall = overall_frame.iloc[0].to_dict()
        if kind == "simple":
            frame = overall_frame
        else:
            frame = self._inference(est, cols)
            frame.insert(0, _LEVEL_COLUMN[kind], levels)
        frame.attrs["overall"] = overall
        frame.attrs["kind"] = kind
        return frame

    def overall(self, kind: str = "simple") -> pd.DataFrame:
        """The one-number summary of an aggregation (R ``aggte``'s overall.att / overall.se)."""
        row = self.aggregate(kind).attrs["overall"]
        return pd.DataFrame([{"kind": kind, **row}])

    def pretrend_test(
        self, leads: int | None = None, by: Literal["event_time", "cell"] = "event_time"
    ) -> pd.DataFrame:
        """Wald test that the effects before treatment are all zero (parallel pre-trends).

        :math:`W = \\hat\\theta_{pre}' \\hat V_{pre}^{-1} \\hat\\theta_{pre} \\sim \\chi^2_{k}`,
        with :math:`\\hat V` from the (cluster-summed) influence functions. ``by="event_time"``
        (default) tests the event-study estimates at event times -1, -2, ... (``leads`` of them;
        all if None); ``by="cell"`` tests every pre-treatment ATT(g,t), as R ``did`` does. With
        ``base_period="universal"`` the reference period -1 (zero by construction) is left out
        and ``leads`` counts the estimates before it (-2, -3, ...). A small p-value says the
        cohorts already drifted apart before their meetings, so the post-meeting effects are
        suspect.

        The covariance must be estimable: with clustered inference there can be at most
        (number of clusters - 1) tested estimates, otherwise the test refuses and asks for fewer
        ``leads`` rather than return a meaningless statistic.
        """
        # With a universal base period the period before treatment is the reference, zero by
        # construction: it is not tested, and ``leads`` counts the estimates before it.
        reference = -1 if self.base_period == "universal" else 0
        if by == "cell":
            cells = self._cells
            pre = (cells["time_pos"] < cells["cohort_pos"] + reference).to_numpy()
            theta = self.att_gt["att"].to_numpy()[pre]
            inf = self._blocks[:, pre]
        elif by == "event_time":
            levels, est, cols, _ = self._aggregate_parts("dynamic")
            event = np.array(levels)
            pre = event < reference
            if leads is not None:
                pre &= event >= reference - int(leads)
            theta, inf = est[pre], cols[:, pre]
        else:
            raise InputError(f"by must be 'event_time' or 'cell', got {by!r}")
        if theta.size == 0:
            raise InputError(
                "no pre-treatment estimates to test: every cohort is treated from the second period"
            )
        sums = inf
        independent = sums.shape[0] - 1
        if theta.size > independent:
            what = "clusters" if self.n_clusters is not None else "units"
            raise InputError(
                f"{theta.size} pre-treatment estimates but only {sums.shape[0]} {what}: their "
                "covariance cannot be estimated. Test fewer, e.g. pretrend_test(leads=12)."
            )
        v = sums.T @ sums / self.n_units**2
        rank = int(np.linalg.matrix_rank(v, rtol=1e-10))
        stat = float(theta @ np.linalg.pinv(v, rcond=1e-10) @ theta)
        return pd.DataFrame(
            [
                {
                    "statistic": stat,
                    "df": rank,
                    "p_value": float(stats.chi2.sf(stat, rank)),
                    "n_estimates": int(theta.size),
                    "by": by,
                }
            ]
        )

    def to_frame(self) -> pd.DataFrame:
        """The tidy ATT(g,t) table (same as ``.att_gt``)."""
        return self.att_gt.copy()

    def summary(
        self, kinds: Sequence[str] = ("simple", "dynamic", "group", "calendar")
    ) -> pd.DataFrame:
        """The one-number summary of each aggregation in ``kinds`` (R ``aggte``'s overall.att),
        one row each: kind, att, se, ci_low, ci_high, p_value (and, with bootstrap, se_analytic
        and the band band_low/band_high)."""
        return pd.concat([self.overall(kind) for kind in kinds], ignore_index=True)

    def event_study_covariance(self) -> pd.DataFrame:
        """Covariance of the event-study (dynamic) estimates, from their influence functions.

        :math:`\\hat V = \\Psi'\\Psi / n^2`, with :math:`\\Psi` the influence functions of the
        dynamic aggregation (including the estimation of its cohort-share weights, as R
        ``did::aggte``) summed within clusters with ``cluster=``, else within units. Its diagonal
        is the square of the analytic standard errors of ``aggregate("dynamic")``. This is the
        ``sigma`` that sensitivity analyses of the event study (``honest_did``) and pre-trend
        power calculations need.

        Returns
        -------
        DataFrame, rows and columns labelled by event time (ascending).
        """
        levels, _, cols, _ = self._aggregate_parts("dynamic")
        covariance = cols.T @ cols / self.n_units**2
        index = pd.Index(levels, name="event_time")
        return pd.DataFrame(covariance, index=index, columns=index.rename(None))

    def plot(
        self,
        kind: str = "dynamic",
        indicator: str | None = None,
        ax: Axes | None = None,
        band: bool = True,
    ) -> Axes:
        """Event-study (default), cohort or calendar plot of the aggregated effects with 95% CIs.

        ``indicator`` (e.g. "nsaid") puts GP-readable words on the axes. With bootstrap the
        uniform band is drawn as a shaded ribbon (``band=False`` hides it).
        """
        from evaluation.methods import _plotting as P

        if kind == "simple":
            raise InputError(
                "a simple aggregation is one number; plot kind='dynamic', 'group' or 'calendar'"
            )
        frame = self.aggregate(kind)
        level = _LEVEL_COLUMN[kind]
        ax = P.new_axes(ax)
        x = frame[level].to_numpy()
        if kind == "group":
            x = np.arange(len(frame))
        post = (frame[level] >= 0).to_numpy() if kind == "dynamic" else np.ones(len(frame), bool)
        if band and "band_low" in frame:
            ax.fill_between(
                x,
                frame["band_low"],
                frame["band_high"],
                color=P.AFTER_COLOUR,
                alpha=0.15,
                label="Uniform 95% band",
                step=None,
            )
        for mask, colour, name in (
            (~post, P.BEFORE_COLOUR, "Before the meeting"),
            (post, P.AFTER_COLOUR, "After the meeting"),
        ):
            if mask.any():
                ax.errorbar(
                    x[mask],
                    frame["att"][mask],
                    yerr=[
                        frame["att"][mask] - frame["ci_low"][mask],
                        frame["ci_high"][mask] - frame["att"][mask],
                    ],
                    fmt="o",
                    color=colour,
                    capsize=2,
                    markersize=4,
                    label=name,
                )
        P.zero_line(ax)
        if kind == "dynamic":
            ax.axvline(-0.5, color=P.REFERENCE_COLOUR, linestyle="--", linewidth=0.8)
            ax.set_xlabel(P.event_time_label(indicator, self.period_unit))
        elif kind == "group":
            ax.set_xticks(x, [str(v)[:10] for v in frame[level]], rotation=90)
            ax.set_xlabel("Cohort (first month after the cluster's meeting)")
        else:
            ax.set_xlabel("Calendar month" if self.period_unit == "month" else "Period")
        ax.set_ylabel(P.effect_axis_label(self.outcome, indicator))
        ax.legend(frameon=False, fontsize="small")
        return ax


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------


def _sum_rows(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sum rows of ``values`` by integer labels 0..L-1 (all present), in label order."""
    order = np.argsort(labels, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(labels[order])) + 1]
    return np.add.reduceat(values[order], starts, axis=0)


def staggered_did(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = None,
    control_group: Literal["never", "notyet"] = "never",
    method: Literal["dr", "ipw", "reg"] = "dr",
    bootstrap: int = 0,
    cluster: str | None = None,
    level: float = 0.95,
    seed: int | None = None,
    progress: bool = False,
    base_period: Literal["varying", "universal"] = "varying",
) -> StaggeredDiDResult:
    """Callaway & Sant'Anna (2021) difference-in-differences for staggered adoption.

    For each cohort :math:`g` (units first treated in period :math:`g`) and period :math:`t`,
    compare the change in outcome since the base period :math:`b` with that of comparison units
    :math:`C`. With ``base_period="varying"`` (R's default) :math:`b = g-1` after treatment and
    :math:`t-1` before it, so pre-treatment effects are period-on-period changes; with
    ``"universal"`` :math:`b = g-1` always, so every effect, before or after, is measured from the
    period before treatment (which is 0 by construction), as an event-study plot and sensitivity
    analyses of parallel trends (``honest_did``) read it:

    .. math:: ATT(g,t) = E[Y_t - Y_b \\mid G=g] - E[Y_t - Y_b \\mid C]

    with :math:`C` the never-treated (``control_group="never"``) or the not-yet-treated by
    :math:`t` (``"notyet"``). With covariates (taken at the base period) the comparison is made
    by outcome regression (``"reg"``), inverse probability weighting (``"ipw"``, normalised) or
    both (``"dr"``, doubly robust), as Sant'Anna & Zhao (2020).

    Parameters
    ----------
    data : DataFrame, one row per unit and period (a balanced panel).
    outcome, unit, time : column names. ``time`` may be integers (years) or dates (months).
    cohort : column with each unit's first treated period, in the units of ``time`` (a date, or a
        YYYYMM integer next to a date column); 0 or missing = never treated within the data.
    covariates : optional column names (time-invariant, or their base-period values are used).
    control_group : "never" or "notyet".
    method : "dr", "ipw" or "reg" (identical without covariates).
    bootstrap : number of multiplier-bootstrap draws (0 = analytic standard errors). R's default
        is 999; with it every table also gets a uniform 95% band.
    cluster : column to cluster standard errors on (clinics nest in quality clusters).
    level : confidence level of the intervals and bands (0.95).
    seed : seed of the bootstrap draws.
    progress : show a progress bar over the cohort-period cells (useful with covariates, where
        each cell fits its own propensity score and outcome regression).
    base_period : "varying" (default) or "universal", as R ``did``'s ``base_period``. Post-treatment
        effects are the same either way.

    Returns
    -------
    StaggeredDiDResult with ``.att_gt`` (cohort, time, event_time, att, se, ci_low, ci_high,
    p_value[, se_analytic, band_low, band_high], n_treated, n_control, post),
    ``.aggregate(kind)``, ``.overall(kind)``, ``.summary()`` (the overall estimate of every
    aggregation), ``.pretrend_test()`` and ``.plot()``.

    References
    ----------
    Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. Journal of Econometrics, 225(2), 200-230. doi:10.1016/j.jeconom.2020.12.001
    Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences estimators.
    Journal of Econometrics, 219(1), 101-122.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evaluation.methods import staggered_did
    >>> rng = np.random.default_rng(1)
    >>> units, years = np.arange(300), np.arange(2010, 2016)
    >>> cohort = rng.choice([0, 2012, 2014], size=units.size)
    >>> df = pd.DataFrame([(u, t, cohort[u]) for u in units for t in years],
    ...                   columns=["unit", "year", "cohort"])
    >>> df["y"] = rng.normal(size=len(df)) - 1.0 * ((df.cohort > 0) & (df.year >= df.cohort))
    >>> res = staggered_did(df, "y", "unit", "year", "cohort")
    >>> round(float(res.aggregate("simple")["att"].iloc[0]), 1)
    -1.0
    """
    cg = _CONTROL_GROUPS.get(str(control_group).lower())
    if cg is None:
        raise InputError(f"control_group must be 'never' or 'notyet', got {control_group!r}")
    if method not in _METHODS:
        raise InputError(f"method must be one of {_METHODS}, got {method!r}")
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise InputError(f"bootstrap must be a non-negative number of draws, got {bootstrap!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if base_period not in _BASE_PERIODS:
        raise DiDInputError(
            f"base_period must be 'varying' or 'universal' (as R did), got {base_period!r}"
        )
    universal = base_period == "universal"
    panel = _prepare(data, outcome, unit, time, cohort, covariates, cluster)
    n, n_periods = panel.y.shape
    gpos = panel.cohort_pos
    never = gpos < 0
    if cg == "never" and not never.any():
        raise DiDInputError(
            "no never-treated units (cohort 0) to compare with; use control_group='notyet' "
            "(units not yet treated serve as comparison)"
        )

    cohorts = np.array(sorted(panel.cohort_label))
    # A universal base period compares every period with g-1, so the first period is a cell too.
    first = 0 if universal else 1
    cell_g = np.repeat(cohorts, n_periods - first)
    cell_t = np.tile(np.arange(first, n_periods), len(cohorts))
    cell_b = np.where((cell_t < cell_g) & ~universal, cell_t - 1, cell_g - 1)
    # Membership depends on a unit only through its cohort, so it is worked out per cohort
    # ("group" below: never-treated plus each cohort) and expanded to units only where needed.
    group_pos = np.r_[-1, cohorts]  # group 0 = never treated
    unit_group = np.searchsorted(group_pos, gpos)
    group_size = np.bincount(unit_group, minlength=len(group_pos)).astype(float)
    is_treated = group_pos[:, None] == cell_g[None, :]  # groups x cells
    if cg == "never":
        is_control = np.zeros_like(is_treated)
        is_control[0] = True
    else:
        horizon = np.maximum(cell_t, cell_b)
        is_control = (group_pos[:, None] > horizon[None, :]) & ~is_treated
        is_control[0] = True
    n_treat = group_size @ is_treated
    n_ctrl = group_size @ is_control
    empty = np.flatnonzero(n_ctrl == 0)
    if empty.size:
        k = empty[0]
        raise DiDInputError(
            f"cohort {panel.cohort_label[cell_g[k]]!r} has no comparison units in period "
            f"{panel.periods[cell_t[k]]!s} ({empty.size} cohort-period cell(s) without any): "
            "every other unit is already treated. Use control_group='never' with never-treated "
            "units, or end the data before the last cohort is treated."
        )
    if panel.x is None:
        # Without covariates all three estimators are a difference in means; vectorised over cells
        # through per-cohort sums of the outcome.
        y_sums = np.zeros((len(group_pos), n_periods))
        np.add.at(y_sums, unit_group, panel.y)
        dy_sums = y_sums[:, cell_t] - y_sums[:, cell_b]  # groups x cells
        mu1 = (dy_sums * is_treated).sum(axis=0) / n_treat
        mu0 = (dy_sums * is_control).sum(axis=0) / n_ctrl
        att = mu1 - mu0
        # IF_ik = n [D_ik (dY_ik - mu1_k)/n1_k - C_ik (dY_ik - mu0_k)/n0_k]: linear in the outcome
        # with coefficients that depend on the unit's cohort group only. Clustered, its cluster sums
        # need only outcome sums per (cluster, group) pair - far fewer rows than units.
        slope = n * (is_treated / n_treat - is_control / n_ctrl)  # groups x cells
        centre = np.where(is_treated, mu1, 0.0) + np.where(is_control, mu0, 0.0)
        if panel.cluster is None:
            rows_y, rows_group, rows_count = panel.y, unit_group, np.ones(n)
        else:
            pair, pair_index = np.unique(
                panel.cluster * len(group_pos) + unit_group, return_inverse=True
            )
            rows_y = np.zeros((len(pair), n_periods))
            np.add.at(rows_y, pair_index, panel.y)
            rows_group = pair % len(group_pos)
            rows_count = np.bincount(pair_index).astype(float)
            pair_cluster = pair // len(group_pos)
        blocks = rows_y[:, cell_t]
        blocks -= rows_y[:, cell_b]
        blocks -= rows_count[:, None] * centre[rows_group]
        blocks *= slope[rows_group]
        if panel.cluster is not None:
            blocks = _sum_rows(blocks, pair_cluster)
    else:
        att = np.zeros(len(cell_g))
        influence = np.zeros((n, len(cell_g)))
        cells_iter = range(len(cell_g))
        if progress:
            from tqdm.auto import tqdm

            cells_iter = tqdm(cells_iter, desc="ATT(g,t) with covariates")
        for k in cells_iter:
            if cell_t[k] == cell_b[k]:
                continue  # the universal base period itself: zero effect, zero influence
            member_t, member_c = is_treated[unit_group, k], is_control[unit_group, k]
            rows = np.flatnonzero(member_t | member_c)
            dy = panel.y[rows, cell_t[k]] - panel.y[rows, cell_b[k]]
            xk = np.column_stack([np.ones(rows.size), panel.x[rows, cell_b[k], :]])
            where = f"cohort {panel.cohort_label[cell_g[k]]!r}, period {panel.periods[cell_t[k]]!s}"
            att[k], inf_k = _two_by_two(dy, member_t[rows].astype(float), xk, method, where)
            influence[rows, k] = n / rows.size * inf_k
        blocks = influence if panel.cluster is None else _sum_rows(influence, panel.cluster)
    if panel.cluster is None:
        block_groups = np.zeros((n, len(group_pos)))
        block_groups[np.arange(n), unit_group] = 1.0
    else:
        block_groups = np.zeros((int(panel.cluster.max()) + 1, len(group_pos)))
        np.add.at(block_groups, (panel.cluster, unit_group), 1.0)
    cells = pd.DataFrame({"cohort_pos": cell_g, "time_pos": cell_t})
    result = StaggeredDiDResult(
        att_gt=pd.DataFrame(),
        outcome=outcome,
        control_group=cg,
        method=method,
        level=level,
        bootstrap=int(bootstrap),
        n_units=n,
        n_clusters=None if panel.cluster is None else int(panel.cluster.max() + 1),
        period_unit=panel.period_unit,
        _blocks=blocks,
        _block_groups=block_groups,
        _group_pos=group_pos,
        _cohort_pos=gpos,
        _cells=cells,
        _labels=panel.cohort_label,
        _periods=panel.periods,
        _seed=seed,
        base_period=base_period,
    )
    table = result._inference(att, blocks)
    table.insert(0, "event_time", cell_t - cell_g)
    table.insert(0, "time", panel.periods[cell_t])
    table.insert(0, "cohort", [panel.cohort_label[p] for p in cell_g])
    table["n_treated"] = n_treat.astype(int)
    table["n_control"] = n_ctrl.astype(int)
    table["post"] = cell_t >= cell_g
    table.attrs = {k: v for k, v in table.attrs.items()}
    result.att_gt = table
    return result


# --------------------------------------------------------------------------------------------
# two-way fixed effects event study, for contrast
# --------------------------------------------------------------------------------------------


@dataclass
class TWFEEventStudyResult:
    """Coefficients of a two-way fixed-effects event study. Build with :func:`twfe_event_study`.

    ``.to_frame()`` the coefficient per event time, ``.summary()`` their averages before and
    after the meeting, ``.plot()`` the event study.
    """

    coefficients: pd.DataFrame
    outcome: str
    period_unit: str
    level: float = 0.95
    # covariance of the estimated (non-reference) coefficients, in the order of their rows
    _covariance: np.ndarray | None = field(repr=False, default=None)

    def to_frame(self) -> pd.DataFrame:
        """One row per event time: event_time, estimate, se, ci_low, ci_high, p_value,
        reference (the period -1, fixed at zero) and binned (the window's end points)."""
        return self.coefficients.copy()

    def summary(self) -> pd.DataFrame:
        """The average coefficient before the meeting (event times below -1) and from it on
        (event times 0 and later), end points binned beyond the window left out: term,
        n_event_times, estimate, se, ci_low, ci_high, p_value.

        :math:`\\bar\\beta = w'\\hat\\beta`, :math:`SE = \\sqrt{w' \\hat V w}` with equal
        weights :math:`w` over the event times averaged and :math:`\\hat V` the cluster-robust
        covariance of the fit.
        """
        estimated = self.coefficients[~self.coefficients["reference"]].reset_index(drop=True)
        rows = []
        for term, chosen in (
            ("average before the meeting", estimated["event_time"] < -1),
            ("average from the meeting on", estimated["event_time"] >= 0),
        ):
            chosen = (chosen & ~estimated["binned"]).to_numpy()
            if not chosen.any():
                continue
            weights = chosen / chosen.sum()
            estimate = float(weights @ estimated["estimate"].to_numpy())
            se = float(np.sqrt(weights @ self._covariance @ weights))
            ci_low, ci_high, p_value = normal_interval(estimate, se, self.level)
            rows.append(
                {
                    "term": term,
                    "n_event_times": int(chosen.sum()),
                    "estimate": estimate,
                    "se": se,
                    "ci_low": ci_low,
                    "ci_high": ci_high,
                    "p_value": p_value,
                }
            )
        return pd.DataFrame(
            rows,
            columns=["term", "n_event_times", "estimate", "se", "ci_low", "ci_high", "p_value"],
        )

    def plot(self, indicator: str | None = None, ax: Axes | None = None) -> Axes:
        """Event-time coefficients with their confidence intervals (reference period -1 drawn
        at zero)."""
        from evaluation.methods import _plotting as P

        return P.event_study_plot(
            ax,
            self.coefficients,
            "estimate",
            marker="s",
            colour=P.REFERENCE_COLOUR,
            label="Two-way fixed effects",
            outcome=self.outcome,
            period_unit=self.period_unit,
            indicator=indicator,
        )


def twfe_event_study(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    cluster: str | None = None,
    window: tuple[int, int] = (-12, 24),
    level: float = 0.95,
) -> TWFEEventStudyResult:
    """Two-way fixed-effects event study: the regression staggered DiD is contrasted with.

    .. math::
        Y_{it} = \\alpha_i + \\lambda_t + \\sum_{e \\ne -1} \\beta_e 1[t - G_i = e]
        + \\varepsilon_{it}

    Event times beyond ``window`` are binned into its end points; never-treated units have no
    event dummies; the period before treatment (-1) is the reference. Fixed effects are removed by
    two-way demeaning (exact in a balanced panel), then OLS with cluster-robust SEs (statsmodels).
    With staggered timing and effects that differ by cohort or grow over time, :math:`\\beta_e`
    mixes "forbidden comparisons" of later- with earlier-treated units (Sun & Abraham 2021;
    Goodman-Bacon 2021) - which is why :func:`staggered_did` is the main estimator.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evaluation.methods import twfe_event_study
    >>> rng = np.random.default_rng(2)
    >>> cohort = rng.choice([0, 2013], size=200)
    >>> df = pd.DataFrame([(u, t, cohort[u]) for u in range(200) for t in range(2010, 2016)],
    ...                   columns=["unit", "year", "cohort"])
    >>> df["y"] = rng.normal(size=len(df)) + 2.0 * ((df.cohort > 0) & (df.year >= df.cohort))
    >>> es = twfe_event_study(df, "y", "unit", "year", "cohort", window=(-3, 2))
    >>> round(float(es.to_frame().query("event_time == 0")["estimate"].iloc[0]))
    2
    """
    import statsmodels.api as sm

    panel = _prepare(
        data, outcome, unit, time, cohort, None, cluster, where="twfe_event_study: data"
    )
    n, n_periods = panel.y.shape
    lo, hi = window
    if not lo < -1 < hi + 1 or lo >= hi:
        raise InputError(f"window must contain -1 and 0, e.g. (-12, 24); got {window}")
    event = np.arange(n_periods)[None, :] - panel.cohort_pos[:, None]
    event = np.clip(event, lo, hi)
    treated = panel.cohort_pos >= 0
    levels = [e for e in range(lo, hi + 1) if e != -1]
    dummies = np.stack([(event == e) & treated[:, None] for e in levels], axis=-1).astype(float)
    present = dummies.reshape(-1, len(levels)).sum(axis=0) > 0
    levels = [e for e, p in zip(levels, present) if p]
    dummies = dummies[:, :, present]

    def demean(a: np.ndarray) -> np.ndarray:
        return (
            a
            - a.mean(axis=1, keepdims=True)
            - a.mean(axis=0, keepdims=True)
            + a.mean(axis=(0, 1), keepdims=True)
        )

    y = demean(panel.y).ravel()
    x = demean(dummies).reshape(n * n_periods, len(levels))
    groups = np.repeat(panel.cluster if panel.cluster is not None else np.arange(n), n_periods)
    fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    ci = fit.conf_int(1 - level)
    frame = pd.DataFrame(
        {
            "event_time": levels,
            "estimate": fit.params,
            "se": fit.bse,
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
            "p_value": fit.pvalues,
        }
    )
    ref = pd.DataFrame(
        [
            {
                "event_time": -1,
                "estimate": 0.0,
                "se": 0.0,
                "ci_low": 0.0,
                "ci_high": 0.0,
                "p_value": np.nan,
            }
        ]
    )
    frame = pd.concat([frame, ref]).sort_values("event_time").reset_index(drop=True)
    # The reference period is fixed at zero by construction: flagged, and given no p-value.
    frame["reference"] = frame["event_time"] == -1
    frame["binned"] = frame["event_time"].isin([lo, hi])
    return TWFEEventStudyResult(
        frame, outcome, panel.period_unit, level, np.asarray(fit.cov_params())
    )
