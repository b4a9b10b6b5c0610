"""Goodman-Bacon decomposition of the two-way fixed-effects DiD estimate.

With staggered adoption the two-way fixed-effects (TWFE) coefficient on "treated now" is a weighted
average of every simple 2x2 difference-in-differences the data contain: each cohort against the
never-treated, earlier- against later-treated cohorts before the later ones start, and - the
"forbidden" comparisons - later- against earlier-treated cohorts after the earlier ones started,
whose effects then enter as if they were a trend. :func:`bacon_decomposition` lists them with their
weights, so one can see which comparisons drive the TWFE estimate and whether the forbidden ones
carry much weight.

Computation (no covariates, balanced panel) as R ``bacondecomp::bacon`` 0.1.x: each 2x2 is the
difference-in-differences of the two cohorts' mean outcomes over its window, and its weight
Goodman-Bacon's (2021, Theorem 1) :math:`(n_k + n_l)^2\\,\\hat V^D_{kl}` - sample size times the
variance of treatment within the pair, counted in unit-periods of the window - scaled to sum to
one. Then :math:`\\hat\\beta^{TWFE} = \\sum s_{kl}\\,\\hat\\beta^{2\\times2}_{kl}` exactly (tests
check it to 1e-12) and tests/fixtures/bacon pins the 2x2s to bacondecomp's castle-doctrine and
math-reform examples.

Why not diff-diff's implementation (measured): docs/decisions/0012-did-robustness-engines.md.

Reference: Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
Journal of Econometrics, 225(2), 254-277.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["bacon_decomposition", "bacon_summary", "plot_bacon"]

EARLIER_VS_LATER = "Earlier vs Later Treated"
LATER_VS_EARLIER = "Later vs Earlier Treated"
TREATED_VS_UNTREATED = "Treated vs Untreated"
LATER_VS_ALWAYS = "Later vs Always Treated"
NEVER, ALWAYS = "never treated", "always treated"


def _panel(data, outcome, unit, time, cohort):
    """Balanced panel as matrices; units treated from the first period kept (always treated)."""
    from evaluation.methods.checks import require_columns
    from evaluation.methods.did import _is_datetime, _prepare

    require_columns(data, (outcome, unit, time, cohort), where="bacon_decomposition: data")
    # _prepare refuses cohorts treated in the first period (no pre-period for a DiD); here they are
    # the "always treated", a comparison group of TWFE: set them aside and code them afterwards.
    frame = data
    always_units: set = set()
    times = data[time]
    first = pd.to_datetime(times).min() if _is_datetime(times) else times.min()
    cohort_values = data[cohort]
    if pd.api.types.is_numeric_dtype(cohort_values) and _is_datetime(times):
        ints = cohort_values.fillna(0).astype(int)
        starts = pd.to_datetime(
            {"year": ints.clip(lower=100) // 100, "month": (ints % 100).clip(1, 12), "day": 1},
            errors="coerce",
        ).where(ints > 0)
    elif _is_datetime(times):
        starts = pd.to_datetime(cohort_values.where(cohort_values.astype(str) != "0"))
    else:
        starts = cohort_values.where(cohort_values != 0)
    is_always = (starts <= first).fillna(False).to_numpy(dtype=bool)
    if is_always.any():
        always_units = set(data.loc[is_always, unit])
        frame = data.copy()
        frame.loc[is_always, cohort] = 0
    panel = _prepare(frame, outcome, unit, time, cohort, None, None)
    always = np.isin(panel.units, list(always_units))
    return panel, always


def bacon_decomposition(
    data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str
) -> pd.DataFrame:
    """Decompose the TWFE DiD estimate into all 2x2 comparisons and their weights.

    Parameters
    ----------
    data : one row per unit and period (balanced panel).
    outcome, unit, time : column names; ``time`` integers (years) or dates (months).
    cohort : each unit's first treated period (a date, or YYYYMM next to a monthly date column);
        0 or missing = never treated; the first period of the data = always treated. The treatment
        is "treated from its cohort's period on", as in the TWFE regression decomposed.

    Returns
    -------
    DataFrame with one row per 2x2 comparison: ``treated`` (cohort whose change is the effect),
    ``control`` (cohort, "never treated" or "always treated"), ``type`` ("Earlier vs Later
    Treated", "Later vs Earlier Treated" - the comparisons with already-treated controls -,
    "Treated vs Untreated", "Later vs Always Treated"), ``estimate`` and ``weight`` (summing to
    1). ``attrs["twfe_estimate"]`` is the TWFE coefficient they decompose:
    ``(frame.estimate * frame.weight).sum()`` equals it.

    Formula
    -------
    :math:`\\hat\\beta^{TWFE} = \\sum_{k \\ne l} s_{kl}\\,\\hat\\beta^{2\\times2}_{kl}`, with
    :math:`s_{kl} \\propto (n_k + n_l)^2\\, n_{kl}(1 - n_{kl})\\,\\bar D_k(1 - \\bar D_k)` over the
    2x2's window (Goodman-Bacon 2021, Theorem 1).

    References
    ----------
    Goodman-Bacon (2021), Journal of Econometrics 225(2), 254-277; R bacondecomp.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> cohort = rng.choice([0, 2013, 2015], size=90)
    >>> df = pd.DataFrame([(u, t, cohort[u]) for u in range(90) for t in range(2010, 2018)],
    ...                   columns=["unit", "year", "cohort"])
    >>> df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.cohort > 0) & (df.year >= df.cohort))
    >>> frame = bacon_decomposition(df, "y", "unit", "year", "cohort")
    >>> sorted(frame["type"].unique())
    ['Earlier vs Later Treated', 'Later vs Earlier Treated', 'Treated vs Untreated']
    >>> bool(np.isclose((frame.estimate * frame.weight).sum(), frame.attrs["twfe_estimate"]))
    True
    """
    panel, always = _panel(data, outcome, unit, time, cohort)
    y = panel.y
    n_units, n_periods = y.shape
    start = np.where(always, 0, panel.cohort_pos)  # -1 = never treated
    treated_now = (start[:, None] >= 0) & (np.arange(n_periods)[None, :] >= start[:, None])
    groups = np.unique(start)
    timing = [g for g in groups if g > 0]
    n_comparisons = len(timing) * (len(groups) - 1)
    if n_comparisons < 2:
        raise InputError(
            "a single treatment cohort: the TWFE estimate is one 2x2 difference-in-differences "
            f"({len(timing)} cohort treated within the data, "
            f"{'with' if (start < 0).any() else 'without'} never-treated units), so there is "
            "nothing to decompose. The decomposition needs at least two treatment timings."
        )
    means = {g: y[start == g].mean(axis=0) for g in groups}
    sizes = {g: int((start == g).sum()) for g in groups}

    def label(g: int) -> object:
        if g < 0:
            return NEVER
        if g == 0:
            return ALWAYS
        return panel.cohort_label[g]

    periods = np.arange(n_periods)
    rows = []
    for k in timing:  # the cohort whose treatment switches on in the 2x2
        for c in groups:  # the comparison
            if c == k:
                continue
            if c < 0:  # never treated: whole panel
                window, kind = periods, TREATED_VS_UNTREATED
            elif c > k:  # later-treated cohort, before it is treated
                window, kind = periods[periods < c], EARLIER_VS_LATER
            else:  # earlier-treated (or always-treated) cohort, after it is treated
                window = periods[periods >= c]
                kind = LATER_VS_ALWAYS if c == 0 else LATER_VS_EARLIER
            post = window >= k
            change_k = means[k][window[post]].mean() - means[k][window[~post]].mean()
            change_c = means[c][window[post]].mean() - means[c][window[~post]].mean()
            rows_k, rows_c = sizes[k] * window.size, sizes[c] * window.size
            share = rows_k / (rows_k + rows_c)
            treated_share = post.mean()  # of the switching cohort, within the window
            weight = (rows_k + rows_c) ** 2 * share * (1 - share)
            weight *= treated_share * (1 - treated_share)
            rows.append(
                {
                    "treated": label(k),
                    "control": label(c),
                    "type": kind,
                    "estimate": change_k - change_c,
                    "weight": weight,
                }
            )
    frame = pd.DataFrame(rows)
    frame["weight"] /= frame["weight"].sum()

    # The TWFE coefficient itself: OLS of y on D after removing unit and period means (balanced).
    def demean(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()

    d_tilde = demean(treated_now.astype(float))
    twfe = float((d_tilde * y).sum() / (d_tilde**2).sum())
    frame.attrs = {"twfe_estimate": twfe, "outcome": outcome, "n_units": n_units}
    return frame


def bacon_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Weight and weighted-average estimate by type of comparison (R ``bacon_summary``).

    Returns a frame with ``type``, ``weight`` (total), ``estimate`` (weight-averaged 2x2s) and
    ``n_comparisons``, largest weight first; ``attrs["twfe_estimate"]`` is carried over.
    """
    if not {"type", "estimate", "weight"} <= set(frame.columns):
        raise InputError("bacon_summary needs the frame bacon_decomposition returns")
    weighted = frame.assign(product=frame["estimate"] * frame["weight"])
    summary = weighted.groupby("type", sort=False).agg(
        weight=("weight", "sum"), product=("product", "sum"), n_comparisons=("weight", "size")
    )
    summary["estimate"] = summary["product"] / summary["weight"]
    summary = summary.drop(columns="product").reset_index()
    summary = summary[["type", "weight", "estimate", "n_comparisons"]]
    summary = summary.sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)
    summary.attrs = dict(frame.attrs)
    return summary


