"""Agreement between two coders who coded the same documents blind and in parallel.

For every code, each *unit* of text gets a yes/no from each coder ("did you apply this code
here?"), which gives a 2 x 2 table: both, only A, only B, neither. From that table:

- percent agreement  p_o = (both + neither) / N
- Cohen's kappa      kappa = (p_o - p_e) / (1 - p_e), p_e = p_A p_B + (1 - p_A)(1 - p_B),
  where p_A, p_B are the shares of units each coder coded (Cohen 1960);
- Krippendorff's alpha (nominal, two coders, no missing values)
  alpha = 1 - (n - 1) (only A + only B) / (n_0 n_1), with n = 2N pairable values and
  n_1 = 2 both + only A + only B, n_0 = 2 neither + only A + only B (Krippendorff 2004, ch. 11).

Units, ``level=``:
- ``"character"``: every character of the documents either coder coded (NVivo's coding
  comparison works the same way).
- ``"segment"``: the stretches of text coded by anyone: overlapping segments of both coders
  (any code) merge into one unit; a coder "applied" a code to a unit if one of their segments
  with that code lies in it. With uncoded text, every stretch between units that holds
  non-blank text is a further unit that neither coder coded.

``uncoded=True`` keeps the text that neither coder coded with any code (it counts as agreement
on "neither", which raises percent agreement); ``uncoded=False`` drops it. "All codes" pools
the tables of every code (each unit x code is one decision).

Everything is computed from interval lengths, not character vectors (why, with measurements:
docs/decisions/0020-coder-agreement-from-interval-lengths.md).

References: Cohen J. (1960) Educ Psychol Meas 20:37-46. Krippendorff K. (2004) Content Analysis,
2nd ed. O'Brien et al. (2014) on reporting coder agreement in qualitative research.

Example
-------
>>> import pandas as pd
>>> segments = pd.DataFrame({"document_id": [1, 1, 1], "code_key": ["data"] * 3,
...     "coder": ["anna", "bo", "bo"], "start": [0, 2, 20], "end": [10, 10, 30]})
>>> documents = pd.DataFrame({"id": [1], "n_chars": [40]})
>>> table = agreement_table(segments, documents, "anna", "bo", level="character")
>>> [int(x) for x in table.loc[0, ["both", "only_a", "only_b", "neither"]]]
[8, 2, 10, 20]
>>> kappa, alpha = table.loc[0, ["cohen_kappa", "krippendorff_alpha"]]
>>> round(float(kappa), 4), round(float(alpha), 4)
(0.3684, 0.3489)
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from evaluation.errors import InputError

ALL_CODES = "(all codes)"


def cohen_kappa_from_table(both: float, only_a: float, only_b: float, neither: float) -> float:
    """Cohen's kappa from a 2 x 2 table (``nan`` when chance agreement is 1)."""
    n = both + only_a + only_b + neither
    if n == 0:
        return float("nan")
    observed = (both + neither) / n
    p_a, p_b = (both + only_a) / n, (both + only_b) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    return float("nan") if expected >= 1 else float((observed - expected) / (1 - expected))


def krippendorff_alpha_from_table(
    both: float, only_a: float, only_b: float, neither: float
) -> float:
    """Krippendorff's alpha (nominal, two coders, no missing) from a 2 x 2 table."""
    pairs = 2 * (both + only_a + only_b + neither)
    disagreements = only_a + only_b
    n_yes = 2 * both + disagreements
    n_no = 2 * neither + disagreements
    if n_yes == 0 or n_no == 0:
        return float("nan")
    return float(1 - (pairs - 1) * disagreements / (n_yes * n_no))


# ---------------------------------------------------------------------- interval arithmetic
def _union_length(
    groups: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_groups: int
) -> np.ndarray:
    """Total length of the union of intervals in each group (groups are ints 0..n_groups-1)."""
    if len(groups) == 0:
        return np.zeros(n_groups)
    order = np.lexsort((starts, groups))
    g, s, e = (
        groups[order].astype(np.int64),
        starts[order].astype(np.int64),
        ends[order].astype(np.int64),
    )
    offset = g * (int(e.max()) + 1)
    # running maximum of ends within each group: offsets keep groups from leaking into each other
    running = np.maximum.accumulate(e + offset)
    previous = np.concatenate(([-1], running[:-1])) - offset
    contribution = np.clip(e - np.maximum(s, previous), 0, None)
    return np.bincount(g, weights=contribution, minlength=n_groups)


