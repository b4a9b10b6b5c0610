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
>>> result.comparison.query("significant")[["outcome", "code", "mwu_p_adjusted"]]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.mixed import compare as compare_mod
from evaluation.mixed import display as display_mod
from evaluation.mixed.effects import ClusterEffects, cluster_attendance, cluster_effects
from evaluation.mixed.link import CaseLinks, link_cases
from evaluation.mixed.quantitize import CONSENSUS, choose_segments, quantitize

OUTCOME_COLUMNS = ["effect", "attendance_rate"]


@dataclass
class MixedMethods:
    """Every table of the join; see :func:`mixed_methods`."""

    links: CaseLinks
    quantitized: pd.DataFrame
    effects: (
        ClusterEffects  # every cluster's, so the interviewed ones can be compared with the rest
    )
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


def interview_labels(links: CaseLinks) -> dict[str, str]:
    """'Interview 01', 'Interview 02', ... in the store's case order, one per linked cluster."""
    order = list(dict.fromkeys(links.linked["cluster_id"]))
    width = max(2, len(str(len(order))))
    return {cluster_id: f"Interview {n:0{width}d}" for n, cluster_id in enumerate(order, start=1)}


def _outcomes(
    effects: ClusterEffects, attendance: pd.DataFrame, clusters: list[str], labels: dict[str, str]
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
    data_dir: str | os.PathLike,
    *,
    indicator: str = "nsaid",
    topic: str | None = None,
    study_start: str | None = None,
    study_end: str | None = None,
    method: str = "its",
    coder: str = CONSENSUS,
    coders: tuple[str, str] | None = None,
    min_passages: int = 1,
    level: str = "code",
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    min_group: int = 3,
    typology_method: str = "quadrants",
) -> MixedMethods:
    """Join the interviews of ``store`` with the registers of ``data_dir``.

    Parameters
    ----------
    store : an open :class:`~evaluation.qualitative.store.Store` whose cases name clusters.
    data_dir : canonical data folder (clusters, clinics, gps, meetings, attendance, prescribing).
    indicator, topic, study_start, study_end : the prescribing evaluation (as notebook 01).
    method : "its" (effect in percent change of the prescribing rate) or "did" (ATT in DDD per
        1,000 patients per day), see :mod:`evaluation.mixed.effects`.
    coder : a coder's name, or "consensus" of ``coders`` (default: the store's first two coders).
    min_passages, level, correction, alpha, min_group, typology_method : see
        :func:`~evaluation.mixed.quantitize.quantitize`, :func:`~evaluation.mixed.compare.compare_by_theme`
        and :func:`~evaluation.mixed.compare.typology`.
    """
    from evaluation.data import load
    from evaluation.data.catalogue import outcome_label
    from evaluation.data.panel import prescribing_panel

    tables = load(
        Path(data_dir),
        tables=["clusters", "clinics", "gps", "meetings", "attendance", "prescribing"],
    )
    links = link_cases(store.cases(), tables["clusters"])
    if links.linked.empty:
        raise compare_mod.CompareError(
            "no interview case links to a cluster of the data: "
            + links.summary()
            + " Link cases first (`workbench qual cases link-clusters --data DIR`)."
        )
    labels = interview_labels(links)
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
    effects = cluster_effects(panel, method, alpha=alpha)
    attendance = cluster_attendance(tables["attendance"], tables["meetings"], tables["gps"])
    outcomes = _outcomes(effects, attendance, interviewed, labels)

    comparison = compare_mod.compare_by_theme(
        quantitized,
        outcomes,
        OUTCOME_COLUMNS,
        level=level,
        min_group=min_group,
        alpha=alpha,
        correction=correction,
    )
    correlation = compare_mod.correlate_frequency(
        quantitized, outcomes, OUTCOME_COLUMNS, level=level, alpha=alpha, correction=correction
    )
    try:
        members, types = compare_mod.typology(
            outcomes,
            quantitized,
            effect="effect",
            engagement="attendance_rate",
            method=typology_method,
            level=level,
        )
    except (
        compare_mod.CompareError
    ) as exc:  # too few clusters with an effect: the rest still stands
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
    joint = display_mod.joint_display(quantitized, outcomes, quotes, labels, level=level)
    sbs = display_mod.side_by_side(
        comparison,
        quantitized,
        quotes,
        labels,
        effect_words="Effect",
        effect_unit="%" if method == "its" else "",
        level=level,
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
        min_group=min_group,
        level=level,
        typology_method=typology_method,
    )
    return MixedMethods(
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
