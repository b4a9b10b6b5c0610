"""The words and figures of a cluster's feedback report (notebook 05), in Danish or English.

A cluster coordinator is a GP who must read their clinics' numbers in front of colleagues. Every
heading, sentence, table header, axis label and "how to read this chart" box of the report is
made here, from tidy frames (:mod:`evaluation.data.cluster`,
:mod:`evaluation.methods.cluster_feedback`), through the gettext catalogue
(:mod:`evaluation.i18n`) and the locale-aware formatters of
:mod:`evaluation.reports.present`. The notebook only calls these functions.

Two rules hold throughout:

- the cluster's own clinics are named by letter (A, B, C, ...); the region's other clinics are
  anonymous points, never labelled, listed or described one by one;
- no count of persons below the disclosure threshold is shown
  (:func:`evaluation.reports.disclosure.suppress_small_counts`).

>>> heading("glance", "da")
'Klyngen i tal'
>>> rate_label("nsaid", "da")
'NSAID, DDD pr. 1.000 tilmeldte patienter pr. dag'
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pandas as pd

from evaluation.data.catalogue import TOPIC_INDICATOR
from evaluation.i18n import N_, check_lang, translate
from evaluation.markup import escape_markdown
from evaluation.palette import OKABE_ITO
from evaluation.reports.disclosure import disclosure_threshold, suppress_mark
from evaluation.reports.present import (
    MISSING,
    describe_change,
    format_count,
    format_date,
    format_month,
    format_number,
    format_percent,
    reader_table,
)

__all__ = [
    "HEADINGS",
    "INDICATOR_NAMES",
    "RATE_LABELS",
    "TOPIC_NAMES",
    "ReadingGuide",
    "alt_over_time",
    "at_a_glance_table",
    "attendance_alt",
    "attendance_sentence",
    "attendance_table",
    "change_sentence",
    "change_table",
    "data_quality_sentences",
    "feedback_findings",
    "figure_image",
    "funnel_alt",
    "funnel_guide",
    "funnel_sentence",
    "funnel_withheld_sentence",
    "glance_sentence",
    "heading",
    "indicator_name",
    "level_sentence",
    "method_notes",
    "plot_attendance",
    "plot_over_time",
    "plot_practice_variation",
    "plot_spc",
    "rate_label",
    "report_title",
    "spc_alt",
    "spc_guide",
    "spc_sentence",
    "topic_name",
]

HEADINGS = {
    "glance": N_("The cluster at a glance"),
    "over_time": N_("Prescribing over time"),
    "variation": N_("Practice variation in the region"),
    "spc": N_("The cluster's monthly rate on a control chart"),
    "change": N_("Did prescribing change after the topic meeting?"),
    "attendance": N_("Attendance at the cluster's meetings"),
    "quality": N_("Notes on the data"),
    "method": N_("How the numbers were made"),
}

INDICATOR_NAMES = {
    "nsaid": N_("NSAIDs"),
    "antibiotics": N_("antibiotics"),
    "eye_antibiotics": N_("eye antibiotics"),
    "dependence_producing": N_("dependence-producing drugs"),
}

RATE_LABELS = {
    "nsaid": N_("NSAID, DDD per 1,000 listed patients per day"),
    "antibiotics": N_("Antibiotics, DDD per 1,000 listed patients per day"),
    "eye_antibiotics": N_("Eye antibiotics, DDD per 1,000 listed patients per day"),
    "dependence_producing": N_("Dependence-producing drugs, DDD per 1,000 listed patients per day"),
}

TOPIC_NAMES = {
    "nsaid": N_("NSAIDs"),
    "antibiotics_respiratory": N_("antibiotics for respiratory infections"),
    "conjunctivitis": N_("conjunctivitis"),
    "dependence_producing": N_("dependence-producing drugs"),
    "diabetes": N_("diabetes"),
    "copd": N_("COPD"),
    "organisation": N_("the cluster's organisation and local priorities"),
}

_LEVEL_NAMES = {
    "cluster": N_("Your cluster"),
    "region": N_("The region"),
    "country": N_("Denmark"),
}


def _(message: str, lang: str) -> str:
    return translate(message, lang)


def heading(key: str, lang: str = "en") -> str:
    """A section heading of the report (keys of :data:`HEADINGS`)."""
    return _(HEADINGS[key], check_lang(lang))


def report_title(cluster_id: str, lang: str = "en") -> str:
    """The report's title as Markdown: "Feedback report for cluster C002".

    The id comes from the data and the command line, so it is escaped: a cluster id that
    spells markup shows as its characters.
    """
    return _(N_("Feedback report for cluster {cluster}"), check_lang(lang)).format(
        cluster=escape_markdown(cluster_id)
    )


def indicator_name(indicator: str, lang: str = "en") -> str:
    """The indicator as a plural noun in running text ("NSAIDs", "antibiotika")."""
    return _(INDICATOR_NAMES[indicator], check_lang(lang))


def rate_label(indicator: str, lang: str = "en") -> str:
    """The axis and table label of an indicator's rate."""
    return _(RATE_LABELS[indicator], check_lang(lang))


