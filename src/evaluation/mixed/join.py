"""The whole join in one call: link, quantitize, estimate, compare, type, display.

:func:`mixed_methods` reads a coding store and the canonical tables of a data folder and returns
a :class:`MixedMethods` holding every step's table, which notebook 04 shows. Each step is also a
function of its own (:mod:`.link`, :mod:`.quantitize`, :mod:`.effects`, :mod:`.compare`,
:mod:`.display`) for analyses the notebook does not make.

Example
-------
>>> from evaluation.qualitative.store import Store                          # doctest: +SKIP
>>> from evaluation.mixed import mixed_methods                              # doctest: +SKIP
>>> with Store.open("qualitative/demo/coding.sqlite") as store:             # doctest: +SKIP
...     result = mixed_methods(store, "data/synthetic", indicator="nsaid")
>>> result.summary()                                                         # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.methods.checks import require_columns
from evaluation.mixed import compare as compare_mod
from evaluation.mixed import display as display_mod
from evaluation.mixed.effects import ClusterEffectsResult, cluster_attendance, cluster_effects
from evaluation.mixed.link import CaseLinksResult, link_cases
from evaluation.mixed.quantitizing import CONSENSUS, choose_segments, quantitize

__all__ = ["mixed_methods", "interview_labels", "MixedMethodsResult", "TABLE_COLUMNS"]

OUTCOME_COLUMNS = ["effect", "attendance_rate"]
#: the tables of a data folder the join reads, with the columns it needs of each
TABLE_COLUMNS = {
    "clusters": ["cluster_id", "region"],
    "clinics": ["clinic_id", "cluster_id"],
    "gps": ["gp_id", "clinic_id"],
    "meetings": ["meeting_id", "cluster_id", "date", "topic"],
    "attendance": ["meeting_id", "gp_id", "attended"],
    "prescribing": ["clinic_id", "month", "indicator", "ddd", "listed_patients"],
}


@dataclass
class MixedMethodsResult:
    """Every table of the join; see :func:`mixed_methods`.

    ``.to_frame()`` the interviewed clusters' outcomes, ``.summary()`` the theme relations that
    are significant after correction, ``.plot()`` the effects of clusters that did and did not
    raise the themes most related to the effect.
    """

    links: CaseLinksResult
    quantitized: pd.DataFrame
    # every cluster's, so the interviewed ones can be compared with the rest
    effects: ClusterEffectsResult
    outcomes: pd.DataFrame  # one row per interviewed cluster: label, effect (interval), attendance
    comparison: pd.DataFrame
    correlation: pd.DataFrame
    members: pd.DataFrame
    types: pd.DataFrame
    quotes: pd.DataFrame
    joint: pd.DataFrame
    side_by_side: pd.DataFrame
    labels: dict[str, str]
    effect_label: str
    settings: dict = field(default_factory=dict)

    @property
    def outcome_words(self) -> dict[str, str]:
        """The outcome columns in a report's words."""
        return {"effect": self.effect_label, "attendance_rate": "Attendance rate"}

    def to_frame(self) -> pd.DataFrame:
        """One row per interviewed cluster: cluster_id, label, effect with effect_ci_low and
        effect_ci_high, n_clinics, first_treated_month, attendance_rate with its interval,
        effect_status."""
        return self.outcomes.copy()

    def summary(self) -> pd.DataFrame:
        """The theme relations significant after correction: outcome, code, n_with,
        n_without, mean_with, mean_without, difference (diff_ci_low, diff_ci_high),
        mwu_p_value, mwu_p_value_adjusted."""
        columns = [
            "outcome",
            "code",
            "n_with",
            "n_without",
            "mean_with",
            "mean_without",
            "difference",
            "diff_ci_low",
            "diff_ci_high",
            "mwu_p_value",
            "mwu_p_value_adjusted",
        ]
        found = self.comparison[self.comparison["significant"].astype(bool)]
        return found[columns].reset_index(drop=True)

    def plot(self, n_themes: int = 4, ax=None):
        """The ``n_themes`` themes most related to the effect (smallest Mann-Whitney p): each
        interviewed cluster's effect, split by whether it raised the theme."""
        tested = self.comparison[
            (self.comparison["outcome"] == "effect") & self.comparison["mwu_p_value"].notna()
        ]
        top = tested.nsmallest(n_themes, "mwu_p_value")["code"].tolist()
        ax = display_mod.theme_effect_plot(
            self.outcomes,
            self.quantitized,
            top,
            self.labels,
            effect_label=self.effect_label,
            ax=ax,
        )
        ax.set_title("Effects of clusters that did and did not raise the theme")
        return ax

    def relation(self, code_key: str, outcome: str = "effect") -> pd.Series:
        """The comparison row of one code (by key, e.g. 'obtaining_data.challenges') and outcome."""
        path = self.quantitized.loc[self.quantitized["code_key"] == code_key, "code"]
        if path.empty:
            raise KeyError(f"no code {code_key!r} in the quantitized coding")
        rows = self.comparison[
            (self.comparison["code"] == path.iloc[0]) & (self.comparison["outcome"] == outcome)
        ]
        if rows.empty:
            raise KeyError(f"no comparison of {code_key!r} on {outcome!r}")
        return rows.iloc[0]