def _regions(
    documents: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame]:
    """Merge overlapping intervals per document into regions; returns each interval's region
    index (in input order) and the regions (document_id, start, end)."""
    order = np.lexsort((starts, documents))
    d, s, e = (
        documents[order].astype(np.int64),
        starts[order].astype(np.int64),
        ends[order].astype(np.int64),
    )
    offset = d * (int(e.max()) + 1)
    running = np.maximum.accumulate(e + offset)
    previous = np.concatenate(([-1], running[:-1])) - offset
    new_region = (s >= previous) | np.concatenate(([True], d[1:] != d[:-1]))
    region_sorted = np.cumsum(new_region) - 1
    region = np.empty_like(region_sorted)
    region[order] = region_sorted
    firsts = np.flatnonzero(new_region)
    lasts = np.concatenate((firsts[1:] - 1, [len(s) - 1]))
    # sorted by start, a region starts at its first interval and ends at the running maximum
    regions = pd.DataFrame(
        {"document_id": d[firsts], "start": s[firsts], "end": (running - offset)[lasts]}
    )
    return region, regions


def _tables(
    segments: pd.DataFrame,
    documents: pd.DataFrame,
    coder_a: str,
    coder_b: str,
    level: str,
    uncoded: bool,
    document_texts: dict[int, str] | None = None,
) -> pd.DataFrame:
    if level not in ("character", "segment"):
        raise InputError(f"level {level!r}: expected 'character' or 'segment'")
    for coder in (coder_a, coder_b):
        if not (segments["coder"] == coder).any():
            raise InputError(
                f"coder {coder!r} has no segments; known coders: "
                f"{sorted(segments['coder'].unique())}"
            )
    pair = segments[segments["coder"].isin([coder_a, coder_b])]
    c, code_labels = pd.factorize(pair["code_key"], sort=True)
    keys = list(code_labels)
    n_codes = len(keys)
    d, doc_labels = pd.factorize(pair["document_id"], sort=True)
    doc_ids = np.asarray(doc_labels)
    lengths = documents.set_index("id").loc[doc_ids, "n_chars"].to_numpy()
    s = pair["start"].to_numpy()
    e = pair["end"].to_numpy()
    is_a = (pair["coder"] == coder_a).to_numpy()
    if level == "character":
        group = d * n_codes + c
        n_groups = len(doc_ids) * n_codes
        len_a = (
            _union_length(group[is_a], s[is_a], e[is_a], n_groups).reshape(-1, n_codes).sum(axis=0)
        )
        len_b = (
            _union_length(group[~is_a], s[~is_a], e[~is_a], n_groups)
            .reshape(-1, n_codes)
            .sum(axis=0)
        )
        len_union = _union_length(group, s, e, n_groups).reshape(-1, n_codes).sum(axis=0)
        both = len_a + len_b - len_union
        if uncoded:
            n_units = float(lengths.sum())
        else:
            n_units = float(_union_length(d, s, e, len(doc_ids)).sum())
    else:
        region, regions = _regions(d, s, e)
        # (region, code) pairs each coder applied; counted per code
        region_code = region.astype(np.int64) * n_codes + c
        applied_a = np.unique(region_code[is_a])
        applied_b = np.unique(region_code[~is_a])
        applied_both = np.intersect1d(applied_a, applied_b, assume_unique=True)
        len_a = np.bincount(applied_a % n_codes, minlength=n_codes).astype(float)
        len_b = np.bincount(applied_b % n_codes, minlength=n_codes).astype(float)
        both = np.bincount(applied_both % n_codes, minlength=n_codes).astype(float)
        n_units = float(len(regions))
        if uncoded:
            n_units += _count_gaps(regions, doc_ids, lengths, document_texts)
    only_a = len_a - both
    only_b = len_b - both
    neither = n_units - (len_a + len_b - both)
    return pd.DataFrame(
        {
            "code_key": keys,
            "n_units": n_units,
            "both": both,
            "only_a": only_a,
            "only_b": only_b,
            "neither": neither,
        }
    )


