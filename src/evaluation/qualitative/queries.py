"""Queries on a coded project: retrieval with context, code frequencies, co-occurrence and the
framework matrix (cases x themes with quotes).

Functions take a :class:`~evaluation.qualitative.store.Store` and return tidy DataFrames; the
co-occurrence core works on a plain segment frame so that it can be reused and tested alone.

Example
-------
>>> import pandas as pd
>>> segments = pd.DataFrame({"document_id": [1, 1, 1], "code_key": ["a", "b", "c"], "coder": "x",
...                          "start": [0, 5, 40], "end": [10, 20, 50]})
>>> int(cooccurrence_matrix(segments).loc["a", "b"])
1
>>> int(cooccurrence_matrix(segments, distance=20).loc["b", "c"])
1
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from evaluation.qualitative.store import Store, StoreError


def _descendants(store: Store, code: int | str) -> list[int]:
    root = store.code_id(code)
    parents = dict(store.connection.execute("SELECT id, parent_id FROM codes").fetchall())
    out = []
    for code_id in parents:
        current = code_id
        while current is not None:
            if current == root:
                out.append(code_id)
                break
            current = parents[current]
    return out


def _segments_with_cases(store: Store) -> pd.DataFrame:
    segments = store.segments(with_text=True)
    links = store.case_documents()
    segments = segments.merge(links[["document_id", "case"]], on="document_id", how="left")
    paths = store.code_paths()
    segments["code"] = segments["code_id"].map(paths)
    return segments


def retrieve(
    store: Store,
    *,
    code: int | str | None = None,
    case: str | None = None,
    attributes: dict[str, str] | None = None,
    coder: str | None = None,
    context: int = 120,
    include_subcodes: bool = True,
) -> pd.DataFrame:
    """Coded segments with ``context`` characters before and after.

    Filters combine with AND: a code (with its subcodes unless ``include_subcodes=False``), a
    case, case attributes (e.g. ``{"region": "Nordjylland"}``), a coder. Columns: segment_id,
    document, case, code, coder, start, end, before, text, after, memo.
    """
    segments = _segments_with_cases(store)
    if code is not None:
        wanted = _descendants(store, code) if include_subcodes else [store.code_id(code)]
        segments = segments[segments["code_id"].isin(wanted)]
    if coder is not None:
        if coder not in store.coders():
            raise StoreError(f"no coder {coder!r}; known: {', '.join(store.coders())}")
        segments = segments[segments["coder"] == coder]
    if case is not None:
        store.case_id(case)
        segments = segments[segments["case"] == case]
    if attributes:
        cases = store.cases()
        for name, value in attributes.items():
            if name not in cases.columns:
                raise StoreError(
                    f"no case attribute {name!r}; known: {', '.join(cases.columns[4:])}"
                )
            cases = cases[cases[name].astype(str) == str(value)]
        segments = segments[segments["case"].isin(cases["case"])]
    if segments.empty:
        return pd.DataFrame(
            columns=[
                "segment_id",
                "document",
                "case",
                "code",
                "coder",
                "start",
                "end",
                "before",
                "text",
                "after",
                "memo",
            ]
        )
    texts = dict(
        store.connection.execute(
            "SELECT id, text FROM documents WHERE id IN "
            f"({','.join(map(str, segments['document_id'].unique()))})"
        ).fetchall()
    )
    segments = segments.copy()
    segments["before"] = [
        texts[d][max(0, s - context) : s]
        for d, s in zip(segments["document_id"], segments["start"])
    ]
    segments["after"] = [
        texts[d][e : e + context] for d, e in zip(segments["document_id"], segments["end"])
    ]
    segments = segments.rename(columns={"id": "segment_id"})
    return segments[
        [
            "segment_id",
            "document",
            "case",
            "code",
            "coder",
            "start",
            "end",
            "before",
            "text",
            "after",
            "memo",
        ]
    ].reset_index(drop=True)


def code_frequencies(
    store: Store, *, by: str = "case", coder: str | None = None, count: str = "segments"
) -> pd.DataFrame:
    """How often each code was applied, by case or by a case attribute (e.g. ``by="region"``).

    ``count='segments'`` counts segments, ``'documents'`` the documents with at least one, and
    ``'characters'`` the coded characters. Rows: codes (paths); columns: the groups; 0 where none.
    """
    if count not in ("segments", "documents", "characters"):
        raise StoreError(f"count {count!r}: expected segments, documents or characters")
    segments = _segments_with_cases(store)
    if coder is not None:
        segments = segments[segments["coder"] == coder]
    if by != "case":
        cases = store.cases()
        if by not in cases.columns:
            raise StoreError(
                f"cannot group by {by!r}: not 'case' nor a case attribute "
                f"({', '.join(cases.columns[4:])})"
            )
        segments = segments.merge(cases[["case", by]], on="case", how="left")
    segments[by] = segments[by].fillna("(no case)")
    if count == "segments":
        table = segments.groupby(["code", by]).size()
    elif count == "documents":
        table = segments.groupby(["code", by])["document_id"].nunique()
    else:
        table = (
            (segments["end"] - segments["start"]).groupby([segments["code"], segments[by]]).sum()
        )
    frame = table.unstack(fill_value=0)
    paths = store.codes()["path"].tolist()
    return frame.reindex([p for p in paths if p in frame.index]).astype("int64")


def cooccurrence_matrix(segments: pd.DataFrame, *, distance: int | None = None) -> pd.DataFrame:
    """Counts of segment pairs with different codes that overlap (``distance=None``) or lie
    within ``distance`` characters of each other, in the same document and by the same coder.
    The diagonal holds each code's number of segments. Symmetric, indexed by ``code_key``.

    Sort-and-sweep: segments are laid out on one line (documents and coders far apart), sorted
    by start, and each segment is paired with the segments starting before its end (+ distance)
    found by binary search - O(n log n + pairs); measured against a pandas self-merge in
    docs/decisions/0021-co-occurrence-by-sort-and-sweep.md.
    """
    if distance is not None and distance < 0:
        raise StoreError(
            f"distance {distance}: expected a number of characters >= 0 (or None for overlap)"
        )
    code, keys = pd.factorize(segments["code_key"], sort=True)
    n_codes = len(keys)
    if n_codes == 0:
        return pd.DataFrame(dtype="int64")
    coder, coders = pd.factorize(segments["coder"])
    document, _ = pd.factorize(segments["document_id"])
    group = document.astype(np.int64) * max(1, len(coders)) + coder
    reach = 0 if distance is None else int(distance)
    spacing = int(segments["end"].max()) + reach + 2
    starts = group * spacing + segments["start"].to_numpy(np.int64)
    ends = group * spacing + segments["end"].to_numpy(np.int64)
    order = np.argsort(starts, kind="stable")
    starts, ends, code = starts[order], ends[order], code[order]
    if distance is None:
        last = np.searchsorted(starts, ends, side="left")  # start_j < end_i: overlap
    else:
        last = np.searchsorted(starts, ends + reach, side="right")  # start_j - end_i <= distance
    first = np.arange(len(starts)) + 1
    n_pairs = np.clip(last - first, 0, None)
    left = np.repeat(np.arange(len(starts)), n_pairs)
    # right index = first[i] + 0..n_pairs[i]-1
    cumulative = np.cumsum(n_pairs)
    within = np.arange(cumulative[-1] if len(cumulative) else 0) - np.repeat(
        cumulative - n_pairs, n_pairs
    )
    right = first[left] + within
    a, b = code[left], code[right]
    different = a != b
    flat = np.bincount(a[different] * n_codes + b[different], minlength=n_codes * n_codes).reshape(
        n_codes, n_codes
    )
    matrix = flat + flat.T
    matrix[np.diag_indices(n_codes)] = np.bincount(code, minlength=n_codes)
    labels = pd.Index(np.asarray(keys), name="code_key")
    return pd.DataFrame(matrix, index=labels, columns=labels.copy())


def cooccurrence(
    store: Store, *, distance: int | None = None, coder: str | None = None, labels: str = "path"
) -> pd.DataFrame:
    """:func:`cooccurrence_matrix` for a store, labelled by code path (or ``labels='key'``)."""
    segments = store.segments(coders=None if coder is None else [coder], details=False)
    matrix = cooccurrence_matrix(segments, distance=distance)
    order = [key for key in store.codes()["key"] if key in matrix.index]  # codebook order
    matrix = matrix.loc[order, order]
    if labels == "path":
        codes = store.codes().set_index("key")["path"]
        matrix.index = matrix.index.map(codes)
        matrix.columns = matrix.columns.map(codes)
        matrix.index.name = matrix.columns.name = "code"
    return matrix


def framework_matrix(
    store: Store,
    *,
    coder: str | None = None,
    quotes_per_cell: int = 2,
    max_quote_chars: int = 240,
    themes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Cases x themes (top-level codes), each cell the number of segments and the first
    ``quotes_per_cell`` quotes ("[n] quote | quote"), as in framework analysis (Ritchie &
    Spencer)."""
    segments = _segments_with_cases(store)
    if coder is not None:
        segments = segments[segments["coder"] == coder]
    theme_of = store.code_theme()
    names = dict(store.connection.execute("SELECT id, name FROM codes").fetchall())
    segments["theme"] = segments["code_id"].map(lambda c: names[theme_of[c]])
    theme_order = [names[i] for i in store.codes().query("depth == 0")["id"]]
    if themes is not None:
        theme_order = [t for t in theme_order if t in set(themes)]
    cases = store.cases()["case"].tolist()
    segments = segments[segments["case"].notna()].sort_values(["case", "document_id", "start"])

    def cell(group: pd.DataFrame) -> str:
        quotes = []
        for text in group["text"].head(quotes_per_cell):
            text = " ".join(text.split())
            quotes.append(
                text if len(text) <= max_quote_chars else text[: max_quote_chars - 1] + "…"
            )
        return f"[{len(group)}] " + " | ".join(f"“{q}”" for q in quotes)

    cells = (
        segments.groupby(["case", "theme"]).apply(cell, include_groups=False)
        if len(segments)
        else pd.Series(dtype=str)
    )
    frame = cells.unstack() if len(cells) else pd.DataFrame()
    frame = frame.reindex(index=cases, columns=theme_order).fillna("")
    frame.index.name = "case"
    return frame
