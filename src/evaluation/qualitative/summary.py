"""Everything the interview-themes notebook shows for one region, computed in one call.

The notebook (parameterised by region) stays thin: it calls :func:`region_themes` and draws the
frames with :mod:`evaluation.qualitative.figures`. Nothing lives only in the notebook.

Example
-------
>>> from evaluation.qualitative.store import Store
>>> store = Store.create(":memory:")
>>> doc = store.add_document("i1", "Coordinator: The portal was slow. We met four times.")
>>> _ = store.add_code("data", "Obtaining data")
>>> _ = store.add_case("C001", attributes={"region": "Nordjylland"}, documents=[doc])
>>> _ = store.add_segment(doc, "data", 13, 33, coder="anna")
>>> _ = store.add_segment(doc, "data", 13, 33, coder="bo")
>>> result = region_themes(store, region="Nordjylland", coder="anna", second_coder="bo")
>>> result.quotes["text"].tolist()
['The portal was slow.']
>>> round(float(result.agreement.iloc[-1]["cohen_kappa"]), 2)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaluation.qualitative.agreement import agreement_table
from evaluation.qualitative.queries import code_frequencies, cooccurrence_matrix
from evaluation.qualitative.store import Store, StoreError


@dataclass
class RegionThemes:
    """Themes of one region's interviews.

    ``frequencies``: codes x cases (segments); ``cooccurrence``: code x code (within
    ``distance`` characters); ``agreement``: per code and overall at character level with
    uncoded text (empty without a second coder); ``quotes``: illustrative quotes per theme -
    where two coders are given, only passages both coded with the same code."""

    region: str | None
    cases: pd.DataFrame
    frequencies: pd.DataFrame
    cooccurrence: pd.DataFrame
    agreement: pd.DataFrame
    quotes: pd.DataFrame


def region_themes(
    store: Store,
    *,
    region: str | None = None,
    coder: str,
    second_coder: str | None = None,
    distance: int = 300,
    quotes_per_theme: int = 3,
) -> RegionThemes:
    """Frequencies, co-occurrence, agreement and quotes for the cases of ``region`` (all if None)."""
    cases = store.cases()
    if region is not None:
        if "region" not in cases.columns:
            raise StoreError(
                "no case has a 'region' attribute; link cases first (`workbench qual cases link-clusters`)"
            )
        if region not in set(cases["region"].dropna()):
            raise StoreError(
                f"no case in region {region!r}; regions with cases: {sorted(cases['region'].dropna().unique())}"
            )
        cases = cases[cases["region"] == region]
    links = store.case_documents()
    documents = set(links.loc[links["case"].isin(cases["case"]), "document_id"])
    segments = store.segments(with_text=True)
    segments = segments[segments["document_id"].isin(documents)]
    if coder not in set(segments["coder"]):
        raise StoreError(f"coder {coder!r} has no segments in {region or 'the project'}")
    mine = segments[segments["coder"] == coder]

    frequencies = code_frequencies(store, coder=coder)
    frequencies = frequencies.reindex(
        columns=[c for c in cases["case"] if c in frequencies.columns], fill_value=0
    )
    paths = store.codes().set_index("key")["path"]
    matrix = cooccurrence_matrix(mine, distance=distance)
    order = [key for key in paths.index if key in matrix.index]  # codebook order
    matrix = matrix.loc[order, order]
    matrix.index = matrix.columns = matrix.index.map(paths)

    agreement = pd.DataFrame()
    chosen = mine
    if second_coder is not None:
        pair = segments[segments["coder"].isin([coder, second_coder])]
        agreement = agreement_table(pair, store.documents(), coder, second_coder, level="character")
        agreement["code"] = agreement["code_key"].map(paths).fillna(agreement["code_key"])
        other = segments[segments["coder"] == second_coder]
        agreed = mine.merge(
            other[["document_id", "code_key", "start", "end"]],
            on=["document_id", "code_key"],
            suffixes=("", "_other"),
        )
        agreed = agreed[
            (agreed["start"] < agreed["end_other"]) & (agreed["start_other"] < agreed["end"])
        ]
        chosen = mine[mine["id"].isin(agreed["id"])]
    theme_of = store.code_theme()
    names = dict(store.connection.execute("SELECT id, name FROM codes").fetchall())
    chosen = chosen.assign(
        theme=chosen["code_id"].map(lambda c: names[theme_of[c]]),
        code=chosen["code_key"].map(paths),
        length=chosen["end"] - chosen["start"],
    )
    case_of = links.drop_duplicates("document_id").set_index("document_id")["case"]
    chosen["case"] = chosen["document_id"].map(case_of)
    # medium-length passages read best as illustrations: closest to 200 characters first
    theme_order = {names[i]: n for n, i in enumerate(store.codes().query("depth == 0")["id"])}
    chosen = chosen.assign(
        fit=(chosen["length"] - 200).abs(), order=chosen["theme"].map(theme_order)
    )
    chosen = chosen.sort_values(["order", "fit", "id"])
    chosen = chosen.drop_duplicates(["theme", "text"])  # a passage coded twice is one quote
    quotes = chosen.groupby("theme", sort=False).head(quotes_per_theme)
    quotes = quotes[["theme", "code", "case", "document", "text"]].reset_index(drop=True)
    return RegionThemes(region, cases, frequencies, matrix, agreement, quotes)