def _count_gaps(
    regions: pd.DataFrame, doc_ids: np.ndarray, lengths: np.ndarray, texts: dict[int, str] | None
) -> int:
    """Uncoded stretches (between, before and after the coded regions) that hold non-blank text."""
    count = 0
    blank = re.compile(r"\S")
    document = regions["document_id"].to_numpy()
    starts = regions["start"].to_numpy()
    ends = regions["end"].to_numpy()
    boundaries = np.flatnonzero(np.diff(document)) + 1
    for first, last in zip(
        np.concatenate(([0], boundaries)), np.concatenate((boundaries, [len(document)]))
    ):
        index = int(document[first])
        gap_starts = np.concatenate(([0], ends[first:last])).tolist()
        gap_ends = np.concatenate((starts[first:last], [int(lengths[index])])).tolist()
        text = None if texts is None else texts.get(int(doc_ids[index]))
        for gap_start, gap_end in zip(gap_starts, gap_ends):
            if gap_end > gap_start and (text is None or blank.search(text, gap_start, gap_end)):
                count += 1
    return count


def agreement_table(
    segments: pd.DataFrame,
    documents: pd.DataFrame,
    coder_a: str,
    coder_b: str,
    *,
    level: str = "character",
    uncoded: bool = True,
    document_texts: dict[int, str] | None = None,
) -> pd.DataFrame:
    """Agreement per code and over all codes between ``coder_a`` and ``coder_b``.

    ``segments``: document_id, code_key, coder, start, end (as ``Store.segments()``);
    ``documents``: id, n_chars. Only documents that either coder coded count. Returns one row per
    code and a last row ``(all codes)``: code_key, level, uncoded, n_units, both, only_a, only_b,
    neither, percent_agreement, cohen_kappa, krippendorff_alpha.
    """
    tables = _tables(segments, documents, coder_a, coder_b, level, uncoded, document_texts)
    pooled = tables[["both", "only_a", "only_b", "neither"]].sum()
    pooled_row = {"code_key": ALL_CODES, "n_units": tables["n_units"].sum(), **pooled.to_dict()}
    tables = pd.concat([tables, pd.DataFrame([pooled_row])], ignore_index=True)
    counts = tables[["both", "only_a", "only_b", "neither"]].to_numpy()
    tables["percent_agreement"] = 100 * (counts[:, 0] + counts[:, 3]) / tables["n_units"].to_numpy()
    tables["cohen_kappa"] = [cohen_kappa_from_table(*row) for row in counts]
    tables["krippendorff_alpha"] = [krippendorff_alpha_from_table(*row) for row in counts]
    integer_columns = ["n_units", "both", "only_a", "only_b", "neither"]
    tables[integer_columns] = tables[integer_columns].round().astype("int64")
    tables.insert(1, "level", level)
    tables.insert(2, "uncoded", "included" if uncoded else "excluded")
    return tables


def agreement_report(store, coder_a: str, coder_b: str) -> pd.DataFrame:
    """All four variants (character/segment x with/without uncoded text) for a store, stacked."""
    segments = store.segments(details=False)
    documents = store.documents(with_text=True)
    texts = dict(zip(documents["id"], documents["text"]))
    frames = [
        agreement_table(
            segments,
            documents,
            coder_a,
            coder_b,
            level=level,
            uncoded=uncoded,
            document_texts=texts,
        )
        for level in ("character", "segment")
        for uncoded in (True, False)
    ]
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------- disagreements and consensus
def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def disagreements(
    segments: pd.DataFrame, coder_a: str, coder_b: str, texts: dict[int, str] | None = None
) -> pd.DataFrame:
    """Stretches of text that one coder coded with a code and the other did not.

    Columns: document_id, code_key, start, end, coded_by (the coder who applied the code),
    text (if ``texts`` given). Sorted by document and position: a list to work through.
    """
    rows = []
    pair = segments[segments["coder"].isin([coder_a, coder_b])]
    for (document_id, key), group in pair.groupby(["document_id", "code_key"], sort=True):
        a = _merge(
            list(
                zip(
                    group.loc[group["coder"] == coder_a, "start"],
                    group.loc[group["coder"] == coder_a, "end"],
                )
            )
        )
        b = _merge(
            list(
                zip(
                    group.loc[group["coder"] == coder_b, "start"],
                    group.loc[group["coder"] == coder_b, "end"],
                )
            )
        )
        bounds = sorted({x for interval in a + b for x in interval})
        pieces: list[list] = []
        for left, right in zip(bounds[:-1], bounds[1:]):
            in_a = any(s <= left and right <= e for s, e in a)
            in_b = any(s <= left and right <= e for s, e in b)
            if in_a != in_b:
                who = coder_a if in_a else coder_b
                if pieces and pieces[-1][1] == left and pieces[-1][2] == who:
                    pieces[-1][1] = right
                else:
                    pieces.append([left, right, who])
        for left, right, who in pieces:
            row = {
                "document_id": int(document_id),
                "code_key": key,
                "start": int(left),
                "end": int(right),
                "coded_by": who,
            }
            if texts is not None:
                row["text"] = texts[int(document_id)][left:right]
            rows.append(row)
    columns = ["document_id", "code_key", "start", "end", "coded_by"] + (
        ["text"] if texts is not None else []
    )
    return pd.DataFrame(rows, columns=columns)