def topic_name(topic: str, lang: str = "en") -> str:
    """A meeting topic in running text ("NSAIDs", "KOL")."""
    return _(TOPIC_NAMES[topic], check_lang(lang)) if topic in TOPIC_NAMES else str(topic)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- the cluster at a glance ------------------------------------------------------------------


def at_a_glance_table(glance: Mapping[str, Any], cluster_name: str, region_name: str, lang="en"):
    """The cluster in six rows: name, region, clinics, GPs, listed patients, meetings held."""
    lang = check_lang(lang)
    threshold = disclosure_threshold()

    def count(n):  # clinics and GPs are persons or small groups: the threshold applies
        return suppress_mark(threshold) if 0 < n < threshold else format_count(n, lang)

    held = glance["n_meetings"]
    when = (
        f"{format_month(glance['first_meeting'], lang)} – "
        f"{format_month(glance['last_meeting'], lang)}"
        if held
        else MISSING
    )
    rows = [
        (_(N_("Cluster"), lang), cluster_name),
        (_(N_("Region"), lang), region_name),
        (_(N_("Clinics"), lang), count(glance["n_clinics"])),
        (_(N_("GPs"), lang), count(glance["n_gps"])),
        (_(N_("Listed patients"), lang), format_count(glance["listed_patients"], lang)),
        (_(N_("Meetings held"), lang), f"{format_count(held, lang)} ({when})"),
    ]
    frame = pd.DataFrame(rows, columns=[_(N_("What"), lang), _(N_("Number"), lang)])
    return reader_table(frame, lang=lang)


def glance_sentence(glance: Mapping[str, Any], lang: str = "en") -> str:
    """What the cluster met on, in one sentence."""
    lang = check_lang(lang)
    topics = [t for t in glance["topics"] if t != "organisation"]
    if not glance["n_meetings"]:
        return _(N_("No meeting of the cluster is recorded in the study window."), lang)
    if not topics:
        return _(
            N_(
                "The cluster's meetings were about its organisation and local priorities: it "
                "held no meeting on a prescribing topic or a disease in the study window."
            ),
            lang,
        )
    names = [topic_name(t, lang) for t in topics]
    and_word = _(N_("and"), lang)
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {and_word} {names[-1]}"
    return _(N_("Besides its own organisation, the cluster met on {topics}."), lang).format(
        topics=listed
    )


# -- prescribing over time --------------------------------------------------------------------


