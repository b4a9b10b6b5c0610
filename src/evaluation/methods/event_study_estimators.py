"""Four event-study estimators side by side: one tidy table, one figure.

When cohorts take up a topic at different dates and effects differ by cohort or grow over time,
the two-way fixed-effects (TWFE) event study can mislead (its comparisons include already-treated
clinics). Callaway & Sant'Anna, Sun & Abraham and the Borusyak-Jaravel-Spiess imputation
estimator avoid those comparisons in different ways. Showing all four on the same axes lets a
reader see whether the conclusion depends on the estimator: where they agree, it does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.inference import normal_interval

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["event_study_comparison", "plot_event_study_comparison", "ESTIMATORS"]

#: estimator labels, in the order the figure and table show them
ESTIMATORS = (
    "Callaway & Sant'Anna",
    "Two-way fixed effects",
    "Sun & Abraham",
    "Borusyak, Jaravel & Spiess (imputation)",
)
# Okabe-Ito colours (distinguishable with colour-blindness and in greyscale print) and markers
_STYLE = {
    ESTIMATORS[0]: ("#E69F00", "o"),
    ESTIMATORS[1]: ("#000000", "s"),
    ESTIMATORS[2]: ("#0072B2", "^"),
    ESTIMATORS[3]: ("#009E73", "D"),
}


def _column(frame: pd.DataFrame, *names: str) -> pd.Series:
    """The first of ``names`` the frame has (result tables name the estimate att or estimate)."""
    for name in names:
        if name in frame.columns:
            return frame[name]
    raise KeyError(f"none of {names} in {list(frame.columns)}")


def event_study_comparison(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    cluster: str | None = None,
    window: tuple[int, int] = (-12, 24),
    control_group: Literal["never", "notyet"] = "never",
    level: float = 0.95,
) -> pd.DataFrame:
    """Callaway & Sant'Anna, TWFE, Sun & Abraham and imputation event studies in one table.

    Parameters
    ----------
    data, outcome, unit, time, cohort : as for ``staggered_did`` (a balanced panel; cohort 0 or
        missing = never treated).
    cluster : column to cluster standard errors on (all four estimators).
    window : first and last event time to show. The TWFE regression bins event times beyond it
        (its binned end points are not shown).
    control_group : comparison group of Callaway & Sant'Anna ("never" matches Sun & Abraham's).
    level : confidence level of the intervals.

    Returns
    -------
    DataFrame with ``estimator``, ``event_time``, ``att``, ``se``, ``ci_low``, ``ci_high``: one
    row per estimator and event time in the window. The reference period -1 is zero (no
    interval) for the three estimators that normalise to it; the imputation estimator has
    post-treatment event times only (its pre-trend check is a separate test).

    Notes
    -----
    Callaway & Sant'Anna are estimated with a universal base period, so every estimator's
    pre-treatment points are measured from the same period -1; without covariates and with
    never-treated comparison units they coincide with Sun & Abraham's exactly.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(11)
    >>> cohort = rng.choice([0, 2013, 2015], size=240)
    >>> df = pd.DataFrame([(u, t, cohort[u]) for u in range(240) for t in range(2010, 2018)],
    ...                   columns=["unit", "year", "cohort"])
    >>> df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.cohort > 0) & (df.year >= df.cohort))
    >>> table = event_study_comparison(df, "y", "unit", "year", "cohort", window=(-3, 2))
    >>> table.groupby("estimator", sort=False).size().to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {"Callaway & Sant'Anna": 6, 'Two-way fixed effects': 6, 'Sun & Abraham': 6,
     'Borusyak, Jaravel & Spiess (imputation)': 3}
    """
    from evaluation.methods.did import staggered_did, twfe_event_study
    from evaluation.methods.imputation import imputation_did
    from evaluation.methods.interaction_weighted import sun_abraham

    low, high = window
    if not (isinstance(low, (int, np.integer)) and isinstance(high, (int, np.integer))):
        raise InputError(f"window must be two whole event times, e.g. (-12, 24); got {window!r}")
    if not low < -1 < 0 <= high:
        raise InputError(
            f"window must run from before -1 to 0 or later, e.g. (-12, 24); got {window}"
        )
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    args = (data, outcome, unit, time, cohort)
    cs = staggered_did(
        *args, control_group=control_group, cluster=cluster, base_period="universal"
    ).aggregate("dynamic")
    twfe = twfe_event_study(*args, cluster=cluster, window=(low - 1, high + 1)).to_frame()
    twfe = twfe[~twfe["event_time"].isin([low - 1, high + 1])]
    sa = sun_abraham(*args, cluster=cluster).event_study()
    bjs = imputation_did(*args, cluster=cluster, horizon=high).event_study()
    parts = []
    for name, frame in zip(ESTIMATORS, (cs, twfe, sa, bjs)):
        part = pd.DataFrame(
            {
                "estimator": name,
                "event_time": frame["event_time"].astype(int).to_numpy(),
                "att": _column(frame, "att", "estimate").to_numpy(dtype=float),
                "se": frame["se"].to_numpy(dtype=float),
            }
        )
        reference = part["event_time"] == -1
        part.loc[reference, ["att", "se"]] = [0.0, np.nan]
        parts.append(part[(part["event_time"] >= low) & (part["event_time"] <= high)])
    table = pd.concat(parts, ignore_index=True)
    table["ci_low"], table["ci_high"], _ = normal_interval(table["att"], table["se"], level)
    table["estimator"] = pd.Categorical(table["estimator"], categories=ESTIMATORS, ordered=True)
    table = table.sort_values(["estimator", "event_time"], kind="stable").reset_index(drop=True)
    table["estimator"] = table["estimator"].astype(str)
    table.attrs = {"outcome": outcome, "level": level, "window": (low, high)}
    return table


def plot_event_study_comparison(
    table: pd.DataFrame, indicator: str | None = None, ax: Axes | None = None
) -> Axes:
    """The four event studies on one axis, side by side at each event time.

    Each estimator has its own Okabe-Ito colour and marker and is named in words in the legend;
    points are nudged apart so the intervals do not overlap; zero and the last period before the
    meeting are marked.
    """
    from evaluation.methods import _plotting as P

    needed = {"estimator", "event_time", "att", "ci_low", "ci_high"}
    if not needed <= set(table.columns):
        raise InputError(
            "plot_event_study_comparison needs the table event_study_comparison returns "
            f"(columns {sorted(needed)})"
        )
    ax = P.new_axes(ax, figsize=(9.0, 4.8))
    names = [name for name in ESTIMATORS if name in set(table["estimator"])]
    names += [name for name in table["estimator"].unique() if name not in names]
    width = 0.6
    for position, name in enumerate(names):
        sub = table[table["estimator"] == name]
        shift = (position - (len(names) - 1) / 2) * width / max(len(names), 1)
        colour, marker = _STYLE.get(name, ("#CC79A7", "v"))
        with np.errstate(invalid="ignore"):
            lower = (sub["att"] - sub["ci_low"]).fillna(0).to_numpy()
            upper = (sub["ci_high"] - sub["att"]).fillna(0).to_numpy()
        ax.errorbar(
            sub["event_time"] + shift,
            sub["att"],
            yerr=[lower, upper],
            fmt=marker,
            color=colour,
            capsize=1.5,
            markersize=4,
            linewidth=1,
            label=name,
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    P.zero_line(ax)
    ax.axvline(-0.5, color=P.REFERENCE_COLOUR, linestyle="--", linewidth=0.8)
    period_unit = table.attrs.get("period_unit", "month")
    ax.set_xlabel(P.event_time_label(indicator, period_unit))
    ax.set_ylabel(P.effect_axis_label(table.attrs.get("outcome", "outcome"), indicator))
    level = int(round(100 * table.attrs.get("level", 0.95)))
    ax.set_title(f"Four estimators of the same event study ({level}% confidence intervals)")
    ax.legend(frameon=False, fontsize="small")
    return ax