def consensus_segments(
    segments: pd.DataFrame,
    coder_a: str,
    coder_b: str,
    *,
    strategy: str = "agreed",
    keep: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Merge two coders' work into consensus segments (document_id, code_key, start, end).

    - ``"agreed"``: where both coders applied a code to overlapping text, the consensus codes the
      whole stretch either of them coded there; a stretch only one coder coded is left out unless
      it appears in ``keep`` (rows of :func:`disagreements` the team decided to keep).
    - ``"intersection"``: only the characters both coded.
    - ``"union"``: everything either coded.
    """
    if strategy not in ("agreed", "intersection", "union"):
        raise InputError(f"strategy {strategy!r}: expected agreed, intersection or union")
    rows = []
    pair = segments[segments["coder"].isin([coder_a, coder_b])]
    for (document_id, key), group in pair.groupby(["document_id", "code_key"], sort=True):
        a = _merge(
            list(
                zip(
                    group.loc[group["coder"] == coder_a, "start"],
                    group.loc[group["coder"] == coder_a, "end"],
                )
            )
        )
        b = _merge(
            list(
                zip(
                    group.loc[group["coder"] == coder_b, "start"],
                    group.loc[group["coder"] == coder_b, "end"],
                )
            )
        )
        if strategy == "union":
            result = _merge(a + b)
        elif strategy == "intersection":
            result = [
                (max(s1, s2), min(e1, e2))
                for s1, e1 in a
                for s2, e2 in b
                if max(s1, s2) < min(e1, e2)
            ]
        else:
            result = [
                (s, e)
                for s, e in _merge(a + b)
                if any(s <= x < e for x, _ in a) and any(s <= x < e for x, _ in b)
            ]
        rows += [(int(document_id), key, int(s), int(e)) for s, e in result]
    if keep is not None and len(keep):
        rows += [
            (int(r.document_id), r.code_key, int(r.start), int(r.end)) for r in keep.itertuples()
        ]
        frame = pd.DataFrame(rows, columns=["document_id", "code_key", "start", "end"])
        merged = []
        for (document_id, key), group in frame.groupby(["document_id", "code_key"], sort=True):
            merged += [
                (document_id, key, s, e) for s, e in _merge(list(zip(group["start"], group["end"])))
            ]
        rows = merged
    return pd.DataFrame(rows, columns=["document_id", "code_key", "start", "end"])


def merge_consensus(
    store,
    coder_a: str,
    coder_b: str,
    *,
    into: str = "consensus",
    strategy: str = "agreed",
    keep: pd.DataFrame | None = None,
) -> int:
    """Write :func:`consensus_segments` into the store as coder ``into`` (one transaction).
    Refused if ``into`` already has segments, so a consensus is never silently doubled."""
    from evaluation.qualitative.store import StoreError

    if into in (coder_a, coder_b):
        raise StoreError(f"the consensus coder must differ from {coder_a!r} and {coder_b!r}")
    if into in store.coders() and len(store.segments(coders=[into])):
        raise StoreError(
            f"coder {into!r} already has segments; choose another name for the consensus"
        )
    consensus = consensus_segments(store.segments(), coder_a, coder_b, strategy=strategy, keep=keep)
    code_ids = {key: store.code_id(key) for key in consensus["code_key"].unique()}
    rows = [
        (int(r.document_id), code_ids[r.code_key], int(r.start), int(r.end))
        for r in consensus.itertuples()
    ]
    store.add_segments(rows, coder=into)
    return len(rows)
