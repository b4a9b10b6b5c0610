"""Interrupted time series: segmented regression of one series or of every clinic in a panel.

The question "did prescribing change after the cluster's meeting?" asked of one series: fit the
pre-meeting level, trend and season, and measure the step (level change) and the change in trend
(slope change) at the meeting, against the counterfactual that the pre-meeting pattern went on.

One series is fitted with statsmodels (GLM or OLS). A panel (``unit=``) - every clinic with its
own meeting date - is fitted by a batched IRLS on numpy that the tests check against statsmodels
clinic by clinic; why, with measurements: docs/decisions/0011-its-panels-by-batched-irls.md.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from evaluation.errors import InputError
from evaluation.methods.checks import (
    require_columns,
    require_frame,
    require_positive,
    require_unique,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["its", "its_diagnostics", "ITSResult", "ITSDiagnosticsResult", "ITSInputError"]

_MODELS = ("poisson", "quasipoisson", "ols")


class ITSInputError(InputError):
    """The series cannot be analysed as asked; the message says which rows or setting and why.

    An :class:`evaluation.errors.InputError` (so an ``EvaluationError`` and a ``ValueError``).
    """


# --------------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------------


def _time_axis(values: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """Trend index and the variable the Fourier terms use.

    Dates become consecutive month numbers (1, 2, ...) and the calendar month drives the season,
    so a series that starts in March still has its peaks in the right months. Numeric time is used
    as it is for both. On the Sicily data of Lopez Bernal et al. the reference's
    ``harmonic(month, 2, 12)`` (tsModel) and terms built from the time index 1..59 give the same
    fit, because the series starts in January; the tests check both routes against the paper.
    """
    if pd.api.types.is_datetime64_any_dtype(values) or (
        values.dtype == object and hasattr(values.iloc[0], "year")
    ):
        stamp = pd.to_datetime(values)
        months = stamp.dt.year.to_numpy() * 12 + stamp.dt.month.to_numpy()
        return (
            (months - months.min() + 1).astype(float),
            stamp.dt.month.to_numpy().astype(float),
            True,
        )
    if not pd.api.types.is_numeric_dtype(values):
        raise ITSInputError(f"time column must be dates or numbers, got dtype {values.dtype}")
    v = values.to_numpy(dtype=float)
    return v, v, False


def _design(
    trend: np.ndarray,
    season_x: np.ndarray,
    post: np.ndarray,
    since: np.ndarray,
    harmonics: int,
    period: float,
    slope_change: bool,
) -> tuple[np.ndarray, list[str]]:
    cols = [np.ones_like(trend), trend, post]
    names = ["intercept", "trend", "level_change"]
    if slope_change:
        cols.append(since)
        names.append("slope_change")
    for k in range(1, harmonics + 1):
        cols += [
            np.sin(2 * np.pi * k * season_x / period),
            np.cos(2 * np.pi * k * season_x / period),
        ]
        names += [f"sin{k}", f"cos{k}"]
    return np.column_stack(cols), names


def _check_seasonality(
    n_obs: int, n_params: int, harmonics: int, period: float, where: str
) -> None:
    if harmonics < 0 or int(harmonics) != harmonics:
        raise ITSInputError(f"harmonics must be a non-negative integer, got {harmonics!r}")
    if harmonics and 2 * harmonics > period:
        raise ITSInputError(
            f"{harmonics} harmonics need a period of at least {2 * harmonics}, got {period}"
        )
    if harmonics and n_obs < period:
        raise ITSInputError(
            f"{where}: {n_obs} periods are too short for seasonality with period {period:g}; "
            "need at least one full cycle. Use harmonics=0 or a longer series."
        )
    if n_obs < n_params + 2:
        raise ITSInputError(
            f"{where}: {n_obs} periods are too short for a model with {n_params} parameters "
            f"(harmonics={harmonics}); need at least {n_params + 2}."
        )


def _intervention_starts(
    frame: pd.DataFrame, time: str, intervention, codes: np.ndarray, n_units: int, where_of
) -> pd.Series:
    """First post-intervention time value of every series (position = unit code; missing if
    none)."""
    times = frame[time]
    is_date = pd.api.types.is_datetime64_any_dtype(times)
    if isinstance(intervention, str) and intervention in frame.columns:
        col = frame[intervention]
        values = pd.Series(col.dropna().unique())
        is_indicator = (
            pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
        ) and set(values.astype(float)) <= {0.0, 1.0}
        if is_indicator:
            on = col.astype(float).to_numpy() == 1
            start = times.where(on).groupby(codes).min().reindex(range(n_units))
            start_row = start.to_numpy()[codes]
            switched_off = (times.to_numpy() >= start_row) & ~on
            if switched_off.any():
                code = codes[np.argmax(switched_off)]
                raise ITSInputError(
                    f"{where_of(code)}: indicator {intervention!r} switches off again after it "
                    "starts; a segmented regression needs one interruption"
                )
            return start
        per_unit = col.groupby(codes).nunique()
        if (per_unit > 1).any():
            code = int(per_unit.index[np.argmax(per_unit.to_numpy() > 1)])
            raise ITSInputError(
                f"{where_of(code)}: intervention column {intervention!r} must hold one start "
                f"time per series, found {int(per_unit.max())} different values"
            )
        start = col.groupby(codes).first().reindex(range(n_units))
        return pd.to_datetime(start) if is_date else start
    if intervention is None or (not isinstance(intervention, str) and pd.isna(intervention)):
        raise ITSInputError("no intervention date given")
    if isinstance(intervention, str) and not is_date:
        raise ITSInputError(
            f"intervention {intervention!r} is not a column of the data nor a value of {time!r}"
        )
    value = pd.Timestamp(intervention) if is_date else intervention
    return pd.Series([value] * n_units)


# --------------------------------------------------------------------------------------------
# batched fitting for panels
# --------------------------------------------------------------------------------------------


def _irls_poisson(
    x: np.ndarray, y: np.ndarray, offset: np.ndarray, tol: float = 1e-10, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Poisson GLM (log link) for U series at once: x U x T x p, y and offset U x T.

    Returns coefficients (U x p), unscaled covariance (U x p x p), fitted means (U x T) and a
    convergence flag per series.
    """
    mu = y + 0.1 * np.maximum(y.mean(axis=1, keepdims=True), 1e-8)  # R's glm start: y + small
    eta = np.log(mu)
    dev_old = np.full(y.shape[0], np.inf)
    converged = np.zeros(y.shape[0], bool)
    beta = np.zeros(x.shape[::2])
    for _ in range(max_iter):
        z = eta - offset + (y - mu) / mu
        xw = x * mu[:, :, None]
        xtwx = np.einsum("utp,utq->upq", xw, x)
        xtwz = np.einsum("utp,ut->up", xw, z)
        beta = np.linalg.solve(xtwx, xtwz[:, :, None])[:, :, 0]
        eta = np.einsum("utp,up->ut", x, beta) + offset
        mu = np.exp(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = 2 * np.sum(np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu), axis=1)
        converged = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < tol
        if converged.all():
            break
        dev_old = dev
    xw = x * mu[:, :, None]
    cov = np.linalg.inv(np.einsum("utp,utq->upq", xw, x))
    return beta, cov, mu, converged


