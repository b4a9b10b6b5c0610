"""Joint displays: themes beside the clusters' effects and attendance, as tables, HTML and plots.

- :func:`pick_quotes`: an illustrative passage per code, from clusters that raised it;
- :func:`joint_display`: per theme, the clusters that raised it with their effect (interval) and
  attendance rate, the mean effect and attendance with and without the theme, and a quote;
- :func:`side_by_side`: per theme, the quantitative result and the qualitative finding as two
  sentences next to each other;
- :func:`html_table`: either as an HTML table in which every cell is escaped;
- :func:`theme_overview`, :func:`comparison_table`, :func:`correlation_table`,
  :func:`typology_table`, :func:`significant_relations`: the join's tables in a report's words;
- :func:`theme_share_plot`, :func:`theme_effect_plot`, :func:`typology_plot`: the pictures.

Clusters are named by their interview label ("Interview 07"), not their cluster id, so that a
shared report does not tie a quote to a coordinator; quotes come pseudonymised from the store.
A cluster's attendance is shown in bands (:func:`attendance_band`: under 50%, 50-75%, over 75%),
never as its exact rate, and means over fewer than :data:`MIN_GROUP_FOR_MEANS` clusters are left
out: report 02 shows every cluster's attendance by cluster id, and an exact rate here would pin
an interview to its cluster.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from evaluation.data.catalogue import readable_code
from evaluation.methods.checks import require_columns, require_frame
from evaluation.palette import OKABE_ITO

# the typology's four types: Okabe-Ito colours that differ in hue and in lightness
TYPE_COLOURS = [
    OKABE_ITO[name] for name in ("blue", "orange", "reddish_purple", "sky_blue", "black", "yellow")
]

__all__ = [
    "pick_quotes",
    "joint_display",
    "side_by_side",
    "html_table",
    "theme_overview",
    "comparison_table",
    "correlation_table",
    "typology_table",
    "significant_relations",
    "theme_share_plot",
    "theme_effect_plot",
    "typology_plot",
    "attendance_band",
]

#: the bands a cluster's attendance rate is shown in: (upper limit, words), lowest first
ATTENDANCE_BANDS = ((0.50, "under 50%"), (0.75, "50-75%"), (float("inf"), "over 75%"))
#: a mean of a group of fewer clusters is not shown: it would show one cluster's value
MIN_GROUP_FOR_MEANS = 3


def attendance_band(rate: float) -> str:
    """The band a cluster's attendance rate (0-1) falls in, in words; "unknown" if missing.

    >>> [attendance_band(r) for r in (0.42, 0.5, 0.749, 0.75, 0.93)]
    ['under 50%', '50-75%', '50-75%', 'over 75%', 'over 75%']
    """
    if rate is None or pd.isna(rate):
        return "unknown"
    return next(words for upper, words in ATTENDANCE_BANDS if float(rate) < upper)


#: what a join's outcome columns are called in a report (the effect's words come from the run)
OUTCOME_WORDS = {"attendance_rate": "Attendance rate"}


def pick_quotes(
    segments: pd.DataFrame,
    texts: dict[int, str],
    cluster_of_document: dict[int, str],
    code_paths: dict[str, str],
    *,
    raised: pd.DataFrame | None = None,
    ideal_length: int = 200,
) -> pd.DataFrame:
    """One passage per code: of the passages (document_id, code_key, start, end) in documents of
    linked clusters, the one closest to ``ideal_length`` characters (ties: earliest). With
    ``raised`` (cluster_id x code presence), only clusters that raised the code qualify.
    Returns code, cluster_id, text (whitespace collapsed).

    Examples
    --------
    >>> import pandas as pd
    >>> segments = pd.DataFrame({"document_id": [1, 1], "code_key": ["data", "data"],
    ...                          "start": [0, 14], "end": [13, 46]})
    >>> texts = {1: "Data is late. The portal keeps logging us out."}
    >>> pick_quotes(segments, texts, {1: "C001"}, {"data": "Data/Challenges"}, ideal_length=25)
                  code cluster_id                              text
    0  Data/Challenges       C001  The portal keeps logging us out.
    """
    require_columns(segments, ["document_id", "code_key", "start", "end"], "pick_quotes: segments")
    rows = segments[segments["document_id"].isin(cluster_of_document)].copy()
    if rows.empty:
        return pd.DataFrame(columns=["code", "cluster_id", "text"])
    rows["cluster_id"] = rows["document_id"].map(cluster_of_document)
    rows["code"] = rows["code_key"].map(code_paths)
    if raised is not None:
        ok = [
            bool(raised.at[c, p]) if c in raised.index and p in raised.columns else False
            for c, p in zip(rows["cluster_id"], rows["code"])
        ]
        rows = rows[np.array(ok, dtype=bool)]
    rows["fit"] = ((rows["end"] - rows["start"]) - ideal_length).abs()
    rows = rows.sort_values(["code", "fit", "document_id", "start"], kind="stable").drop_duplicates(
        "code"
    )
    rows["text"] = [
        " ".join(texts[d][s:e].split())
        for d, s, e in zip(rows["document_id"], rows["start"], rows["end"])
    ]
    return rows[["code", "cluster_id", "text"]].reset_index(drop=True)


def _interval(estimate: float, low: float, high: float, digits: int) -> str:
    if pd.isna(estimate):
        return "no estimate"
    return f"{estimate:.{digits}f} ({low:.{digits}f} to {high:.{digits}f})"


def _rounded_mean(values: pd.Series, scale: float, digits: int) -> float:
    values = values.dropna()
    if len(values) < MIN_GROUP_FOR_MEANS:  # one or two clusters' own values: not shown
        return np.nan
    return round(scale * values.mean(), digits)


def joint_display(
    quantitized: pd.DataFrame,
    outcomes: pd.DataFrame,
    quotes: pd.DataFrame,
    labels: dict[str, str],
    *,
    effect: str = "effect",
    effect_ci: tuple[str, str] = ("effect_ci_low", "effect_ci_high"),
    attendance: str = "attendance_rate",
    code_level: str = "code",
    digits: int = 1,
) -> pd.DataFrame:
    """The joint display, one row per code of ``code_level`` ("code" or "theme").

    Columns: theme, clusters raising it, which (interview labels with effect and interval and
    attendance band), mean effect with / without, mean attendance with / without (percent; means
    of fewer than 3 clusters are left out), quote, quoted from. ``outcomes`` has one row per
    interviewed cluster (cluster_id, the effect, its interval, the attendance rate); ``labels``
    maps cluster ids to interview labels.

    Examples
    --------
    >>> import pandas as pd
    >>> quantitized = pd.DataFrame({"cluster_id": ["C1", "C2"], "code": "Funding/Challenges",
    ...                             "level": "code", "presence": [True, False]})
    >>> outcomes = pd.DataFrame({"cluster_id": ["C1", "C2"], "effect": [-8.0, -2.0],
    ...                          "effect_ci_low": [-12.0, -6.0], "effect_ci_high": [-4.0, 2.0],
    ...                          "attendance_rate": [0.9, 0.7]})
    >>> quotes = pd.DataFrame({"code": ["Funding/Challenges"], "cluster_id": ["C1"],
    ...                        "text": ["We pay the facilitator ourselves."]})
    >>> row = joint_display(quantitized, outcomes, quotes, {"C1": "Interview 01"}).iloc[0]
    >>> row["which (effect, 95% CI; attendance)"]
    'Interview 01: -8.0 (-12.0 to -4.0); attendance over 75%'
    """
    where = "joint_display"
    require_columns(
        quantitized, ["cluster_id", "code", "level", "presence"], f"{where}: quantitized"
    )
    require_columns(outcomes, ["cluster_id", effect, *effect_ci, attendance], f"{where}: outcomes")
    require_columns(quotes, ["code", "cluster_id", "text"], f"{where}: quotes")
    rows_q = quantitized[quantitized["level"] == code_level]
    presence = rows_q.pivot(index="cluster_id", columns="code", values="presence").astype(bool)
    out = outcomes.set_index("cluster_id")
    quote_of = (
        quotes.set_index("code") if len(quotes) else pd.DataFrame(columns=["cluster_id", "text"])
    )
    rows = []
    for code in dict.fromkeys(rows_q["code"]):
        has = presence[code]
        ids = [c for c in presence.index[has]]
        without_ids = [c for c in presence.index[~has]]
        members = []
        for cluster_id in sorted(ids, key=lambda c: labels.get(c, c)):
            item = out.loc[cluster_id] if cluster_id in out.index else None
            if item is None:
                members.append(f"{labels.get(cluster_id, cluster_id)}: not in the outcomes")
                continue
            effect_text = _interval(item[effect], item[effect_ci[0]], item[effect_ci[1]], digits)
            if pd.isna(item[effect]):
                effect_text = "no effect estimate"  # why is listed with the links
            attend = f"attendance {attendance_band(item[attendance])}"  # banded: see above
            members.append(f"{labels.get(cluster_id, cluster_id)}: {effect_text}; {attend}")

        quote = quote_of.loc[code] if code in quote_of.index else None
        rows.append(
            {
                "theme": readable_code(code),
                "clusters raising it": len(ids),
                "which (effect, 95% CI; attendance)": "\n".join(members),
                "mean effect, raised": _rounded_mean(out.reindex(ids)[effect], 1.0, digits),
                "mean effect, not raised": _rounded_mean(
                    out.reindex(without_ids)[effect], 1.0, digits
                ),
                "mean attendance %, raised": _rounded_mean(
                    out.reindex(ids)[attendance], 100.0, digits
                ),
                "mean attendance %, not raised": _rounded_mean(
                    out.reindex(without_ids)[attendance], 100.0, digits
                ),
                "illustrative quote": quote["text"] if quote is not None else "",
                "quoted from": labels.get(quote["cluster_id"], "") if quote is not None else "",
            }
        )
    return pd.DataFrame(rows)


def _p(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _comparison_sentence(row: pd.Series, what: str, unit: str, scale: float, digits: int) -> str:
    # a difference of two percentages is in percentage points
    diff_unit = " points" if unit.strip() == "%" else unit
    if row["note"]:
        return f"{what}: {row['note']}."
    verdict = "a significant difference" if row["significant"] else "no significant difference"

    def number(column: str, sign: str = "") -> str:
        return f"{scale * row[column]:{sign}.{digits}f}"

    return (
        f"{what}: {number('mean_with')}{unit} where raised (n = {int(row['n_with'])}) against "
        f"{number('mean_without')}{unit} where not (n = {int(row['n_without'])}); difference "
        f"{number('difference', '+')}{diff_unit} (95% CI {number('diff_ci_low')} to "
        f"{number('diff_ci_high')}), Hedges' g {row['hedges_g']:.2f}; Mann-Whitney p "
        f"{_p(row['mwu_p_value'])}, adjusted {_p(row['mwu_p_value_adjusted'])}: {verdict}."
    )


def side_by_side(
    comparison: pd.DataFrame,
    quantitized: pd.DataFrame,
    quotes: pd.DataFrame,
    labels: dict[str, str],
    *,
    effect: str = "effect",
    effect_words: str = "Effect",
    effect_unit: str = "",
    attendance: str = "attendance_rate",
    code_level: str = "code",
) -> pd.DataFrame:
    """Per code: 'What the registers show' (effect and attendance compared between clusters that
    raised the theme and those that did not, from :func:`~evaluation.mixed.compare_by_theme`)
    beside 'What the interviews say' (how many clusters raised it, in how many passages, and a
    quote).

    Examples
    --------
    >>> import pandas as pd
    >>> comparison = pd.DataFrame({"outcome": ["effect"], "code": ["Funding/Challenges"],
    ...     "note": ["not compared: too few clusters"]})
    >>> quantitized = pd.DataFrame({"cluster_id": ["C1", "C2"], "code": "Funding/Challenges",
    ...                             "level": "code", "presence": [True, False],
    ...                             "frequency": [3, 0]})
    >>> quotes = pd.DataFrame(columns=["code", "cluster_id", "text"])
    >>> side_by_side(comparison, quantitized, quotes, {})["What the interviews say"].iloc[0]
    'Raised in 1 of 2 interviewed clusters, in 3 coded passages.'
    """
    where = "side_by_side"
    require_columns(comparison, ["outcome", "code", "note"], f"{where}: comparison")
    require_columns(
        quantitized,
        ["cluster_id", "code", "level", "presence", "frequency"],
        f"{where}: quantitized",
    )
    require_columns(quotes, ["code", "cluster_id", "text"], f"{where}: quotes")
    rows_q = quantitized[quantitized["level"] == code_level]
    n_clusters = rows_q["cluster_id"].nunique()
    quote_of = (
        quotes.set_index("code") if len(quotes) else pd.DataFrame(columns=["cluster_id", "text"])
    )
    rows = []
    for code, group in rows_q.groupby("code", sort=False):
        found = comparison[comparison["code"] == code].set_index("outcome")
        quantitative = []
        if effect in found.index:
            quantitative.append(
                _comparison_sentence(found.loc[effect], effect_words, effect_unit, 1.0, 1)
            )
        if attendance in found.index:
            quantitative.append(
                _comparison_sentence(found.loc[attendance], "Attendance", "%", 100.0, 0)
            )
        raised = int(group["presence"].sum())
        said = (
            f"Raised in {raised} of {n_clusters} interviewed clusters, in "
            f"{int(group['frequency'].sum())} coded passages."
        )
        if code in quote_of.index:
            quoted_from = labels.get(quote_of.loc[code, "cluster_id"], "")
            said += f' "{quote_of.loc[code, "text"]}" ({quoted_from})'
        rows.append(
            {
                "theme": readable_code(code),
                "What the registers show": " ".join(quantitative),
                "What the interviews say": said,
            }
        )
    return pd.DataFrame(rows)


def html_table(
    frame: pd.DataFrame, *, caption: str | None = None, wrap: tuple[str, ...] = ()
) -> str:
    """An HTML table of ``frame`` in which every header and cell is escaped (quotes may hold
    any character), line breaks kept as <br>, numbers right-aligned; ``wrap`` columns get a
    readable width.

    Examples
    --------
    >>> import pandas as pd
    >>> table = html_table(pd.DataFrame({"quote": ["<b>late</b> & slow"]}), caption="Quotes")
    >>> '<td style="text-align:left">&lt;b&gt;late&lt;/b&gt; &amp; slow</td>' in table
    True
    """
    require_frame(frame, "html_table: frame")

    def cell(value) -> str:
        if isinstance(value, float) and np.isnan(value):
            return ""
        text = html.escape(str(value))
        return text.replace("\n", "<br>")

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column, value in row.items():
            style = (
                ' style="min-width:22em;text-align:left"'
                if column in wrap
                else (
                    ' style="text-align:right"'
                    if isinstance(value, (int, float, np.integer, np.floating))
                    else ' style="text-align:left"'
                )
            )
            cells.append(f"<td{style}>{cell(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="dataframe joint-display">{title}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def theme_effect_plot(
    outcomes: pd.DataFrame,
    quantitized: pd.DataFrame,
    codes: list[str],
    labels: dict[str, str],
    *,
    effect: str = "effect",
    effect_label: str = "Effect",
    ax=None,
):
    """Each cluster's effect, split by whether it raised each of ``codes`` (one row per code):
    points are clusters, the bar the group mean. Where the groups sit apart, the theme goes with
    the effect. Returns the matplotlib Axes.

    Examples
    --------
    >>> import pandas as pd
    >>> quantitized = pd.DataFrame({"cluster_id": ["C1", "C2", "C3", "C4"],
    ...                             "code": "Data/Challenges",
    ...                             "presence": [True, True, False, False]})
    >>> outcomes = pd.DataFrame({"cluster_id": ["C1", "C2", "C3", "C4"],
    ...                          "effect": [-3.0, -4.0, -9.0, -8.0]})
    >>> ax = theme_effect_plot(outcomes, quantitized, ["Data/Challenges"], {})
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['Data: challenges']
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    require_columns(outcomes, ["cluster_id", effect], "theme_effect_plot: outcomes")
    require_columns(
        quantitized, ["cluster_id", "code", "presence"], "theme_effect_plot: quantitized"
    )
    rows_q = quantitized[quantitized["code"].isin(codes)]
    frame = rows_q.merge(outcomes[["cluster_id", effect]], on="cluster_id").dropna(subset=[effect])
    frame["theme"] = frame["code"].map(readable_code)
    frame["raised"] = np.where(frame["presence"], "raised it", "did not")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.9 + 0.8 * len(codes)))
    order = [readable_code(c) for c in codes]
    palette = {"raised it": OKABE_ITO["blue"], "did not": OKABE_ITO["grey"]}
    hue_order = ["raised it", "did not"]
    sns.stripplot(
        data=frame,
        x=effect,
        y="theme",
        hue="raised",
        hue_order=hue_order,
        order=order,
        dodge=True,
        jitter=0.15,
        palette=palette,
        alpha=0.8,
        ax=ax,
        size=5,
    )
    sns.pointplot(
        data=frame,
        x=effect,
        y="theme",
        hue="raised",
        hue_order=hue_order,
        order=order,
        dodge=0.4,
        linestyle="none",
        errorbar=None,
        markers="|",
        markersize=18,
        palette=palette,
        ax=ax,
        legend=False,
    )
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_xlabel(effect_label)
    ax.set_ylabel("")
    ax.legend(
        title="Clusters that",
        frameon=False,
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )
    return ax


