"""Joint displays: themes beside the clusters' effects and attendance, as tables, HTML and plots.

- :func:`pick_quotes`: an illustrative passage per code, from clusters that raised it;
- :func:`joint_display`: per theme, the clusters that raised it with their effect (interval) and
  attendance rate, the mean effect and attendance with and without the theme, and a quote;
- :func:`side_by_side`: per theme, the quantitative result and the qualitative finding as two
  sentences next to each other;
- :func:`html_table`: either as an HTML table in which every cell is escaped;
- :func:`theme_effect_plot`, :func:`typology_plot`: the pictures.

Clusters are named by their interview label ("Interview 07"), not their cluster id, so that a
shared report does not tie a quote to a coordinator; quotes come pseudonymised from the store.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd


def readable(path: str) -> str:
    """'Obtaining data/Challenges' -> 'Obtaining data: challenges'."""
    theme, _, aspect = str(path).partition("/")
    return f"{theme}: {aspect.lower()}" if aspect else theme


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
    Returns code, cluster_id, text (whitespace collapsed)."""
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
    return round(scale * values.mean(), digits) if len(values) else np.nan


def joint_display(
    quantitized: pd.DataFrame,
    outcomes: pd.DataFrame,
    quotes: pd.DataFrame,
    labels: dict[str, str],
    *,
    effect: str = "effect",
    effect_ci: tuple[str, str] = ("effect_ci_low", "effect_ci_high"),
    attendance: str = "attendance_rate",
    level: str = "code",
    digits: int = 1,
) -> pd.DataFrame:
    """The joint display, one row per code of ``level``.

    Columns: theme, clusters raising it, which (interview labels with effect and interval and
    attendance), mean effect with / without, mean attendance with / without (percent), quote,
    quoted from. ``outcomes`` has one row per interviewed cluster (cluster_id, the effect, its
    interval, the attendance rate); ``labels`` maps cluster ids to interview labels.
    """
    rows_q = quantitized[quantitized["level"] == level]
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
            attend = (
                f"{100 * item[attendance]:.0f}% attendance"
                if not pd.isna(item[attendance])
                else "attendance unknown"
            )
            members.append(f"{labels.get(cluster_id, cluster_id)}: {effect_text}; {attend}")

        quote = quote_of.loc[code] if code in quote_of.index else None
        rows.append(
            {
                "theme": readable(code),
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
    return (
        f"{what}: {scale * row['mean_with']:.{digits}f}{unit} where raised (n = {int(row['n_with'])}) against "
        f"{scale * row['mean_without']:.{digits}f}{unit} where not (n = {int(row['n_without'])}); difference "
        f"{scale * row['difference']:+.{digits}f}{diff_unit} (95% CI {scale * row['diff_ci_low']:.{digits}f} to "
        f"{scale * row['diff_ci_high']:.{digits}f}), Hedges' g {row['hedges_g']:.2f}; Mann-Whitney p {_p(row['mwu_p'])}, "
        f"adjusted {_p(row['mwu_p_adjusted'])}: {verdict}."
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
    level: str = "code",
) -> pd.DataFrame:
    """Per code: 'What the registers show' (effect and attendance compared between clusters that
    raised the theme and those that did not) beside 'What the interviews say' (how many clusters
    raised it, in how many passages, and a quote)."""
    rows_q = quantitized[quantitized["level"] == level]
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
            f"Raised in {raised} of {n_clusters} interviewed clusters, in {int(group['frequency'].sum())} "
            f"coded passages."
        )
        if code in quote_of.index:
            said += f' "{quote_of.loc[code, "text"]}" ({labels.get(quote_of.loc[code, "cluster_id"], "")})'
        rows.append(
            {
                "theme": readable(code),
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
    readable width."""

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
    the effect."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    rows_q = quantitized[quantitized["code"].isin(codes)]
    frame = rows_q.merge(outcomes[["cluster_id", effect]], on="cluster_id").dropna(subset=[effect])
    frame["theme"] = frame["code"].map(readable)
    frame["raised"] = np.where(frame["presence"], "raised it", "did not")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.9 + 0.8 * len(codes)))
    order = [readable(c) for c in codes]
    palette = {"raised it": "#c0392b", "did not": "#7f8c8d"}
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
    lines that split the quadrants."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 6))
    sns.scatterplot(data=members, x="effect", y="engagement", hue="type", s=60, ax=ax)
    for row in members.itertuples():
        ax.annotate(
            labels.get(row.cluster_id, row.cluster_id).replace("Interview ", "I"),
            (row.effect, row.engagement),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=7,
            color="#444444",
        )
    if median_lines:
        ax.axvline(members["effect"].median(), color="#999999", linestyle=":")
        ax.axhline(members["engagement"].median(), color="#999999", linestyle=":")
    ax.set_xlabel(effect_label)
    ax.set_ylabel(engagement_label)
    ax.legend(
        title="Type", frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1)
    )
    return ax
