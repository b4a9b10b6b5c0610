"""Shared look and words for the methods' figures.

Every figure a coordinator sees should read without a statistician beside it: axes say what
was counted ("NSAID DDD per 1,000 patients per day"), time axes say what the zero is ("Months
since the cluster's NSAID meeting"), and every wing uses the same seaborn theme.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

# One palette for the whole workbench: before/untreated in grey-blue, after/treated in orange,
# the counterfactual dashed in the "before" colour so it reads as "what would have happened".
BEFORE_COLOUR = "#4C72B0"
AFTER_COLOUR = "#DD8452"
REFERENCE_COLOUR = "#555555"


def set_style() -> None:
    """Apply the workbench's seaborn theme (white grid, readable font sizes)."""
    import seaborn as sns

    from evaluation.palette import OKABE_ITO

    # the Okabe-Ito colours, so a figure drawn after a method's plot keeps the report palette
    # (seaborn's default cycle puts red beside green)
    colours = ["blue", "orange", "bluish_green", "vermillion", "sky_blue", "reddish_purple"]
    sns.set_theme(
        style="whitegrid",
        context="notebook",
        font_scale=1.0,
        palette=[OKABE_ITO[name] for name in colours],
    )


def new_axes(ax: Axes | None = None, figsize: tuple[float, float] = (8.0, 4.5)) -> Axes:
    """The given axes, or fresh ones with the workbench style applied."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    set_style()
    _, ax = plt.subplots(figsize=figsize)
    return ax


def outcome_axis_label(outcome: str, indicator: str | None = None) -> str:
    """Words for an outcome axis.

    With an indicator and one of the catalogue's outcome columns this is
    ``evaluation.data.catalogue.outcome_label`` ("NSAID DDD per 1,000 patients per day");
    otherwise the column name made readable ("ddd_per_1000_per_day" -> "ddd per 1000 per day").
    """
    from evaluation.data.catalogue import INDICATOR_BY_KEY, OUTCOMES, outcome_label

    if indicator is not None and indicator in INDICATOR_BY_KEY and outcome in OUTCOMES:
        return outcome_label(indicator, outcome)
    if outcome in OUTCOMES:
        return OUTCOMES[outcome][0].upper() + OUTCOMES[outcome][1:]
    return outcome.replace("_", " ")


def event_time_label(indicator: str | None = None, unit: str = "month") -> str:
    """ "Months since the cluster's NSAID meeting" (or "Periods since the cluster's meeting")."""
    from evaluation.data.catalogue import INDICATOR_BY_KEY

    units = {"month": "Months", "quarter": "Quarters", "year": "Years"}.get(unit, "Periods")
    if indicator is not None and indicator in INDICATOR_BY_KEY:
        return f"{units} since the cluster's {INDICATOR_BY_KEY[indicator].label} meeting"
    return f"{units} since the cluster's meeting"


def effect_axis_label(outcome: str, indicator: str | None = None) -> str:
    """ "Change in NSAID DDD per 1,000 patients per day" - the y axis of an effect plot."""
    label = outcome_axis_label(outcome, indicator)
    return f"Change in {label[0].lower()}{label[1:]}" if indicator is None else f"Change in {label}"


def zero_line(ax: Axes, orientation: str = "h") -> None:
    """A quiet reference line at zero ("no change")."""
    if orientation == "h":
        ax.axhline(0.0, color=REFERENCE_COLOUR, linewidth=0.8, zorder=0)
    else:
        ax.axvline(0.0, color=REFERENCE_COLOUR, linewidth=0.8, zorder=0)


def event_study_plot(
    ax: Axes | None,
    frame,
    estimate: str,
    *,
    marker: str,
    colour: str,
    label: str,
    outcome: str,
    period_unit: str,
    indicator: str | None = None,
    treatment_line: bool = True,
) -> Axes:
    """One estimator's event study: ``frame[estimate]`` by ``event_time`` with its
    ``ci_low``/``ci_high`` bars, a zero line, the axis labels and a legend; with
    ``treatment_line``, a dashed line between the reference period -1 and the first treated one."""
    ax = new_axes(ax)
    ax.errorbar(
        frame["event_time"],
        frame[estimate],
        yerr=[frame[estimate] - frame["ci_low"], frame["ci_high"] - frame[estimate]],
        fmt=marker,
        color=colour,
        capsize=2,
        markersize=4,
        label=label,
    )
    zero_line(ax)
    if treatment_line:
        ax.axvline(-0.5, color=REFERENCE_COLOUR, linestyle="--", linewidth=0.8)
    ax.set_xlabel(event_time_label(indicator, period_unit))
    ax.set_ylabel(effect_axis_label(outcome, indicator))
    ax.legend(frameon=False, fontsize="small")
    return ax