def tick_number(value: float, digits: int = 0, lang: str = "en") -> str:
    """A tick label with the locale's separators, as :func:`format_number` writes it but
    without a Babel call per tick (a figure asks for its labels many times while drawing).

    >>> tick_number(1234.5, 1, "da"), tick_number(1234.5, 1, "en"), tick_number(-0.25, 2, "da")
    ('1.234,5', '1,234.5', '-0,25')
    """
    text = f"{value:,.{digits}f}"
    if check_lang(lang) == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _number_axis(ax, lang: str, digits: int = 0, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda v, _pos: tick_number(v, digits, lang))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _figure(nrows: int, height: float, **options):
    """A report figure without a layout engine: constrained layout costs more than the rest of
    the drawing, and the PNG is cropped to its content anyway (``bbox_inches="tight"``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, 1, figsize=(7.5, height), layout="none", **options)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.92, bottom=0.1, hspace=0.3)
    return fig, axes


def _years(values) -> Any:
    """Dates as decimal years (2019.25 is 1 Apr 2019). The charts draw time as plain numbers:
    matplotlib's date axis costs more to draw than the rest of a chart, and the ticks show
    whole years only.

    >>> _years(pd.Series(pd.to_datetime(["2019-01-01", "2019-07-02"]))).round(2).tolist()
    [2019.0, 2019.5]
    """
    if isinstance(values, pd.Timestamp | str):
        return _years(pd.Series([values])).iloc[0]
    stamps = pd.to_datetime(pd.Series(values))
    return stamps.dt.year + (stamps.dt.dayofyear - 1) / 365.25


def _year_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    ax.xaxis.set_major_locator(MultipleLocator(1))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}"))


def plot_over_time(
    series: pd.DataFrame,
    meetings: Mapping[str, Sequence[pd.Timestamp]],
    lang: str = "en",
):
    """The cluster's monthly rate against its region and the country, one panel per indicator.

    Parameters
    ----------
    series : ``indicator``, ``level`` ("cluster", "region", "country"), ``month`` and
        ``ddd_per_1000_per_day``.
    meetings : ``{indicator: [dates of the cluster's meetings on its topic]}``, drawn as
        dotted vertical lines.

    Returns
    -------
    The matplotlib figure.
    """

    lang = check_lang(lang)
    indicators = list(dict.fromkeys(series["indicator"]))
    fig, axes = _figure(len(indicators), 2.5 + 2.1 * (len(indicators) - 1), sharex=True)
    axes = [axes] if len(indicators) == 1 else list(axes)
    styles = {
        "cluster": {"color": OKABE_ITO["blue"], "lw": 2.0},
        "region": {"color": OKABE_ITO["orange"], "lw": 1.4},
        "country": {"color": OKABE_ITO["black"], "lw": 1.0, "ls": "--"},
    }
    for ax, indicator in zip(axes, indicators, strict=True):
        own = series[series["indicator"] == indicator]
        for level, style in styles.items():
            line = own[own["level"] == level]
            if not line.empty:
                ax.plot(
                    _years(line["month"]),
                    line["ddd_per_1000_per_day"],
                    label=_(_LEVEL_NAMES[level], lang),
                    **style,
                )
        for k, date in enumerate(meetings.get(indicator, [])):
            label = _(N_("The cluster's meetings on the topic"), lang) if k == 0 else None
            ax.axvline(_years(date), color=OKABE_ITO["vermillion"], ls=":", lw=1.3, label=label)
        ax.set_title(rate_label(indicator, lang), loc="left")
        ax.set_ylim(bottom=0)
        _number_axis(ax, lang)
    axes[0].legend(loc="lower left", ncols=4, fontsize=8.5)
    _year_axis(axes[-1])
    return fig


def alt_over_time(indicators: Sequence[str], has_meeting: Mapping[str, bool], lang="en") -> str:
    """Alt text for :func:`plot_over_time`: what it shows, not its numbers."""
    lang = check_lang(lang)
    names = ", ".join(indicator_name(i, lang) for i in indicators)
    text = _(
        N_(
            "Line chart of monthly prescribing of {names}: the cluster against its region and "
            "Denmark."
        ),
        lang,
    ).format(names=names)
    if any(has_meeting.values()):
        text += " " + _(N_("Dotted lines mark the cluster's meetings on the topic."), lang)
    return text


def level_sentence(
    indicator: str, rates: Mapping[str, float], months: int = 12, lang: str = "en"
) -> str:
    """The cluster's rate over the last ``months`` months beside the region's and the country's.

    ``rates``: ``{"cluster": r, "region": r, "country": r}`` (country may be missing).
    """
    lang = check_lang(lang)
    text = _(
        N_(
            "Over the last {months} months the cluster's clinics prescribed {cluster} DDD of "
            "{name} per 1,000 listed patients per day, against {region} in the region"
        ),
        lang,
    ).format(
        months=format_count(months, lang),
        cluster=format_number(rates["cluster"], 1, lang),
        name=indicator_name(indicator, lang),
        region=format_number(rates["region"], 1, lang),
    )
    if rates.get("country") is not None and not pd.isna(rates.get("country")):
        text += " " + _(N_("and {country} in Denmark as a whole"), lang).format(
            country=format_number(rates["country"], 1, lang)
        )
    return text + "."


# -- practice variation -----------------------------------------------------------------------


@dataclass
class ReadingGuide:
    """A "how to read this chart" box in plain words (HTML in a notebook and a report)."""

    title: str
    paragraphs: list[str]
    lang: str = "en"

    def to_html(self) -> str:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in self.paragraphs)
        return (
            f'<aside class="how-to-read" lang="{self.lang}" style="border-left:4px solid '
            f'{OKABE_ITO["sky_blue"]};padding:0.4em 1em;margin:0.8em 0;background:#f4f9fc">'
            f"<p><strong>{html.escape(self.title)}</strong></p>{body}</aside>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return f"**{self.title}**\n\n" + "\n\n".join(self.paragraphs)


def funnel_guide(lang: str = "en") -> ReadingGuide:
    """How to read the practice-variation funnel, for a GP who has not met one before."""
    lang = check_lang(lang)
    return ReadingGuide(
        _(N_("How to read this chart"), lang),
        [
            _(
                N_(
                    "Each dot is one clinic in the region. Your cluster's clinics are the blue "
                    "dots with a letter; the grey dots are the region's other clinics, shown "
                    "without names. Your coordinator has the key to the letters."
                ),
                lang,
            ),
            _(
                N_(
                    "Height shows how much a clinic prescribed compared with the region as a "
                    "whole: 1 is the region's rate, 1.2 is 20 % more and 0.8 is 20 % less, "
                    "taking the size of each clinic's list into account. Further right means a "
                    "larger clinic."
                ),
                lang,
            ),
            _(
                N_(
                    "The funnel shows how far from the line a clinic can sit by chance alone. A "
                    "small clinic can sit far from the line by chance, so the funnel is wide on "
                    "the left. A dot outside the funnel is a reason to talk about what lies "
                    "behind it (the patients, the way of working, the data), not a verdict on "
                    "the clinic."
                ),
                lang,
            ),
        ],
        lang,
    )


def funnel_withheld_sentence(n_region: int, n_cluster: int, lang: str = "en") -> str:
    """The sentence shown instead of the funnel when too few clinics make it unsafe or empty."""
    lang = check_lang(lang)
    if n_cluster < 3:
        return _(
            N_(
                "The cluster has fewer than three clinics, so a chart of the region's clinics "
                "would let colleagues recognise each other's clinics: it is left out. Ask the "
                "regional quality unit for your own clinic's figures."
            ),
            lang,
        )
    return _(
        N_(
            "The region has too few clinics with data ({n}) for a funnel chart to say anything "
            "about variation between clinics: it is left out."
        ),
        lang,
    ).format(n=format_count(n_region, lang))


def plot_practice_variation(
    units: pd.DataFrame, limits: pd.DataFrame, letters: Mapping[str, str], lang: str = "en"
):
    """The region's clinics on a funnel, the cluster's own clinics labelled by letter only.

    Parameters
    ----------
    units : :meth:`FunnelResult.to_frame` (``group`` holds the clinic id; ids are never drawn).
    limits : :meth:`FunnelResult.limits` (curves).
    letters : ``{clinic_id: letter}`` of the cluster's own clinics.
    """
    from matplotlib.ticker import LogLocator, NullFormatter

    lang = check_lang(lang)
    fig, ax = _figure(1, 4.2)
    curves = limits.sort_values("denominator")
    for level, style in (("95", "--"), ("998", "-")):
        for side in ("lower", "upper"):
            ax.plot(
                curves["denominator"],
                curves[f"{side}_{level}"],
                color="0.5",
                ls=style,
                lw=1.0,
            )
    ax.axhline(1.0, color="0.3", lw=1.0)
    own = units["group"].isin(set(letters))
    others = units[~own]
    ax.scatter(
        others["denominator"],
        others["value"],
        s=16,
        color="0.65",
        label=_(N_("Other clinics in the region"), lang),
        zorder=2,
    )
    mine = units[own]
    ax.scatter(
        mine["denominator"],
        mine["value"],
        s=40,
        color=OKABE_ITO["blue"],
        edgecolor="white",
        label=_(N_("Your cluster's clinics"), lang),
        zorder=3,
    )
    # a log scale spreads the many small clinics that would otherwise crowd the left edge
    ax.set_xscale("log")
    points = [(letters[r.group], r.denominator, r.value) for r in mine.itertuples(index=False)]
    for (letter, x, y), offset in zip(points, _label_offsets(ax, points), strict=True):
        ax.annotate(
            letter,
            (x, y),
            xytext=offset,
            textcoords="offset points",
            fontsize=9,
            fontweight="bold",
            color=OKABE_ITO["blue"],
        )
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(_(N_("Clinic size: prescriptions expected in the last 12 months"), lang))
    ax.set_ylabel(
        _(N_("Prescribing compared with the region (1 = the region's rate)"), lang), fontsize=9
    )
    _number_axis(ax, lang, digits=1)
    _number_axis(ax, lang, digits=0, axis="x")
    ax.legend(loc="upper right", fontsize=8.5)
    return fig


#: where a clinic's letter may sit around its dot (points): right-up, right-down, left-up, ...
_OFFSETS = ((4, 3), (4, -10), (-11, 3), (-11, -10), (4, 11), (-11, 11))


def _label_offsets(ax, points: Sequence[tuple[str, float, float]]) -> list[tuple[int, int]]:
    """An offset for each letter, chosen so that letters of nearby dots do not overprint each
    other: greedily, the first candidate at least 12 points from every letter already placed,
    else the one farthest from them."""
    ax.autoscale_view()
    to_points = 72 / ax.figure.dpi
    placed: list[tuple[float, float]] = []
    offsets = []
    for _letter, x, y in points:
        px, py = (v * to_points for v in ax.transData.transform((x, y)))

        def clearance(offset, px=px, py=py):
            cx, cy = px + offset[0], py + offset[1]
            return min((abs(cx - qx) + abs(cy - qy) for qx, qy in placed), default=1e9)

        # the usual place (right, above) unless a letter is already near it
        free = [o for o in _OFFSETS if clearance(o) >= 12]
        best = free[0] if free else max(_OFFSETS, key=clearance)
        offsets.append(best)
        placed.append((px + best[0], py + best[1]))
    return offsets


def funnel_sentence(units: pd.DataFrame, letters: Mapping[str, str], lang: str = "en") -> str:
    """Where the cluster's own clinics sit on the funnel, by letter, in plain words."""
    lang = check_lang(lang)
    mine = units[units["group"].isin(set(letters))].copy()
    mine["letter"] = mine["group"].map(letters)
    mine = mine.assign(order=mine["letter"].map(lambda t: (len(t), t))).sort_values("order")
    above = mine.loc[mine["value"] > mine["upper_998"], "letter"].tolist()
    below = mine.loc[mine["value"] < mine["lower_998"], "letter"].tolist()
    inside = len(mine) - len(above) - len(below)
    message = (
        N_("All {n} of the cluster's clinics lie inside the funnel.")
        if inside == len(mine)
        else N_("{inside} of the cluster's {n} clinics lie inside the funnel.")
    )
    parts = [
        _(message, lang).format(inside=format_count(inside, lang), n=format_count(len(mine), lang))
    ]
    if above:
        parts.append(
            _(N_("Above it (prescribing more than chance explains): {letters}."), lang).format(
                letters=", ".join(above)
            )
        )
    if below:
        parts.append(
            _(N_("Below it (prescribing less than chance explains): {letters}."), lang).format(
                letters=", ".join(below)
            )
        )
    if above or below:
        parts.append(
            _(
                N_(
                    "These are the clinics worth a conversation in the cluster, starting with "
                    "what is different about their patients and their data."
                ),
                lang,
            )
        )
    return " ".join(parts)


# -- control chart ----------------------------------------------------------------------------


def spc_guide(lang: str = "en") -> ReadingGuide:
    """How to read the control chart."""
    lang = check_lang(lang)
    return ReadingGuide(
        _(N_("How to read this chart"), lang),
        [
            _(
                N_(
                    "The dots are your cluster's monthly rate. The solid line is the average "
                    "and the dashed lines the limits within which months vary by chance. The "
                    "average and limits are worked out separately before and after the "
                    "cluster's meeting on the topic, so a lasting change shows as a new level."
                ),
                lang,
            ),
            _(
                N_(
                    "Orange dots are signals: a month outside the limits, or a run of months on "
                    "one side of the average or going the same way, which chance rarely "
                    "produces. A signal is worth looking into; months inside the limits are "
                    "ordinary variation, however they zigzag."
                ),
                lang,
            ),
        ],
        lang,
    )


def plot_spc(chart: pd.DataFrame, y_label: str, split=None, lang: str = "en"):
    """The phased control chart from :func:`evaluation.methods.cluster_feedback.spc_in_phases`."""

    lang = check_lang(lang)
    fig, ax = _figure(1, 3.4)
    for _phase, part in chart.groupby("phase", sort=False):
        x = _years(part["x"])
        ax.plot(x, part["y"], color=OKABE_ITO["blue"], marker="o", ms=3, lw=1.0)
        ax.plot(x, part["centre"], color="0.2", lw=1.2)
        ax.plot(x, part["upper"], color="0.45", lw=1.0, ls="--")
        ax.plot(x, part["lower"], color="0.45", lw=1.0, ls="--")
    signals = chart[chart["special_cause"].astype(bool)]
    if not signals.empty:
        ax.plot(
            _years(signals["x"]),
            signals["y"],
            "o",
            ms=5,
            color=OKABE_ITO["orange"],
            label=_(N_("Signal"), lang),
        )
        ax.legend(loc="lower left", fontsize=8.5)
    if split is not None and chart["phase"].nunique() > 1:
        ax.axvline(_years(pd.Timestamp(split)), color=OKABE_ITO["vermillion"], ls=":", lw=1.3)
    ax.set_ylabel(y_label)
    ax.yaxis.label.set_size(9)
    _number_axis(ax, lang, digits=0)
    _year_axis(ax)
    return fig


def spc_sentence(chart: pd.DataFrame, topic_words: str | None, lang: str = "en") -> str:
    """The control chart in words: the level before and after the meeting, and the signals."""
    lang = check_lang(lang)
    centres = chart.groupby("phase", sort=False)["centre"].first()
    signals = chart[chart["special_cause"].astype(bool)]
    if {"before", "after"} <= set(centres.index):
        text = _(
            N_(
                "The average monthly rate was {before} before the cluster's meeting on "
                "{topic} and {after} after it."
            ),
            lang,
        ).format(
            before=format_number(centres["before"], 1, lang),
            after=format_number(centres["after"], 1, lang),
            topic=topic_words,
        )
    else:
        text = _(N_("The average monthly rate over the whole period was {centre}."), lang).format(
            centre=format_number(centres.iloc[0], 1, lang)
        )
        if topic_words is not None:
            text += " " + _(
                N_("There are too few months on one side of the meeting to split the chart."),
                lang,
            )
    if signals.empty:
        text += " " + _(
            N_("No month gives a signal: the variation is what chance alone produces."), lang
        )
    else:
        months = sorted(pd.to_datetime(signals["x"]))
        text += " " + _(
            N_("{n} months give a signal, the first in {first} and the last in {last}."), lang
        ).format(
            n=format_count(len(months), lang),
            first=format_month(months[0], lang),
            last=format_month(months[-1], lang),
        )
    return text


# -- change after the meeting -----------------------------------------------------------------


def change_sentence(
    indicator: str,
    cluster: Mapping[str, float] | None,
    region: Mapping[str, float] | None,
    meeting_date=None,
    lang: str = "en",
) -> str:
    """The cluster's step at its topic meeting beside the region's, honest about uncertainty."""
    lang = check_lang(lang)
    name = indicator_name(indicator, lang)
    if meeting_date is None:
        return _(
            N_(
                "The cluster held no meeting on the topic of {name}, so there is no change "
                "after a meeting to measure."
            ),
            lang,
        ).format(name=name)
    if cluster is None:
        return _(
            N_(
                "The cluster's meeting on {name} ({date}) leaves fewer than 12 months of data "
                "on one side, too few to measure a change."
            ),
            lang,
        ).format(name=name, date=format_date(meeting_date, lang))
    what = _(
        N_("The cluster's prescribing of {name} after its meeting on the topic ({date})"), lang
    ).format(name=name, date=format_date(meeting_date, lang))
    text = describe_change(
        cluster["rate_ratio"],
        cluster["ci_low"],
        cluster["ci_high"],
        what=what,
        ratio=True,
        lang=lang,
    )
    if region is not None:
        text += " " + describe_change(
            region["rate_ratio"],
            region["ci_low"],
            region["ci_high"],
            what=_(
                N_(
                    "Prescribing in the region's {n} clinics whose cluster met on the topic "
                    "(each at its own cluster's meeting)"
                ),
                lang,
            ).format(n=format_count(region["n_clinics"], lang)),
            ratio=True,
            lang=lang,
        )
    return text


def change_table(rows: Sequence[Mapping[str, Any]], lang: str = "en"):
    """One row per indicator: the cluster's and the region's change, as % with 95% CI.

    ``rows``: dicts with ``indicator``, ``cluster`` and ``region`` (results or None).
    """
    lang = check_lang(lang)

    def percent(result):
        if result is None:
            return MISSING
        low, high = (100 * (result[k] - 1) for k in ("ci_low", "ci_high"))
        estimate = 100 * (result["rate_ratio"] - 1)
        to = _(N_("to"), lang)
        return (
            f"{format_number(estimate, 1, lang)} ({format_number(low, 1, lang)} {to} "
            f"{format_number(high, 1, lang)})"
        )

    frame = pd.DataFrame(
        {
            _(N_("Indicator"), lang): [
                _capital(indicator_name(r["indicator"], lang)) for r in rows
            ],
            _(N_("Your cluster: change, % (95% CI)"), lang): [percent(r["cluster"]) for r in rows],
            _(N_("The region: change, % (95% CI)"), lang): [percent(r["region"]) for r in rows],
        }
    )
    return reader_table(frame, lang=lang)


# -- attendance -------------------------------------------------------------------------------


def attendance_table(meetings: pd.DataFrame, lang: str = "en"):
    """The cluster's meetings with the GPs invited and the share who came; counts below the
    disclosure threshold (and shares that would reveal them) are suppressed."""
    lang = check_lang(lang)
    threshold = disclosure_threshold()
    mark = suppress_mark(threshold)

    def small(n) -> bool:
        return 0 < n < threshold

    rows = []
    for m in meetings.itertuples(index=False):
        hidden = small(m.n_invited) or small(m.n_attended) or small(m.n_invited - m.n_attended)
        rows.append(
            (
                format_date(m.date, lang),
                _capital(topic_name(m.topic, lang)),
                mark if small(m.n_invited) else format_count(m.n_invited, lang),
                mark if hidden else format_percent(m.share_attended, 0, lang),
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            _(N_("Meeting"), lang),
            _(N_("Topic"), lang),
            _(N_("GPs invited"), lang),
            _(N_("Share attending"), lang),
        ],
    )
    note = _(
        N_(
            'A share is shown as "{mark}" where fewer than {n} GPs came or stayed away, so '
            "that no small group can be recognised."
        ),
        lang,
    ).format(mark=mark, n=format_count(threshold, lang))
    return reader_table(frame, notes=[note], lang=lang)


def plot_attendance(meetings: pd.DataFrame, lang: str = "en"):
    """The share of invited GPs who came, meeting by meeting (suppressed meetings left out)."""

    lang = check_lang(lang)
    threshold = disclosure_threshold()
    shown = meetings[
        (meetings["n_attended"] >= threshold)
        & ((meetings["n_invited"] - meetings["n_attended"]) >= threshold)
        & meetings["share_attended"].notna()
    ]
    fig, ax = _figure(1, 2.8)
    on_topic = shown["topic"].map(lambda t: t in TOPIC_INDICATOR)
    ax.plot(_years(shown["date"]), 100 * shown["share_attended"], color=OKABE_ITO["blue"], lw=1.2)
    ax.plot(
        _years(shown.loc[~on_topic, "date"]),
        100 * shown.loc[~on_topic, "share_attended"],
        "o",
        color=OKABE_ITO["blue"],
        ms=5,
        label=_(N_("Other meetings"), lang),
    )
    ax.plot(
        _years(shown.loc[on_topic, "date"]),
        100 * shown.loc[on_topic, "share_attended"],
        "D",
        color=OKABE_ITO["vermillion"],
        ms=6,
        label=_(N_("Meetings on a prescribing topic"), lang),
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel(_(N_("GPs attending, %"), lang))
    ax.legend(loc="lower left", fontsize=8.5, ncols=2)
    _year_axis(ax)
    return fig


def attendance_sentence(meetings: pd.DataFrame, lang: str = "en") -> str:
    """Attendance over the cluster's meetings, in words: overall share, first and last year."""
    lang = check_lang(lang)
    if meetings.empty or meetings["n_invited"].sum() == 0:
        return _(N_("No attendance is recorded for the cluster's meetings."), lang)
    overall = meetings["n_attended"].sum() / meetings["n_invited"].sum()
    years = meetings.assign(year=pd.to_datetime(meetings["date"]).dt.year).groupby("year")
    by_year = years["n_attended"].sum() / years["n_invited"].sum()
    text = _(N_("Across its {n} meetings, {share} of the invited GPs came."), lang).format(
        n=format_count(len(meetings), lang), share=format_percent(overall, 0, lang)
    )
    if len(by_year) > 1:
        text += " " + _(N_("In {first_year} it was {first}, in {last_year} {last}."), lang).format(
            first_year=by_year.index[0],
            first=format_percent(by_year.iloc[0], 0, lang),
            last_year=by_year.index[-1],
            last=format_percent(by_year.iloc[-1], 0, lang),
        )
    return text


# -- data quality -----------------------------------------------------------------------------


def data_quality_sentences(
    notes: pd.DataFrame, letters: Mapping[str, str], lang: str = "en"
) -> list[str]:
    """One sentence per note of :func:`evaluation.data.cluster.data_quality_notes`, clinics by
    letter; a single reassuring sentence when there is nothing to note."""
    lang = check_lang(lang)
    if notes.empty:
        return [
            _(
                N_(
                    "No months are missing, no clinic joined or left during the period, and no "
                    "clinic's list changed by more than 25 % from one month to the next."
                ),
                lang,
            )
        ]
    templates = {
        "joined": N_("Clinic {letter} has data only from {month} (it joined later)."),
        "left": N_("Clinic {letter}'s data end in {month} (it left or closed)."),
        "missing": N_("Clinic {letter} lacks data for {n} months, the first in {month}."),
        "list_jump": N_(
            "Clinic {letter}'s list changed by {change} in {month}: a merger, a split or a "
            "registration error moves its rate too."
        ),
    }
    sentences = []
    for note in notes.itertuples(index=False):
        change = "" if pd.isna(note.change) else format_percent(note.change, 0, lang)
        sentences.append(
            _(templates[note.note], lang).format(
                letter=letters.get(note.clinic_id, "?"),
                month=format_month(note.month, lang),
                n=format_count(note.n_months, lang),
                change=change,
            )
        )
    return sentences


def method_notes(lang: str = "en") -> list[str]:
    """The method in a few plain sentences, for the end of the report."""
    lang = check_lang(lang)
    return [
        _(
            N_(
                "Rates are defined daily doses (DDD) per 1,000 listed patients per day, the "
                "WHO's measure of drug use, from the clinics' monthly prescribing."
            ),
            lang,
        ),
        _(
            N_(
                "The funnel compares each clinic's prescriptions in the last 12 months with "
                "what the region's rate of each month would give its list, with limits widened "
                "for the variation between clinics that chance alone does not explain."
            ),
            lang,
        ),
        _(
            N_(
                "The change after a meeting is a segmented regression on the cluster's monthly "
                "series (trend before, step at the meeting, trend after): a step whose interval "
                "includes no change cannot be told from chance. It does not prove that the "
                "meeting caused the change."
            ),
            lang,
        ),
    ]


# -- alt text and key findings ---------------------------------------------------------------


def funnel_alt(indicator: str, lang: str = "en") -> str:
    """Alt text of the practice-variation funnel."""
    return _(
        N_(
            "Funnel chart of {name} prescribing in the region's clinics compared with the "
            "region's rate; the cluster's own clinics are marked with letters, the other "
            "clinics are unnamed grey dots."
        ),
        check_lang(lang),
    ).format(name=indicator_name(indicator, lang))


def spc_alt(indicator: str, split: bool, lang: str = "en") -> str:
    """Alt text of the control chart."""
    lang = check_lang(lang)
    text = _(
        N_(
            "Control chart of the cluster's monthly {name} prescribing with its average and limits."
        ),
        lang,
    ).format(name=indicator_name(indicator, lang))
    if split:
        text += " " + _(N_("The chart is split at the cluster's meeting on the topic."), lang)
    return text


def attendance_alt(lang: str = "en") -> str:
    """Alt text of the attendance chart."""
    return _(
        N_(
            "Chart of the share of invited GPs who attended each of the cluster's meetings, "
            "meetings on a prescribing topic marked."
        ),
        check_lang(lang),
    )


def feedback_findings(
    change: str, funnel: str, attendance: str, n_data_notes: int, lang: str = "en"
) -> list[str]:
    """The key findings of a cluster report: the change after the meeting, the clinics on the
    funnel, attendance and, when there are any, how many notes on the data to read first."""
    lang = check_lang(lang)
    findings = [change, funnel, attendance]
    if n_data_notes:
        findings.append(
            _(N_("Read the notes on the data before drawing conclusions ({n})."), lang).format(
                n=format_count(n_data_notes, lang)
            )
        )
    return findings


# -- figures as images with alt text in the report's language ---------------------------------


def figure_image(fig, alt: str, dpi: int = 96):
    """``fig`` as an inline PNG at twice ``dpi`` (sharp in print) with its alt text, closed.

    Returns an :class:`IPython.display.Image` whose ``alt`` metadata the report renderer puts
    on the ``<img>``, so that the description is in the report's language, and whose
    ``value_labels`` (every text on the axes: the clinic letters) the disclosure check reads.
    """
    import matplotlib.pyplot as plt
    from IPython.display import Image

    from evaluation.reports.figures import ALT_KEY, LABELS_KEY, value_labels

    # the texts written on the axes travel with the image, for the disclosure check
    metadata = {ALT_KEY: alt, LABELS_KEY: value_labels(fig)}
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=2 * dpi, bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="png", retina=True, metadata=metadata)