def typology_plot(
    members: pd.DataFrame,
    labels: dict[str, str],
    *,
    effect_label: str = "Effect",
    engagement_label: str = "Attendance rate",
    median_lines: bool = True,
    ax=None,
):
    """Effect against attendance, one point per cluster coloured by its type, with the median
    effect as a dotted line. Attendance is shown in its bands (:func:`attendance_band`), never as
    a cluster's exact rate. ``members`` is :func:`~evaluation.mixed.typology`'s first table;
    returns the matplotlib Axes.

    Examples
    --------
    >>> import pandas as pd
    >>> members = pd.DataFrame({"cluster_id": ["C1", "C2"], "effect": [-9.0, -2.0],
    ...                         "engagement": [0.9, 0.6],
    ...                         "type": ["strong effect, high attendance",
    ...                                  "weak effect, low attendance"]})
    >>> ax = typology_plot(members, {"C1": "Interview 01", "C2": "Interview 02"})
    >>> [text.get_text() for text in ax.texts]
    ['I01', 'I02']
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    require_columns(
        members, ["cluster_id", "effect", "engagement", "type"], "typology_plot: members"
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 6))
    # Okabe-Ito colours, one per type in a fixed order (seaborn's default puts green beside red,
    # which a red-green colour-blind reader cannot tell apart)
    types = sorted(members["type"].dropna().unique())
    palette = dict(zip(types, TYPE_COLOURS * (1 + len(types) // len(TYPE_COLOURS)), strict=False))
    # attendance in bands, never a cluster's exact rate (report 02 shows those by cluster id):
    # each band is a row, its points spread evenly within it in the order of their effect
    bands = [words for _, words in ATTENDANCE_BANDS]
    band = members["engagement"].map(attendance_band)
    rank = members.groupby(band)["effect"].rank(method="first")
    spread = rank / (band.map(band.value_counts()) + 1) - 0.5
    shown = members.assign(band_row=band.map(bands.index).astype(float) + 0.6 * spread)
    sns.scatterplot(data=shown, x="effect", y="band_row", hue="type", palette=palette, s=60, ax=ax)
    for row in shown.itertuples():
        ax.annotate(
            labels.get(row.cluster_id, row.cluster_id).replace("Interview ", "I"),
            (row.effect, row.band_row),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=7,
            color="#444444",
        )
    if median_lines:
        ax.axvline(members["effect"].median(), color="#999999", linestyle=":")
    ax.set_yticks(range(len(bands)), bands)
    ax.set_ylim(-0.5, len(bands) - 0.5)
    ax.set_xlabel(effect_label)
    ax.set_ylabel(f"{engagement_label} (band)")
    ax.legend(
        title="Type", frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1)
    )
    return ax


# ---------------------------------------------------------------------------------------------
# the join's tables in a report's words
# ---------------------------------------------------------------------------------------------


def _outcome_words(outcome_words: dict[str, str] | None) -> dict[str, str]:
    return {**OUTCOME_WORDS, **(outcome_words or {})}


def theme_overview(quantitized: pd.DataFrame, *, code_level: str = "code") -> pd.DataFrame:
    """Per code of ``code_level``: clusters raising it, coded passages, and its mean share of
    the interviews' coded passages in percent; indexed by the code in words, codebook order.

    Examples
    --------
    >>> import pandas as pd
    >>> quantitized = pd.DataFrame({"cluster_id": ["C1", "C2"], "code": "Funding/Challenges",
    ...                             "level": "code", "presence": [True, False],
    ...                             "frequency": [3, 0], "share": [0.25, 0.0]})
    >>> theme_overview(quantitized)  # doctest: +NORMALIZE_WHITESPACE
                          clusters raising it  coded passages  mean share %
    theme
    Funding: challenges                    1               3          12.5
    """
    require_columns(
        quantitized,
        ["code", "level", "presence", "frequency", "share"],
        "theme_overview: quantitized",
    )
    rows = quantitized[quantitized["level"] == code_level]
    table = rows.groupby("code", sort=False).agg(
        **{
            "clusters raising it": ("presence", "sum"),
            "coded passages": ("frequency", "sum"),
            "mean share %": ("share", "mean"),
        }
    )
    table["mean share %"] = (100 * table["mean share %"]).round(1)
    table.index = table.index.map(readable_code).rename("theme")
    return table


def comparison_table(
    comparison: pd.DataFrame, outcome_words: dict[str, str] | None = None
) -> pd.DataFrame:
    """:func:`~evaluation.mixed.compare_by_theme`'s table as a report shows it: outcome and
    theme in words (the index), the group sizes, means, difference, effect sizes and the
    Mann-Whitney and Welch p-values (raw and corrected), significance and note.

    ``outcome_words`` maps outcome columns to words, e.g. ``{"effect": "% change in NSAID
    DDD"}`` (attendance_rate is "Attendance rate" already).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.mixed import compare_by_theme
    >>> quantitized = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(8)],
    ...                             "code": "Data/Challenges", "theme": "Data", "level": "code",
    ...                             "presence": [True] * 4 + [False] * 4})
    >>> outcomes = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(8)],
    ...                          "effect": [-2.0, -3.0, -2.5, -4.0, -9.0, -8.0, -10.0, -7.5]})
    >>> comparison = compare_by_theme(quantitized, outcomes, ["effect"])
    >>> table = comparison_table(comparison, {"effect": "% change"})
    >>> table.index.tolist(), table["clusters raising it"].tolist()
    ([('% change', 'Data: challenges')], [4])
    """
    require_columns(
        comparison,
        ["outcome", "code", "n_with", "n_without", "mwu_p_value", "significant"],
        "comparison_table: comparison",
    )
    words = _outcome_words(outcome_words)
    shown = comparison.assign(
        outcome=comparison["outcome"].map(lambda o: words.get(o, o)),
        theme=comparison["code"].map(readable_code),
    )[
        [
            "outcome",
            "theme",
            "n_with",
            "n_without",
            "mean_with",
            "mean_without",
            "difference",
            "hedges_g",
            "rank_biserial",
            "mwu_p_value",
            "mwu_p_value_adjusted",
            "welch_p_value_adjusted",
            "significant",
            "note",
        ]
    ]
    shown = shown.rename(
        columns={"n_with": "clusters raising it", "n_without": "clusters not raising it"}
    )
    return shown.set_index(["outcome", "theme"])


def significant_relations(
    comparison: pd.DataFrame, outcome_words: dict[str, str] | None = None
) -> str:
    """The themes that differ significantly after correction, in one sentence (or a sentence
    saying none does).

    Examples
    --------
    >>> import pandas as pd
    >>> comparison = pd.DataFrame({"outcome": ["effect"], "code": ["Data/Challenges"],
    ...                            "difference": [10.7], "mwu_p_value_adjusted": [0.016],
    ...                            "significant": [True]})
    >>> print(significant_relations(comparison, {"effect": "the effect"}))
    ... # doctest: +NORMALIZE_WHITESPACE
    Significant after correction: Data: challenges with the effect (difference +10.7, adjusted
    p 0.016).
    """
    require_columns(
        comparison,
        ["outcome", "code", "difference", "mwu_p_value_adjusted", "significant"],
        "significant_relations: comparison",
    )
    words = _outcome_words(outcome_words)
    found = comparison[comparison["significant"].astype(bool)]
    if found.empty:
        return "No theme differs significantly after correction."
    return (
        "Significant after correction: "
        + "; ".join(
            f"{readable_code(r.code)} with {words.get(r.outcome, r.outcome)} (difference "
            f"{r.difference:+.3g}, adjusted p {r.mwu_p_value_adjusted:.3f})"
            for r in found.itertuples()
        )
        + "."
    )


def correlation_table(
    correlation: pd.DataFrame, outcome_words: dict[str, str] | None = None
) -> pd.DataFrame:
    """:func:`~evaluation.mixed.correlate_frequency`'s table as a report shows it: outcome and
    theme in words (the index), clusters, r with its interval, p-values, significance, note.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.mixed import correlate_frequency
    >>> quantitized = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(6)],
    ...                             "code": "Data/Challenges", "theme": "Data", "level": "code",
    ...                             "frequency": [0, 1, 2, 3, 4, 5]})
    >>> outcomes = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(6)],
    ...                          "attendance_rate": [0.6, 0.7, 0.65, 0.8, 0.9, 0.85]})
    >>> correlation = correlate_frequency(quantitized, outcomes, ["attendance_rate"])
    >>> correlation_table(correlation)[["clusters", "r"]].round(2)  # doctest: +NORMALIZE_WHITESPACE
                                          clusters     r
    outcome         theme
    Attendance rate Data: challenges             6  0.89
    """
    require_columns(
        correlation,
        ["outcome", "code", "n", "r", "ci_low", "ci_high", "p_value", "p_value_adjusted"],
        "correlation_table: correlation",
    )
    words = _outcome_words(outcome_words)
    shown = correlation.assign(
        outcome=correlation["outcome"].map(lambda o: words.get(o, o)),
        theme=correlation["code"].map(readable_code),
    )
    columns = [
        "outcome",
        "theme",
        "n",
        "r",
        "ci_low",
        "ci_high",
        "p_value",
        "p_value_adjusted",
        "significant",
        "note",
    ]
    return shown[columns].rename(columns={"n": "clusters"}).set_index(["outcome", "theme"])


def typology_table(types: pd.DataFrame, effect_label: str = "effect") -> pd.DataFrame:
    """:func:`~evaluation.mixed.typology`'s types as a report shows them: the mean effect and
    attendance under their words and the themes that mark each type in words.

    Examples
    --------
    >>> import pandas as pd
    >>> types = pd.DataFrame({"type": ["strong effect, high attendance"], "clusters": [3],
    ...                       "mean effect": [-12.0], "mean attendance_rate": [0.9],
    ...                       "dominant_themes": ["Funding/Enablers"], "dominant": [["x"]]})
    >>> typology_table(types, "% change")["themes that mark the type"].iloc[0]
    'Funding: enablers'
    """
    require_columns(types, ["type", "dominant_themes"], "typology_table: types")
    table = types.drop(columns=["dominant"], errors="ignore").rename(
        columns={
            "dominant_themes": "themes that mark the type",
            "mean effect": f"mean {effect_label}",
            "mean attendance_rate": "mean attendance rate",
        }
    )
    if "clusters" in table.columns and "mean attendance rate" in table.columns:
        # a type of one or two clusters would show their own attendance (see attendance_band)
        few = pd.to_numeric(table["clusters"], errors="coerce") < MIN_GROUP_FOR_MEANS
        table["mean attendance rate"] = table["mean attendance rate"].mask(few)
    table["themes that mark the type"] = table["themes that mark the type"].map(
        lambda text: (
            "; ".join(readable_code(t) for t in text.split("; "))
            if text != "(none stands out)"
            else text
        )
    )
    return table


def theme_share_plot(
    quantitized: pd.DataFrame,
    labels: dict[str, str],
    *,
    code_level: str = "code",
    ax=None,
    title: str | None = None,
):
    """A heat map of how much of each interview each theme took up: one row per interview (by
    its label, in label order), one column per code, the share of the interview's coded
    passages in percent. Returns the matplotlib Axes.

    Examples
    --------
    >>> import pandas as pd
    >>> quantitized = pd.DataFrame({"cluster_id": ["C1", "C2"], "code": "Funding/Challenges",
    ...                             "level": "code", "share": [0.25, 0.0]})
    >>> ax = theme_share_plot(quantitized, {"C2": "Interview 01", "C1": "Interview 02"})
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['Interview 01', 'Interview 02']
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    require_columns(
        quantitized, ["cluster_id", "code", "level", "share"], "theme_share_plot: quantitized"
    )
    rows = quantitized[quantitized["level"] == code_level]
    share = rows.pivot(index="cluster_id", columns="code", values="share")
    share = share.loc[[c for c in labels if c in share.index], list(dict.fromkeys(rows["code"]))]
    share.index = share.index.map(labels)
    share.columns = share.columns.map(readable_code)
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 0.28 * len(share) + 2.5))
    sns.heatmap(
        100 * share,
        cmap="Blues",
        ax=ax,
        cbar_kws={"label": "% of the interview's coded passages"},
        linewidths=0.3,
        linecolor="white",
    )
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title or "How much of each interview each theme took up")
    return ax