def plot_bacon(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each 2x2 estimate against its weight, by type of comparison, with the TWFE estimate.

    Okabe-Ito colours by type; the dashed line is the TWFE estimate (their weighted average).
    """
    from evaluation.methods import _plotting as P

    if not {"type", "estimate", "weight"} <= set(frame.columns):
        raise InputError("plot_bacon needs the frame bacon_decomposition returns")
    ax = P.new_axes(ax)
    colours = {
        TREATED_VS_UNTREATED: "#0072B2",
        EARLIER_VS_LATER: "#009E73",
        LATER_VS_EARLIER: "#D55E00",
        LATER_VS_ALWAYS: "#CC79A7",
    }
    words = {
        TREATED_VS_UNTREATED: "Cohort vs never treated",
        EARLIER_VS_LATER: "Earlier vs later cohort (before it starts)",
        LATER_VS_EARLIER: "Later vs earlier cohort (already treated)",
        LATER_VS_ALWAYS: "Cohort vs always treated",
    }
    markers = {TREATED_VS_UNTREATED: "o", EARLIER_VS_LATER: "s", LATER_VS_EARLIER: "^"}
    for kind, sub in frame.groupby("type", sort=False):
        ax.scatter(
            sub["weight"],
            sub["estimate"],
            color=colours.get(kind, "#000000"),
            marker=markers.get(kind, "D"),
            label=words.get(kind, kind),
            s=30,
        )
    if "twfe_estimate" in frame.attrs:
        ax.axhline(
            frame.attrs["twfe_estimate"],
            color="#000000",
            linestyle="--",
            linewidth=1,
            label="Two-way fixed effects estimate",
        )
    P.zero_line(ax)
    ax.set_xlabel("Weight of the comparison in the two-way fixed effects estimate")
    ax.set_ylabel("2x2 difference-in-differences estimate")
    ax.legend(frameon=False, fontsize="small")
    return ax