def _newey_west_lag(n_obs: int) -> int:
    """Rule-of-thumb lag floor(4 (n/100)^(2/9)) (Newey & West 1994), used when none is stated."""
    return int(np.floor(4 * (n_obs / 100) ** (2 / 9)))


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass
class ITSResult:
    """Segmented-regression estimates. Build with :func:`its`."""

    estimates: pd.DataFrame  # tidy: [unit,] term, estimate, se, ci, rate ratio ...
    fitted: pd.DataFrame  # [unit,] time, observed, fitted, counterfactual, rate columns
    model: str
    outcome: str
    unit: str | None
    time: str
    level: float
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["unit", "reason"]))
    #: one series only: log-likelihood, n_params, n_periods and the Pearson residuals in time
    #: order (what :func:`its_diagnostics` compares and tests); empty for a panel
    fit_statistics: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Tidy estimates: one row per (unit and) term (level_change, slope_change)."""
        return self.estimates.copy()

    def average(self, term: str = "level_change") -> pd.DataFrame:
        """Equal-weight average of a term over the panel's units, with a CI from their spread.

        :math:`\\bar\\beta = \\frac{1}{U}\\sum_u \\hat\\beta_u`,
        :math:`SE = sd(\\hat\\beta_u)/\\sqrt{U}`.
        The spread includes both estimation noise and real differences between clinics, so the
        interval is for the mean effect over these clinics (for a GLM: the mean log rate ratio,
        shown also as a rate ratio).
        """
        if self.unit is None:
            raise InputError("average() summarises a panel; this result is a single series")
        rows = self.estimates[self.estimates["term"] == term]
        if rows.empty:
            raise InputError(
                f"term {term!r} was not estimated; available: "
                f"{sorted(self.estimates['term'].unique())}"
            )
        est = rows["estimate"].to_numpy()
        mean, se = est.mean(), est.std(ddof=1) / np.sqrt(len(est))
        z = stats.norm.ppf(1 - (1 - self.level) / 2)
        out = {
            "term": term,
            "n_units": len(est),
            "estimate": mean,
            "se": se,
            "ci_low": mean - z * se,
            "ci_high": mean + z * se,
        }
        if self.model != "ols":
            out.update(
                rate_ratio=np.exp(mean),
                rate_ratio_ci_low=np.exp(mean - z * se),
                rate_ratio_ci_high=np.exp(mean + z * se),
            )
        return pd.DataFrame([out])

    def summary(self) -> pd.DataFrame:
        """The effect in one table: for one series its estimates (one row per term); for a
        panel the average over its units of each term (:meth:`average`), one row per term."""
        if self.unit is None:
            return self.to_frame()
        terms = list(dict.fromkeys(self.estimates["term"]))
        return pd.concat([self.average(term) for term in terms], ignore_index=True)

    def plot(
        self,
        unit=None,
        y_label: str | None = None,
        ax: Axes | None = None,
        x_label: str | None = None,
    ) -> Axes:
        """The counterfactual plot: observed points, fitted line, and the pre-intervention pattern
        carried on (dashed) - what would have happened without the intervention.

        For a panel pass ``unit=`` to draw one clinic; without it the panel's units are averaged
        per period (observed, fitted and counterfactual rates).
        """
        from evaluation.methods import _plotting as P

        ax = P.new_axes(ax)
        f = self.fitted
        if self.unit is not None:
            if unit is not None:
                f = f[f[self.unit] == unit]
                if f.empty:
                    raise InputError(f"unit {unit!r} was not fitted")
            else:
                f = f.groupby("time", as_index=False)[
                    ["observed", "fitted", "counterfactual", "post"]
                ].mean()
                f["post"] = f["post"] > 0.5
        pre, post = f[~f["post"].astype(bool)], f[f["post"].astype(bool)]
        ax.scatter(f["time"], f["observed"], s=12, color="#999999", label="Observed", zorder=2)
        ax.plot(pre["time"], pre["fitted"], color=P.BEFORE_COLOUR, label="Fitted before")
        ax.plot(post["time"], post["fitted"], color=P.AFTER_COLOUR, label="Fitted after")
        ax.plot(
            post["time"],
            post["counterfactual"],
            color=P.BEFORE_COLOUR,
            linestyle="--",
            label="Expected without the intervention",
        )
        if len(post):
            ax.axvline(post["time"].min(), color=P.REFERENCE_COLOUR, linestyle=":", linewidth=1)
        ax.set_ylabel(y_label or P.outcome_axis_label(self.outcome))
        ax.set_xlabel(
            x_label or ("Month" if pd.api.types.is_datetime64_any_dtype(f["time"]) else self.time)
        )
        ax.legend(frameon=False, fontsize="small")
        return ax


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------


def its(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    intervention,
    population: str | None = None,
    unit: str | None = None,
    model: Literal["quasipoisson", "poisson", "ols"] = "quasipoisson",
    harmonics: int = 0,
    period: float = 12,
    slope_change: bool = False,
    lag: int | None = None,
    level: float = 0.95,
    progress: bool = False,
    newey_west: bool = False,
) -> ITSResult:
    """Interrupted time series by segmented regression.

    Poisson / quasi-Poisson (counts with a population offset):

    .. math::
        \\log E[Y_t] = \\log(pop_t) + \\beta_0 + \\beta_1 t + \\beta_2 X_t
        + \\beta_3 (t - t_0 + 1) X_t
        + \\sum_{k=1}^{K} [\\gamma_k \\sin(2\\pi k s_t / P) + \\delta_k \\cos(2\\pi k s_t / P)]

    with :math:`X_t = 1` from the first post-intervention period :math:`t_0`; the level change
    :math:`e^{\\beta_2}` and slope change :math:`e^{\\beta_3}` are rate ratios. Quasi-Poisson scales
    the covariance by the Pearson dispersion :math:`\\phi = X^2/(n-p)`. ``model="ols"`` fits the
    outcome itself (e.g. a rate) with Newey-West standard errors at ``lag`` (Bartlett kernel);
    level and slope change are then differences in the outcome's units.

    Parameters
    ----------
    data : one series (rows = periods) or a panel (``unit=``: rows = unit x period).
    outcome : the count (GLM) or the value (OLS) column.
    time : period column, numbers or dates (monthly).
    intervention : the first post-intervention period (a value of ``time``), or a column: a 0/1
        indicator of the post period, or per-unit start dates (panels with staggered dates).
    population : column of the population at risk, used as log offset (GLM); must be positive.
    unit : column identifying series in a panel; each is fitted separately.
    model : "quasipoisson" (default), "poisson" or "ols".
    harmonics : number of Fourier pairs for seasonality (0 = none); ``period`` their period (12).
    slope_change : also estimate a change in trend after the intervention.
    lag : Newey-West lag for OLS (and for a GLM with ``newey_west``); default
        floor(4 (n/100)^(2/9)), reported in the result.
    level : confidence level of the intervals (0.95).
    progress : show a progress bar while fitting panel series by OLS.
    newey_west : one series with a (quasi-)Poisson model: Newey-West (HAC, Bartlett kernel)
        standard errors instead of the model's, for residuals that are autocorrelated (see
        :func:`its_diagnostics`); the sandwich also absorbs overdispersion. OLS always uses them.

    Returns
    -------
    ITSResult: ``.to_frame()`` ([unit,] term, estimate, se, ci_low, ci_high, p_value,
    rate_ratio, rate_ratio_ci_low, rate_ratio_ci_high, dispersion, n_periods, model[, lag]),
    ``.summary()`` (the estimates of one series, or their average over a panel's units),
    ``.fitted`` (observed, fitted and counterfactual per period), ``.plot()``, ``.average()``
    for panels.

    References
    ----------
    Bernal, J. L., Cummins, S., & Gasparrini, A. (2017). Interrupted time series regression for the
    evaluation of public health interventions: a tutorial. International Journal of Epidemiology,
    46(1), 348-355. doi:10.1093/ije/dyw098
    Newey, W. K., & West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and
    autocorrelation consistent covariance matrix. Econometrica, 55(3), 703-708.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evaluation.methods import its
    >>> rng = np.random.default_rng(3)
    >>> t = np.arange(1, 61)
    >>> pop = np.full(60, 100_000.0)
    >>> rate = 0.002 * np.exp(0.002 * t - 0.2 * (t >= 37))
    >>> df = pd.DataFrame({"time": t, "cases": rng.poisson(rate * pop), "pop": pop})
    >>> res = its(df, "cases", "time", intervention=37, population="pop")
    >>> bool(0.75 < res.to_frame().query("term == 'level_change'")["rate_ratio"].iloc[0] < 0.9)
    True
    """
    where = "its: data"
    if model not in _MODELS:
        raise InputError(f"model must be one of {_MODELS}, got {model!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    require_frame(data, where)
    if newey_west and unit is not None:
        raise InputError(
            "newey_west=True is for one series; a panel's clinics are fitted by a batched IRLS "
            "with model-based standard errors. Aggregate the panel to one series first."
        )
    needed = [outcome, time, population, unit]
    if isinstance(intervention, str) and intervention in data.columns:
        needed.append(intervention)
    require_columns(data, needed, where)
    if model != "ols" and population is None:
        warnings.warn(
            "no population given: the GLM models counts without an offset, so a growing list "
            "size would look like rising prescribing",
            stacklevel=2,
        )
    frame = data[[c for c in dict.fromkeys(needed) if c is not None]].copy()
    if frame[outcome].isna().any():
        rows = frame.index[frame[outcome].isna()][:5].tolist()
        raise ITSInputError(
            f"{where}: outcome {outcome!r} is missing in {int(frame[outcome].isna().sum())} "
            f"row(s) (first {rows}); drop or fill those periods first"
        )
    if model != "ols" and (frame[outcome] < 0).any():
        raise ITSInputError(
            f"{where}: outcome {outcome!r} has negative values; a Poisson model needs counts >= 0"
        )
    if population:
        require_positive(
            frame,
            population,
            where,
            hint="a rate needs a positive population - fix the list sizes or drop those periods",
            error=ITSInputError,
        )
    keys = [unit, time] if unit else [time]
    require_unique(
        frame,
        keys,
        where,
        what=f"one row per {'unit and ' if unit else ''}period",
        error=ITSInputError,
    )
    if pd.api.types.is_datetime64_any_dtype(frame[time]) or frame[time].dtype == object:
        try:
            frame[time] = pd.to_datetime(frame[time])
        except (TypeError, ValueError) as exc:
            raise ITSInputError(
                f"time column {time!r} is neither numeric nor dates: {exc}"
            ) from None
    frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    z = stats.norm.ppf(1 - (1 - level) / 2)

    # Rows are sorted by unit and time, so each unit is one contiguous block of rows.
    if unit is None:
        codes, keys_ = np.zeros(len(frame), dtype=int), np.array([None], dtype=object)
    else:
        codes, keys_ = pd.factorize(frame[unit], sort=True)
    n_units = len(keys_)
    block_start = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    lengths = np.diff(np.r_[block_start, len(frame)])

    def where_of(code: int) -> str:
        return "the series" if unit is None else f"{unit} {keys_[code]!r}"

    times = frame[time]
    trend, season_x, _ = _time_axis(times)
    start = _intervention_starts(frame, time, intervention, codes, n_units, where_of)
    start_row = start.to_numpy()[codes]
    post = times.to_numpy() >= start_row  # a missing start compares False
    first_t = times.groupby(codes).first().to_numpy()
    last_t = times.groupby(codes).last().to_numpy()
    start_trend = pd.Series(np.where(post, trend, np.inf)).groupby(codes).min().to_numpy()
    since = np.where(post, trend - start_trend[codes] + 1, 0.0)
    x_all, names = _design(
        trend, season_x, post.astype(float), since, harmonics, period, slope_change
    )
    y_all = frame[outcome].to_numpy(dtype=float)
    off_all = (
        np.log(frame[population].to_numpy(dtype=float)) if population else np.zeros(len(frame))
    )
    n_post = np.bincount(codes, weights=post, minlength=n_units)
    n_pre = lengths - n_post
    y_pre = np.bincount(codes, weights=np.where(post, 0.0, y_all), minlength=n_units)
    y_post = np.bincount(codes, weights=np.where(post, y_all, 0.0), minlength=n_units)

    reasons: dict[int, str] = {}
    for code in range(n_units):
        s_ = start.iloc[code]
        if s_ is None or pd.isna(s_):
            reasons[code] = f"{where_of(code)}: no intervention date"
        elif not (first_t[code] < s_ <= last_t[code]):
            reasons[code] = (
                f"{where_of(code)}: intervention at {s_!s} is outside the data "
                f"({first_t[code]!s} .. {last_t[code]!s}); it needs at least one period before "
                "and one from the intervention on"
            )
        elif slope_change and n_post[code] < 2:
            reasons[code] = (
                f"{where_of(code)}: a slope change needs at least two periods from the "
                f"intervention on, found {int(n_post[code])}"
            )
        elif n_pre[code] < 2:
            reasons[code] = (
                f"{where_of(code)}: need at least two periods before the intervention, found "
                f"{int(n_pre[code])}"
            )
        elif model != "ols" and (y_pre[code] == 0 or y_post[code] == 0):
            reasons[code] = (
                f"{where_of(code)}: no events before or after the intervention, so no rate "
                "ratio can be estimated"
            )
        else:
            try:
                _check_seasonality(
                    int(lengths[code]), x_all.shape[1], harmonics, period, where_of(code)
                )
            except ITSInputError as exc:
                if unit is None or harmonics < 0 or (harmonics and 2 * harmonics > period):
                    raise
                reasons[code] = str(exc)
    if unit is None and reasons:
        raise ITSInputError(reasons[0])
    valid = np.array([c for c in range(n_units) if c not in reasons], dtype=int)
    skipped = [{"unit": keys_[c], "reason": r} for c, r in reasons.items()]
    if valid.size == 0:
        raise ITSInputError(
            "no series could be fitted: " + "; ".join(s_["reason"] for s_ in skipped[:3])
        )
    if skipped:
        warnings.warn(
            f"{len(skipped)} unit(s) not fitted (see result.skipped), e.g. {skipped[0]['reason']}",
            stacklevel=2,
        )
    terms = ["level_change"] + (["slope_change"] if slope_change else [])
    term_idx = [names.index(t) for t in terms]
    x_cf = x_all.copy()
    x_cf[:, term_idx] = 0.0

    # Per fitted unit: coefficients, standard errors and dispersion; per row: fitted and
    # counterfactual.
    n_par = x_all.shape[1]
    beta = np.full((n_units, n_par), np.nan)
    se = np.full((n_units, n_par), np.nan)
    dispersion = np.ones(n_units)
    pearson = np.full(n_units, np.nan)
    lags = np.zeros(n_units, dtype=int)
    fitted_row = np.full(len(frame), np.nan)
    if model == "ols":
        import statsmodels.api as sm

        iterator = valid
        if progress and unit is not None:
            from tqdm.auto import tqdm

            iterator = tqdm(valid, desc="ITS (OLS) per unit")
        for code in iterator:
            rows = slice(block_start[code], block_start[code] + lengths[code])
            lags[code] = _newey_west_lag(int(lengths[code])) if lag is None else int(lag)
            fit = sm.OLS(y_all[rows], x_all[rows]).fit(
                cov_type="HAC", cov_kwds={"maxlags": int(lags[code])}
            )
            beta[code], se[code] = np.asarray(fit.params), np.asarray(fit.bse)
            fitted_row[rows] = x_all[rows] @ beta[code]
        counterfactual_row = np.einsum("np,np->n", x_cf, beta[codes])
        observed_row = y_all
    elif unit is None:
        # One series: statsmodels' GLM, the reference implementation the panel path is tested
        # against.
        import statsmodels.api as sm

        glm = sm.GLM(y_all, x_all, family=sm.families.Poisson(), offset=off_all)
        fit = glm.fit(scale="X2" if model == "quasipoisson" else None)
        beta[0], se[0] = np.asarray(fit.params), np.asarray(fit.bse)
        pearson[0] = float(fit.pearson_chi2 / fit.df_resid)
        dispersion[0] = float(fit.scale)
        fitted_row = np.asarray(fit.fittedvalues)
        if newey_west:
            lags[0] = _newey_west_lag(len(y_all)) if lag is None else int(lag)
            robust = glm.fit(cov_type="HAC", cov_kwds={"maxlags": int(lags[0])})
            se[0] = np.asarray(robust.bse)
    else:
        # A panel: one batched IRLS per series length (all clinics usually share one length).
        for length in np.unique(lengths[valid]):
            batch = valid[lengths[valid] == length]
            rows = (block_start[batch][:, None] + np.arange(length)[None, :]).ravel()
            xb = x_all[rows].reshape(len(batch), length, n_par)
            yb = y_all[rows].reshape(len(batch), length)
            ob = off_all[rows].reshape(len(batch), length)
            full_rank = np.linalg.matrix_rank(xb) == n_par
            for code in batch[~full_rank]:
                reasons[code] = (
                    f"{where_of(code)}: the design is singular (e.g. the season or the "
                    "intervention cannot be told apart from the trend in this series)"
                )
            batch, rows = batch[full_rank], rows.reshape(-1, length)[full_rank].ravel()
            xb, yb, ob = xb[full_rank], yb[full_rank], ob[full_rank]
            if batch.size == 0:
                continue
            b, cov, mu, converged = _irls_poisson(xb, yb, ob)
            for code in batch[~converged]:
                reasons[code] = (
                    f"{where_of(code)}: the Poisson fit did not converge; check for runs of "
                    "zero counts"
                )
            phi = ((yb - mu) ** 2 / mu).sum(axis=1) / (length - n_par)
            scale = phi if model == "quasipoisson" else np.ones(len(batch))
            beta[batch] = b
            se[batch] = np.sqrt(np.diagonal(cov, axis1=1, axis2=2) * scale[:, None])
            pearson[batch], dispersion[batch] = phi, scale
            fitted_row[rows] = mu.ravel()
        failed = [c for c in valid if c in reasons]
        if failed:
            warnings.warn(
                f"{len(failed)} unit(s) could not be fitted and were dropped (see result.skipped), "
                f"e.g. {reasons[failed[0]]}",
                stacklevel=2,
            )
            skipped += [{"unit": keys_[c], "reason": reasons[c]} for c in failed]
            valid = np.array([c for c in valid if c not in reasons], dtype=int)
            if valid.size == 0:
                raise ITSInputError(
                    "no series could be fitted: " + "; ".join(reasons[c] for c in failed[:3])
                )
    if model != "ols":
        pop_row = np.exp(off_all)
        observed_row = y_all / pop_row
        fitted_row = fitted_row / pop_row
        counterfactual_row = np.exp(np.einsum("np,np->n", x_cf, beta[codes]))

    parts = []
    for term, i in zip(terms, term_idx):
        part = pd.DataFrame(
            {"unit": keys_[valid], "term": term, "estimate": beta[valid, i], "se": se[valid, i]}
        )
        if model == "ols" or newey_west:
            part["lag"] = lags[valid]
        if model != "ols":
            part["dispersion"] = dispersion[valid]
            part["pearson_dispersion"] = pearson[valid]
        part["n_periods"] = lengths[valid]
        part["_order"] = np.arange(len(valid)) * len(terms) + terms.index(term)
        parts.append(part)
    est = (
        pd.concat(parts, ignore_index=True)
        .sort_values("_order")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    est["ci_low"] = est["estimate"] - z * est["se"]
    est["ci_high"] = est["estimate"] + z * est["se"]
    est["p_value"] = 2 * stats.norm.sf(np.abs(est["estimate"] / est["se"]))
    if model != "ols":
        est["rate_ratio"] = np.exp(est["estimate"])
        est["rate_ratio_ci_low"] = np.exp(est["ci_low"])
        est["rate_ratio_ci_high"] = np.exp(est["ci_high"])
    est["model"] = model
    keep = np.isin(codes, valid)
    fitted = pd.DataFrame(
        {
            "unit": keys_[codes[keep]],
            "time": times.to_numpy()[keep],
            "observed": observed_row[keep],
            "fitted": fitted_row[keep],
            "counterfactual": counterfactual_row[keep],
            "post": post[keep],
        }
    )
    if unit is None:
        est = est.drop(columns="unit")
        fitted = fitted.drop(columns="unit")
    else:
        est = est.rename(columns={"unit": unit})
        fitted = fitted.rename(columns={"unit": unit})
    first_cols = ([unit] if unit else []) + [
        "term",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
    ]
    est = est[first_cols + [c for c in est.columns if c not in first_cols]]
    statistics = {}
    if unit is None:
        fitted_counts = fitted_row * (np.exp(off_all) if model != "ols" else 1.0)
        residual = y_all - fitted_counts
        if model == "ols":
            n_obs = len(y_all)
            rss = float(np.sum(residual**2))
            loglik = -0.5 * n_obs * (np.log(2 * np.pi * rss / n_obs) + 1)
            pearson_residuals = residual / np.sqrt(rss / (n_obs - n_par))
        else:
            # y log(mu) - mu - log(y!) with log(y!) = lgamma(y + 1): the Poisson log-likelihood,
            # extended to non-integer outcomes (DDD sums), as statsmodels' GLM computes it
            loglik = float(
                np.sum(y_all * np.log(fitted_counts) - fitted_counts - special.gammaln(y_all + 1))
            )
            pearson_residuals = residual / np.sqrt(fitted_counts)
        statistics = {
            "loglik": float(loglik),
            "n_params": int(n_par),
            "n_periods": int(len(y_all)),
            "dispersion": float(dispersion[0]),
            "residuals": pearson_residuals,
        }
    return ITSResult(
        est,
        fitted,
        model,
        outcome,
        unit,
        time,
        level,
        pd.DataFrame(skipped, columns=["unit", "reason"]),
        statistics,
    )


# --------------------------------------------------------------------------------------------
# diagnostics: seasonality chosen by a criterion, residual autocorrelation, placebo in time
# --------------------------------------------------------------------------------------------


@dataclass
class ITSDiagnosticsResult:
    """The checks a referee asks of an interrupted time series. Build with
    :func:`its_diagnostics`.

    ``seasonality`` the criterion for 0..K Fourier pairs (``harmonics`` the chosen number);
    ``autocorrelation`` the Ljung-Box test of the chosen model's residuals; ``effect`` the
    chosen model (Newey-West standard errors where autocorrelation was found); ``placebo`` the
    same model on the pre-intervention data with a fake intervention ``placebo_shift`` periods
    earlier. ``.to_frame()`` the effect and the placebo side by side, ``.summary()`` everything
    in one row, ``.plot()`` the criterion and the residual autocorrelation.
    """

    seasonality: pd.DataFrame  # harmonics, n_params, loglik, criterion, value, delta, chosen
    harmonics: int
    criterion: str
    autocorrelation: pd.DataFrame  # test, lags, statistic, p_value, autocorrelated
    residual_acf: pd.DataFrame  # lag, acf
    effect: ITSResult
    placebo: ITSResult
    intervention: object  # the first period of the real intervention
    placebo_intervention: object  # the fake one, placebo_shift periods earlier
    standard_errors: str  # "model" or "Newey-West"
    term: str = "level_change"

    def _row(self, result: ITSResult) -> pd.Series:
        frame = result.to_frame()
        return frame[frame["term"] == self.term].iloc[0]

    def to_frame(self) -> pd.DataFrame:
        """Two rows, ``analysis`` "effect" and "placebo": term, estimate, se, ci_low, ci_high,
        p_value (and the rate ratio columns for a GLM), intervention, n_periods."""
        rows = []
        for name, result, start in (
            ("effect", self.effect, self.intervention),
            ("placebo", self.placebo, self.placebo_intervention),
        ):
            rows.append({"analysis": name, **self._row(result).to_dict(), "intervention": start})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """One row: harmonics (chosen), criterion, ljung_box_lags, ljung_box_statistic,
        ljung_box_p_value, autocorrelated, standard_errors ("model" or "Newey-West"), the
        effect's estimate, ci_low, ci_high, p_value and the placebo's (``placebo_`` prefix),
        and whether the placebo interval includes no change (``placebo_includes_zero``)."""
        test = self.autocorrelation.iloc[0]
        effect, placebo = self._row(self.effect), self._row(self.placebo)
        row = {
            "harmonics": self.harmonics,
            "criterion": self.criterion,
            "ljung_box_lags": int(test["lags"]),
            "ljung_box_statistic": float(test["statistic"]),
            "ljung_box_p_value": float(test["p_value"]),
            "autocorrelated": bool(test["autocorrelated"]),
            "standard_errors": self.standard_errors,
        }
        for prefix, values in (("", effect), ("placebo_", placebo)):
            for column in ("estimate", "ci_low", "ci_high", "p_value"):
                row[prefix + column] = float(values[column])
        row["placebo_includes_zero"] = bool(placebo["ci_low"] <= 0 <= placebo["ci_high"])
        return pd.DataFrame([row])

    def plot(self, axes=None):
        """Two panels: the criterion by number of Fourier pairs (the chosen one marked), and the
        autocorrelation of the residuals by lag with the approximate 95% band
        :math:`\\pm 1.96/\\sqrt{n}`."""
        import matplotlib.pyplot as plt

        from evaluation.methods import _plotting as P

        if axes is None:
            P.set_style()
            _, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        left, right = axes
        table = self.seasonality
        left.plot(table["harmonics"], table["value"], marker="o", color=P.BEFORE_COLOUR)
        chosen = table[table["chosen"]]
        left.scatter(
            chosen["harmonics"],
            chosen["value"],
            s=90,
            facecolors="none",
            edgecolors=P.AFTER_COLOUR,
            label=f"Chosen: {self.harmonics} pair(s)",
            zorder=3,
        )
        left.set_xticks(table["harmonics"])
        left.set_xlabel("Fourier pairs for the season")
        left.set_ylabel(f"{self.criterion} (lower is better)")
        left.legend(frameon=False, fontsize="small")
        acf = self.residual_acf
        band = 1.96 / np.sqrt(self.effect.fit_statistics["n_periods"])
        right.vlines(acf["lag"], 0, acf["acf"], color=P.BEFORE_COLOUR)
        right.scatter(acf["lag"], acf["acf"], s=14, color=P.BEFORE_COLOUR)
        right.axhspan(-band, band, color="#dddddd", zorder=0, label="95% band for no correlation")
        right.axhline(0, color="black", lw=0.8)
        test = self.autocorrelation.iloc[0]
        right.set_title(
            f"Ljung-Box, {int(test['lags'])} lags: p = {test['p_value']:.2g}", fontsize=10
        )
        right.set_xlabel("Lag (periods)")
        right.set_ylabel("Residual autocorrelation")
        right.legend(frameon=False, fontsize="small")
        return axes


def _shift_back(start, periods: int, times: pd.Series):
    """The intervention moved ``periods`` periods earlier (months for dates)."""
    if pd.api.types.is_datetime64_any_dtype(times):
        return pd.Timestamp(start) - pd.DateOffset(months=periods)
    return start - periods


def its_diagnostics(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    intervention,
    population: str | None = None,
    model: Literal["quasipoisson", "poisson", "ols"] = "quasipoisson",
    max_harmonics: int = 4,
    period: float = 12,
    slope_change: bool = False,
    autocorrelation_lags: int | None = None,
    alpha: float = 0.05,
    placebo_shift: int = 12,
    lag: int | None = None,
    level: float = 0.95,
) -> ITSDiagnosticsResult:
    """Seasonality chosen by a criterion, residual autocorrelation and a placebo in time for one
    interrupted time series (the checks of Bhaskaran et al. 2013 and Lopez Bernal et al. 2017).

    1. **Seasonality.** The segmented regression of :func:`its` is fitted with 0, 1, ...,
       ``max_harmonics`` Fourier pairs (period ``period``) and the number with the smallest
       criterion is chosen: for quasi-Poisson the QAIC,
       :math:`-2\\log L/\\hat c + 2(p + 1)`, with the Poisson log-likelihood and the
       dispersion :math:`\\hat c` of the largest model (Burnham & Anderson 2002, sec. 2.5);
       for Poisson and OLS the AIC, :math:`-2\\log L + 2p`. Pairs the series is too short
       for (fewer periods than ``period``, or fewer than p + 2) are not tried.
    2. **Autocorrelation.** The Ljung-Box test of the chosen model's Pearson residuals at
       ``autocorrelation_lags`` lags (default ``period`` or n/4, whichever is smaller):
       :math:`Q = n(n+2)\\sum_{k=1}^{h} r_k^2/(n-k)` on h df. Where it rejects at ``alpha``,
       the effect is refitted with Newey-West (HAC) standard errors at ``lag``
       (default floor(4 (n/100)^(2/9))); OLS always has them.
    3. **Placebo in time.** The chosen model on the periods before the real intervention only,
       with a fake intervention ``placebo_shift`` periods (months for dates) earlier. An effect
       found there is not the intervention's: its interval should include no change.

    Parameters
    ----------
    data, outcome, time, population, model, period, slope_change, lag, level : as :func:`its`
        (one series; ``intervention`` a value of ``time`` or a 0/1 indicator column).
    max_harmonics : most Fourier pairs tried (the default 4; at most period/2).
    autocorrelation_lags : lags of the Ljung-Box test.
    alpha : significance level at which autocorrelation switches to Newey-West errors.
    placebo_shift : how many periods before the real intervention the fake one is put.

    Returns
    -------
    :class:`ITSDiagnosticsResult`: ``.seasonality``, ``.harmonics``, ``.autocorrelation``,
    ``.effect`` and ``.placebo`` (:class:`ITSResult`), ``.summary()`` (one row),
    ``.to_frame()``, ``.plot()``.

    Raises
    ------
    ITSInputError as :func:`its`, and when the periods before the intervention are too few for
    the placebo (it needs at least two periods on each side of the fake date).

    References
    ----------
    Bhaskaran K, Gasparrini A, Hajat S, Smeeth L, Armstrong B. Time series regression studies in
    environmental epidemiology. Int J Epidemiol 2013;42:1187-1195.
    Lopez Bernal J, Cummins S, Gasparrini A. Int J Epidemiol 2017;46:348-355.
    Burnham KP, Anderson DR. Model Selection and Multimodel Inference. 2nd ed. Springer; 2002.
    Ljung GM, Box GEP. On a measure of lack of fit in time series models. Biometrika
    1978;65:297-303.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evaluation.methods import its_diagnostics
    >>> rng = np.random.default_rng(7)
    >>> t = np.arange(1, 73)
    >>> rate = 0.002 * np.exp(0.002 * t + 0.15 * np.sin(2 * np.pi * t / 12) - 0.2 * (t >= 49))
    >>> series = pd.DataFrame({"time": t, "cases": rng.poisson(rate * 1e5), "pop": 1e5})
    >>> checks = its_diagnostics(series, "cases", "time", intervention=49, population="pop")
    >>> checks.criterion, checks.harmonics >= 1  # the planted season is found
    ('QAIC', True)
    >>> row = checks.summary().iloc[0]
    >>> bool(row["ci_high"] < 0), bool(row["placebo_includes_zero"])
    (True, True)
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf as autocorrelation_function

    where = "its_diagnostics: data"
    if max_harmonics < 0 or int(max_harmonics) != max_harmonics:
        raise ITSInputError(f"max_harmonics must be a non-negative integer, got {max_harmonics!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}")
    if placebo_shift < 1 or int(placebo_shift) != placebo_shift:
        raise ITSInputError(f"placebo_shift must be a positive integer, got {placebo_shift!r}")
    common = dict(
        outcome=outcome,
        time=time,
        population=population,
        model=model,
        period=period,
        slope_change=slope_change,
        level=level,
        lag=lag,
    )
    # the first fit checks the input and gives its() warnings once; the others are quiet
    fits = {0: its(data, intervention=intervention, **common)}
    n_obs = fits[0].fit_statistics["n_periods"]
    largest = min(int(max_harmonics), int(period // 2))
    for k in range(1, largest + 1):
        n_params = fits[0].fit_statistics["n_params"] + 2 * k
        if n_obs < period or n_obs < n_params + 2:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[k] = its(data, intervention=intervention, harmonics=k, **common)
    criterion = "QAIC" if model == "quasipoisson" else "AIC"
    c_hat = max(fits[max(fits)].fit_statistics["dispersion"], 1.0) if criterion == "QAIC" else 1
    rows = []
    for k, fit in fits.items():
        loglik, n_params = fit.fit_statistics["loglik"], fit.fit_statistics["n_params"]
        if criterion == "QAIC":
            value = -2 * loglik / c_hat + 2 * (n_params + 1)
        else:
            value = -2 * loglik + 2 * (n_params + (1 if model == "ols" else 0))
        rows.append({"harmonics": k, "n_params": n_params, "loglik": loglik, "value": value})
    seasonality = pd.DataFrame(rows)
    seasonality.insert(3, "criterion", criterion)
    if not np.isfinite(seasonality["value"]).all():
        raise ITSInputError(
            f"{where}: the {criterion} is not finite for every number of Fourier pairs; check "
            f"the outcome {outcome!r} for zero fitted rates"
        )
    seasonality["delta"] = seasonality["value"] - seasonality["value"].min()
    chosen = int(seasonality.loc[seasonality["value"].idxmin(), "harmonics"])
    seasonality["chosen"] = seasonality["harmonics"] == chosen
    if criterion == "QAIC":
        seasonality["c_hat"] = c_hat

    residuals = np.asarray(fits[chosen].fit_statistics["residuals"], dtype=float)
    lags_tested = (
        int(autocorrelation_lags)
        if autocorrelation_lags is not None
        else int(max(1, min(period, n_obs // 4)))
    )
    if not 1 <= lags_tested < n_obs:
        raise ITSInputError(
            f"autocorrelation_lags must be between 1 and {n_obs - 1} for {n_obs} periods, "
            f"got {autocorrelation_lags!r}"
        )
    box = acorr_ljungbox(residuals, lags=[lags_tested])
    statistic, p_value = float(box["lb_stat"].iloc[0]), float(box["lb_pvalue"].iloc[0])
    autocorrelated = p_value < alpha
    autocorrelation = pd.DataFrame(
        [
            {
                "test": "Ljung-Box",
                "lags": lags_tested,
                "statistic": statistic,
                "p_value": p_value,
                "autocorrelated": autocorrelated,
            }
        ]
    )
    values = autocorrelation_function(residuals, nlags=lags_tested, fft=False)
    residual_acf = pd.DataFrame({"lag": np.arange(1, lags_tested + 1), "acf": values[1:]})

    robust = autocorrelated and model != "ols"
    effect = fits[chosen]
    if robust:
        effect = its(data, intervention=intervention, harmonics=chosen, newey_west=True, **common)
    standard_errors = "Newey-West" if (robust or model == "ols") else "model"

    # placebo: only the periods before the real intervention, a fake one placebo_shift earlier
    frame = data.copy()
    times = frame[time]
    if not pd.api.types.is_numeric_dtype(times):
        times = pd.to_datetime(times)
        frame[time] = times
    if isinstance(intervention, str) and intervention in data.columns:
        on = pd.to_numeric(frame[intervention], errors="coerce") == 1
        start = times[on].min()
        frame = frame.drop(columns=intervention)
    else:
        numeric = pd.api.types.is_numeric_dtype(times)
        start = intervention if numeric else pd.Timestamp(intervention)
    before = frame[times < start]
    fake = _shift_back(start, int(placebo_shift), times)
    n_fake_pre = int((before[time] < fake).sum())
    n_fake_post = len(before) - n_fake_pre
    if n_fake_pre < 2 or n_fake_post < 2:
        raise ITSInputError(
            f"{where}: a placebo {placebo_shift} periods before the intervention needs at least "
            f"two periods on each side of the fake date within the {len(before)} periods before "
            f"the real one; found {n_fake_pre} and {n_fake_post}. Use a smaller placebo_shift or "
            "a longer series."
        )
    placebo_harmonics = chosen if len(before) >= period else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        placebo = its(
            before,
            intervention=fake,
            harmonics=placebo_harmonics,
            newey_west=robust,
            **common,
        )
    return ITSDiagnosticsResult(
        seasonality=seasonality,
        harmonics=chosen,
        criterion=criterion,
        autocorrelation=autocorrelation,
        residual_acf=residual_acf,
        effect=effect,
        placebo=placebo,
        intervention=start,
        placebo_intervention=fake,
        standard_errors=standard_errors,
    )