def interview_labels(
    links: CaseLinksResult, numbers: Mapping[str, int] | None = None
) -> dict[str, str]:
    """'Interview 07', ... one per linked cluster: by the case's interview number, or, without
    ``numbers``, in the store's case order.

    A shared report must not number interviews in an order a reader can reconstruct (cluster id,
    case name, import order): :func:`mixed_methods` passes the numbers the coding store keeps,
    drawn at random per project (:func:`evaluation.qualitative.cases.interview_numbers`).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.mixed import link_cases
    >>> links = link_cases(pd.DataFrame({"case": ["C007", "C002"]}),
    ...                    pd.DataFrame({"cluster_id": ["C002", "C007"]}))
    >>> interview_labels(links)
    {'C007': 'Interview 01', 'C002': 'Interview 02'}
    >>> interview_labels(links, {"C007": 2, "C002": 1})
    {'C007': 'Interview 02', 'C002': 'Interview 01'}
    """
    require_columns(links.linked, ["cluster_id", "case"], "interview_labels: links.linked")
    first_case = links.linked.drop_duplicates("cluster_id").set_index("cluster_id")["case"]
    if numbers is None:
        numbers = {case: n for n, case in enumerate(first_case, start=1)}
    missing = [case for case in first_case if case not in numbers]
    if missing:
        raise compare_mod.CompareError(
            f"interview_labels: no interview number for case(s) {missing[:5]}; number the "
            "store's cases with evaluation.qualitative.cases.interview_numbers(store)."
        )
    width = max(2, len(str(max(numbers[case] for case in first_case))))
    return {
        cluster_id: f"Interview {numbers[case]:0{width}d}"
        for cluster_id, case in first_case.items()
    }


def _outcomes(
    effects: ClusterEffectsResult,
    attendance: pd.DataFrame,
    clusters: list[str],
    labels: dict[str, str],
) -> pd.DataFrame:
    est = effects.percent_change() if effects.method == "its" else effects.estimates
    table = pd.DataFrame({"cluster_id": clusters})
    table["label"] = table["cluster_id"].map(labels)
    merged = table.merge(est, on="cluster_id", how="left")
    merged = merged.rename(
        columns={"estimate": "effect", "ci_low": "effect_ci_low", "ci_high": "effect_ci_high"}
    )
    merged = merged.merge(
        attendance[["cluster_id", "attendance_rate", "attendance_ci_low", "attendance_ci_high"]],
        on="cluster_id",
        how="left",
    )
    reasons = effects.skipped.set_index("cluster_id")["reason"]
    merged["effect_status"] = np.where(
        merged["effect"].notna(),
        "estimated",
        merged["cluster_id"].map(reasons).fillna("no estimate"),
    )
    return merged[
        [
            "cluster_id",
            "label",
            "effect",
            "effect_ci_low",
            "effect_ci_high",
            "n_clinics",
            "first_treated_month",
            "attendance_rate",
            "attendance_ci_low",
            "attendance_ci_high",
            "effect_status",
        ]
    ]


