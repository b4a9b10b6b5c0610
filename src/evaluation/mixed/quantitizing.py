"""Quantitize coded interviews: per cluster and theme, presence, frequency, share and coverage.

"Quantitizing" (MAXQDA's word; NVivo's attribute crosstabs) turns coding into numbers that can be
set beside the registers. Per linked cluster and per code of the codebook:

- ``frequency``: passages coded with the code; a theme (a code with children) counts the passages
  of the theme itself and of all its sub-codes (challenges, enablers);
- ``presence``: ``frequency >= min_passages`` (default 1): the coordinator raised it;
- ``share``: frequency / all coded passages of the cluster, so talkative and terse coordinators
  compare (every passage belongs to one theme, so the themes' shares sum to 1);
- ``coverage``: share of the characters of the cluster's transcripts coded with it (overlapping
  passages counted once), NVivo's "coverage".

Whose coding: one coder's (``coder="anna"``), or the consensus of two (``coder="consensus"``,
``coders=("anna", "bo")``): only stretches both coded with the same code, as
:func:`evaluation.qualitative.agreement.consensus_segments` with the "agreed" strategy. A store
that already holds a merged coder named "consensus" uses that coder's segments as they are.

The core, :func:`quantitize`, takes plain frames so that it can be tested alone;
:func:`quantitize_store` reads them from a coding store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns
from evaluation.mixed.link import CaseLinksResult
from evaluation.qualitative.agreement import consensus_segments

__all__ = ["quantitize", "quantitize_store", "choose_segments", "theme_matrix", "QuantitizeError"]

CONSENSUS = "consensus"
QUANTITIES = ("presence", "frequency", "share", "coverage")


class QuantitizeError(InputError):
    """The coding cannot be quantitized as asked (unknown coder or code, bad setting)."""


def _ancestors(codes: pd.DataFrame) -> dict[str, list[str]]:
    """Each code key -> itself and its ancestors' keys (for rolling passages up to themes)."""
    key_of = dict(zip(codes["id"], codes["key"]))
    parent_of = {
        row.key: (key_of.get(int(row.parent_id)) if not pd.isna(row.parent_id) else None)
        for row in codes.itertuples()
    }
    chains = {}
    for key in parent_of:
        chain, current = [], key
        while current is not None and current not in chain:
            chain.append(current)
            current = parent_of.get(current)
        chains[key] = chain
    return chains