def mixed_methods(
    store,
    data: str | os.PathLike | Mapping[str, pd.DataFrame],
    *,
    indicator: str = "nsaid",
    topic: str | None = None,
    study_start: str | None = None,
    study_end: str | None = None,
    method: str = "its",
    coder: str = CONSENSUS,
    coders: tuple[str, str] | None = None,
    min_passages: int = 1,
    code_level: str = "code",
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    level: float = 0.95,
    min_group: int = 3,
    typology_method: str = "quadrants",
) -> MixedMethodsResult:
    """Join the interviews of ``store`` with the registers of ``data``.

    Parameters
    ----------
    store : an open :class:`~evaluation.qualitative.store.Store` whose cases name clusters.
    data : canonical data folder, or its tables as a mapping of name to DataFrame (clusters,
        clinics, gps, meetings, attendance, prescribing; see ``TABLE_COLUMNS``).
    indicator, topic, study_start, study_end : the prescribing evaluation (as notebook 01).
    method : "its" (effect in percent change of the prescribing rate) or "did" (ATT in DDD per
        1,000 patients per day), see :mod:`evaluation.mixed.effects`.
    coder : a coder's name, or "consensus" of ``coders`` (default: the store's first two coders).
    min_passages, code_level, correction, alpha, min_group, typology_method : see
        :func:`~evaluation.mixed.quantitizing.quantitize`,
        :func:`~evaluation.mixed.compare.compare_by_theme` (``alpha`` is the significance level
        after correction) and :func:`~evaluation.mixed.compare.typology`.
    level : confidence level of each cluster's effect interval (0.95).

    Returns
    -------
    :class:`MixedMethodsResult` with every table of the join.

    Examples
    --------
    Four invented interviews about funding, joined with the small synthetic registers:

    >>> from evaluation.data.synth import generate_tables
    >>> from evaluation.qualitative.store import Store
    >>> tables, truth, _ = generate_tables(seed=7, scale="small")
    >>> store = Store.create(":memory:")
    >>> funding = store.add_code("funding", "Funding")
    >>> for cluster in ["C002", "C004", "C006", "C008"]:
    ...     text = f"Coordinator: In {cluster} the region pays for our facilitator."
    ...     document = store.add_document(f"interview {cluster}", text)
    ...     case = store.add_case(cluster, attributes={"cluster_id": cluster}, documents=[document])
    ...     segment = store.add_segment(document, "funding", 13, len(text), coder="anna")
    >>> result = mixed_methods(store, tables, coder="anna")
    >>> result.links.sentence()
    '4 interview case(s) linked to 4 of the 20 clusters; 16 cluster(s) have no interview.'
    >>> result.to_frame().set_index("cluster_id")["effect"].round(1)
    cluster_id
    C002   -13.7
    C004     0.4
    C006     NaN
    C008     NaN
    Name: effect, dtype: float64
    >>> sorted(result.labels.values())  # numbered at random, kept in the store
    ['Interview 01', 'Interview 02', 'Interview 03', 'Interview 04']
    """
    from evaluation.data import load
    from evaluation.data.catalogue import outcome_label
    from evaluation.data.panel import prescribing_panel

    if isinstance(data, Mapping):
        tables = dict(data)
        absent = [name for name in TABLE_COLUMNS if name not in tables]
        if absent:
            raise compare_mod.CompareError(
                f"mixed_methods: the tables lack {', '.join(absent)}; expected all of "
                f"{', '.join(TABLE_COLUMNS)}"
            )
    else:
        tables = load(Path(data), tables=list(TABLE_COLUMNS))
    # every table checked before the slow steps, so a missing column fails at once
    for name, columns in TABLE_COLUMNS.items():
        require_columns(tables[name], columns, f"mixed_methods: the {name} table")
    links = link_cases(store.cases(), tables["clusters"])
    if links.linked.empty:
        raise compare_mod.CompareError(
            "no interview case links to a cluster of the data: "
            + links.sentence()
            + " Link cases first (`workbench qual cases link-clusters --data DIR`)."
        )
    from evaluation.qualitative.cases import interview_numbers

    # random per project, kept in the store: the order tells a reader nothing (issue 14)
    labels = interview_labels(links, interview_numbers(store))
    if coder == CONSENSUS and coders is None:
        known = store.coders()
        coders = tuple(known[:2]) if len(known) >= 2 else None
    segments = choose_segments(store.segments(details=False), coder, coders)
    # read once: lengths for quantitizing, texts for the quotes
    documents = store.documents(with_text=True)
    case_docs = store.case_documents()
    quantitized = quantitize(
        segments, case_docs, documents, store.codes(), links, min_passages=min_passages
    )

    interviewed = list(labels)
    panel = prescribing_panel(
        tables["prescribing"],
        tables["clinics"],
        tables["meetings"],
        indicator=indicator,
        topic=topic,
        start=study_start,
        end=study_end,
    )
    # every cluster, not only the interviewed: the report shows whether those are typical
    effects = cluster_effects(panel, method, level=level)
    attendance = cluster_attendance(
        tables["attendance"], tables["meetings"], tables["gps"], level=level
    )
    outcomes = _outcomes(effects, attendance, interviewed, labels)

    comparison = compare_mod.compare_by_theme(
        quantitized,
        outcomes,
        OUTCOME_COLUMNS,
        code_level=code_level,
        min_group=min_group,
        alpha=alpha,
        correction=correction,
    )
    correlation = compare_mod.correlate_frequency(
        quantitized,
        outcomes,
        OUTCOME_COLUMNS,
        code_level=code_level,
        alpha=alpha,
        correction=correction,
    )
    try:
        members, types = compare_mod.typology(
            outcomes,
            quantitized,
            effect="effect",
            engagement="attendance_rate",
            method=typology_method,
            code_level=code_level,
        )
    except compare_mod.CompareError as exc:
        # too few clusters with an effect for a typology: the rest of the join still stands
        members = pd.DataFrame(columns=["cluster_id", "effect", "engagement", "type"])
        types = pd.DataFrame(
            {
                "type": [f"no typology: {exc}"],
                "clusters": [0],
                "dominant_themes": [""],
                "dominant": [[]],
            }
        )

    rate = outcome_label(indicator, "ddd_per_1000_per_day")
    effect_label = (
        f"% change in {rate} at the meeting"
        if method == "its"
        else f"Change in {rate} after the meeting (DiD)"
    )
    texts = dict(zip(documents["id"], documents["text"]))
    case_cluster = dict(zip(links.linked["case"], links.linked["cluster_id"]))
    cluster_of_document = {
        int(d): case_cluster[c]
        for d, c in zip(case_docs["document_id"], case_docs["case"])
        if c in case_cluster
    }
    code_paths = dict(zip(quantitized["code_key"], quantitized["code"]))
    presence = quantitized.pivot(index="cluster_id", columns="code", values="presence")
    quotes = display_mod.pick_quotes(
        segments, texts, cluster_of_document, code_paths, raised=presence
    )
    joint = display_mod.joint_display(quantitized, outcomes, quotes, labels, code_level=code_level)
    sbs = display_mod.side_by_side(
        comparison,
        quantitized,
        quotes,
        labels,
        effect_words="Effect",
        effect_unit="%" if method == "its" else "",
        code_level=code_level,
    )
    from evaluation.data.catalogue import INDICATOR_BY_KEY

    settings = dict(
        indicator=indicator,
        topic=topic or INDICATOR_BY_KEY[indicator].topic,
        study_start=study_start,
        study_end=study_end,
        method=method,
        coder=coder,
        coders=coders,
        correction=correction,
        alpha=alpha,
        level=level,
        min_group=min_group,
        code_level=code_level,
        typology_method=typology_method,
    )
    return MixedMethodsResult(
        links,
        quantitized,
        effects,
        outcomes,
        comparison,
        correlation,
        members,
        types,
        quotes,
        joint,
        sbs,
        labels,
        effect_label,
        settings,
    )