def _covered_characters(spans: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Characters covered by the union of the spans of each group ``keys`` (sorted sweep)."""
    if spans.empty:
        return pd.Series(dtype="int64")
    spans = spans.sort_values(keys + ["start", "end"], kind="stable")
    # the furthest end reached by earlier spans of the same group; a span adds only what lies
    # past it
    reach = spans.groupby(keys, sort=False)["end"].transform(
        lambda e: e.cummax().shift(fill_value=-1)
    )
    added = (spans["end"] - np.maximum(spans["start"], reach)).clip(lower=0)
    return added.groupby([spans[k] for k in keys], sort=False).sum()


def choose_segments(
    segments: pd.DataFrame, coder: str, coders: tuple[str, str] | None = None
) -> pd.DataFrame:
    """The segments (document_id, code_key, start, end) of ``coder``, or the consensus of
    ``coders`` when ``coder == "consensus"`` and no coder of that name exists.

    Examples
    --------
    >>> import pandas as pd
    >>> segments = pd.DataFrame({"document_id": [1, 1, 1], "code_key": ["a", "a", "b"],
    ...                          "coder": ["anna", "bo", "bo"], "start": [0, 5, 20],
    ...                          "end": [10, 12, 30]})
    >>> choose_segments(segments, "anna")
       document_id code_key  start  end
    0            1        a      0   10
    >>> choose_segments(segments, "consensus", ("anna", "bo"))[["code_key", "start", "end"]]
      code_key  start  end
    0        a      0   12
    """
    require_columns(
        segments,
        ["document_id", "code_key", "coder", "start", "end"],
        "choose_segments: segments",
    )
    present = set(segments["coder"].dropna())
    if coder in present:
        return segments.loc[segments["coder"] == coder, ["document_id", "code_key", "start", "end"]]
    if coder != CONSENSUS:
        raise QuantitizeError(
            f"coder {coder!r} has no coding in this store; coders: "
            f"{', '.join(sorted(present)) or 'none'}"
            f" (or '{CONSENSUS}' for the agreement of two)"
        )
    if coders is None or len(coders) != 2:
        raise QuantitizeError(
            f"coder '{CONSENSUS}' needs the two coders to merge, e.g. coders=('anna', 'bo'); "
            f"this store's coders: {', '.join(sorted(present)) or 'none'} (with one coder, name "
            f"them instead of '{CONSENSUS}')"
        )
    absent = [c for c in coders if c not in present]
    if absent:
        raise QuantitizeError(
            f"cannot form a consensus: coder(s) {', '.join(absent)} have no coding; coders: "
            f"{', '.join(sorted(present))}"
        )
    return consensus_segments(segments, coders[0], coders[1], strategy="agreed")


def quantitize(
    segments: pd.DataFrame,
    case_documents: pd.DataFrame,
    documents: pd.DataFrame,
    codes: pd.DataFrame,
    links: CaseLinksResult,
    *,
    min_passages: int = 1,
) -> pd.DataFrame:
    """Per linked cluster and code: presence, frequency, share and coverage (see module).

    Parameters
    ----------
    segments : one coder's passages (document_id, code_key, start, end), e.g. from
        :func:`choose_segments`.
    case_documents : document_id, case (``Store.case_documents()``).
    documents : id, n_chars (``Store.documents()``).
    codes : the codebook (``Store.codes()``: id, key, name, parent_id, path, depth).
    links : :func:`evaluation.mixed.link.link_cases` of the same store.
    min_passages : passages needed for ``presence``.

    Returns
    -------
    Long frame: cluster_id, code_key, code (path), theme (top-level name), level ("theme" for
    top-level codes, "code" below), n_interviews, presence, frequency, share, coverage; one row
    per linked cluster and code, zeros included, in codebook order.

    Examples
    --------
    One interview of cluster C001 (100 characters), two passages on funding challenges:

    >>> import pandas as pd
    >>> from evaluation.mixed import link_cases
    >>> codes = pd.DataFrame({"id": [1, 2], "key": ["funding", "funding.challenges"],
    ...                       "name": ["Funding", "Challenges"], "parent_id": [None, 1],
    ...                       "path": ["Funding", "Funding/Challenges"], "depth": [0, 1]})
    >>> segments = pd.DataFrame({"document_id": [7, 7], "code_key": "funding.challenges",
    ...                          "start": [0, 50], "end": [20, 60]})
    >>> links = link_cases(pd.DataFrame({"case": ["C001"]}), pd.DataFrame({"cluster_id": ["C001"]}))
    >>> themes = quantitize(segments, pd.DataFrame({"document_id": [7], "case": ["C001"]}),
    ...                     pd.DataFrame({"id": [7], "n_chars": [100]}), codes, links)
    >>> themes[["code", "level", "presence", "frequency", "share", "coverage"]]
                     code  level  presence  frequency  share  coverage
    0             Funding  theme      True          2    1.0       0.3
    1  Funding/Challenges   code      True          2    1.0       0.3
    """
    where = "quantitize"
    require_columns(segments, ["document_id", "code_key", "start", "end"], f"{where}: segments")
    require_columns(case_documents, ["document_id", "case"], f"{where}: case_documents")
    require_columns(documents, ["id", "n_chars"], f"{where}: documents")
    require_columns(codes, ["id", "key", "name", "parent_id", "path", "depth"], f"{where}: codes")
    require_columns(links.linked, ["case", "cluster_id"], f"{where}: links.linked")
    if min_passages < 1:
        raise QuantitizeError(f"min_passages must be at least 1, got {min_passages}")
    cluster_of_case = dict(zip(links.linked["case"], links.linked["cluster_id"]))
    docs = case_documents[case_documents["case"].isin(cluster_of_case)].copy()
    docs["cluster_id"] = docs["case"].map(cluster_of_case)
    # a document linked to two cases of one cluster still counts once
    docs = docs.drop_duplicates(["document_id", "cluster_id"])
    length = documents.set_index("id")["n_chars"]
    characters = (
        docs.assign(n_chars=docs["document_id"].map(length).fillna(0))
        .groupby("cluster_id")["n_chars"]
        .sum()
    )
    interviews = links.linked.groupby("cluster_id")["case"].nunique()

    unknown = set(segments["code_key"]) - set(codes["key"])
    if unknown:
        raise QuantitizeError(
            f"segments use code(s) not in the codebook: {', '.join(sorted(map(str, unknown)))}"
        )
    mine = segments.merge(docs[["document_id", "cluster_id"]], on="document_id", how="inner")
    chains = _ancestors(codes)
    # each passage counts for its code and every ancestor (challenges -> the theme)
    rolled = mine.assign(target=mine["code_key"].map(chains)).explode("target")
    frequency = rolled.groupby(["cluster_id", "target"]).size()
    covered = _covered_characters(
        rolled[["cluster_id", "document_id", "target", "start", "end"]],
        ["cluster_id", "document_id", "target"],
    )
    covered = covered.groupby(level=["cluster_id", "target"]).sum() if len(covered) else covered
    passages = mine.groupby("cluster_id").size()

    clusters = sorted(set(cluster_of_case.values()))
    theme_name = {}
    by_key = codes.set_index("key")
    for key, chain in chains.items():
        theme_name[key] = by_key.loc[chain[-1], "name"]
    grid = pd.MultiIndex.from_product(
        [clusters, list(codes["key"])], names=["cluster_id", "code_key"]
    )
    out = pd.DataFrame(index=grid).reset_index()
    keys = pd.MultiIndex.from_frame(out[["cluster_id", "code_key"]])
    out["code"] = out["code_key"].map(by_key["path"])
    out["theme"] = out["code_key"].map(theme_name)
    out["level"] = np.where(out["code_key"].map(by_key["depth"]) == 0, "theme", "code")
    out["n_interviews"] = out["cluster_id"].map(interviews).astype("int64")
    out["frequency"] = frequency.reindex(keys, fill_value=0).to_numpy().astype("int64")
    out["presence"] = out["frequency"] >= min_passages
    total = out["cluster_id"].map(passages).fillna(0).to_numpy()
    out["share"] = np.where(total > 0, out["frequency"] / np.where(total > 0, total, 1), 0.0)
    chars = out["cluster_id"].map(characters).fillna(0).to_numpy()
    coverage = (
        covered.reindex(keys, fill_value=0).to_numpy() if len(covered) else np.zeros(len(out))
    )
    out["coverage"] = np.where(chars > 0, coverage / np.where(chars > 0, chars, 1), 0.0)
    return out[["cluster_id", "code_key", "code", "theme", "level", "n_interviews", *QUANTITIES]]


def theme_matrix(
    quantitized: pd.DataFrame, value: str = "frequency", code_level: str | None = None
) -> pd.DataFrame:
    """Clusters x codes (paths) of one quantity, codebook order kept; ``code_level`` "theme" or
    "code" keeps one level of the codebook (None: both).

    Examples
    --------
    >>> import pandas as pd
    >>> quantitized = pd.DataFrame({"cluster_id": ["C1", "C1", "C2", "C2"],
    ...                             "code": ["Funding", "Data"] * 2, "level": "theme",
    ...                             "frequency": [2, 0, 1, 3]})
    >>> theme_matrix(quantitized)  # doctest: +NORMALIZE_WHITESPACE
    code        Funding  Data
    cluster_id
    C1                2     0
    C2                1     3
    """
    require_columns(quantitized, ["cluster_id", "code", "level", value], "theme_matrix")
    if value not in QUANTITIES:
        raise QuantitizeError(f"value {value!r}: expected one of {', '.join(QUANTITIES)}")
    rows = quantitized if code_level is None else quantitized[quantitized["level"] == code_level]
    order = list(dict.fromkeys(rows["code"]))
    wide = rows.pivot(index="cluster_id", columns="code", values=value)
    return wide[order]


def quantitize_store(
    store,
    links: CaseLinksResult,
    *,
    coder: str,
    coders: tuple[str, str] | None = None,
    min_passages: int = 1,
) -> pd.DataFrame:
    """:func:`quantitize` on a :class:`~evaluation.qualitative.store.Store`.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.mixed import link_cases
    >>> from evaluation.qualitative.store import Store
    >>> store = Store.create(":memory:")
    >>> funding = store.add_code("funding", "Funding")
    >>> document = store.add_document("interview C001", "Coordinator: the region pays for it.")
    >>> case = store.add_case("C001", attributes={"cluster_id": "C001"}, documents=[document])
    >>> segment = store.add_segment(document, "funding", 13, 36, coder="anna")
    >>> links = link_cases(store.cases(), pd.DataFrame({"cluster_id": ["C001", "C002"]}))
    >>> quantitize_store(store, links, coder="anna")[["cluster_id", "code", "frequency", "share"]]
      cluster_id     code  frequency  share
    0       C001  Funding          1    1.0
    """
    require_columns(links.linked, ["case", "cluster_id"], "quantitize_store: links.linked")
    segments = choose_segments(store.segments(details=False), coder, coders)
    return quantitize(
        segments,
        store.case_documents(),
        store.documents(),
        store.codes(),
        links,
        min_passages=min_passages,
    )
