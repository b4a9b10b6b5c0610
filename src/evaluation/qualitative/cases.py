"""Cases that link interviews to the quantitative data: one case per cluster.

A transcript whose name contains a cluster id (``C012`` in ``interview_07_C012.docx``) belongs to
that cluster's case; the case carries the attributes a mixed-methods join needs: ``cluster_id``,
``region``, size (``n_gps``, ``n_clinics``, ``listed_patients``) and ``urban_share`` (the share of
the cluster's clinics that are urban), read from the canonical clusters and clinics tables.

Example
-------
>>> import pandas as pd
>>> clusters = pd.DataFrame({"cluster_id": ["C012"], "cluster_name": ["North 12"],
...     "region": ["Nordjylland"], "n_clinics": [2], "n_gps": [9], "listed_patients": [14000]})
>>> clinics = pd.DataFrame({"cluster_id": ["C012", "C012"], "urbanicity": ["urban", "rural"]})
>>> float(cluster_attributes(clusters, clinics).loc["C012", "urban_share"])
0.5
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from evaluation.qualitative.store import Store, StoreError

CLUSTER_ID = r"C\d{3}"


def cluster_attributes(clusters: pd.DataFrame, clinics: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster (index cluster_id): cluster_id, region, n_gps, n_clinics,
    listed_patients, urban_share (rounded to 3 decimals), cluster_name."""
    missing = {"cluster_id", "region", "n_gps", "n_clinics"} - set(clusters.columns)
    if missing:
        raise StoreError(f"the clusters table lacks column(s) {sorted(missing)}")
    urban = (
        clinics.assign(urban=clinics["urbanicity"] == "urban")
        .groupby("cluster_id")["urban"]
        .mean()
        .round(3)
    )
    table = clusters.set_index("cluster_id", drop=False)
    out = table[["cluster_id", "region", "n_gps", "n_clinics"]].copy()
    if "listed_patients" in table:
        out["listed_patients"] = table["listed_patients"]
    out["urban_share"] = urban.reindex(out.index)
    out["cluster_name"] = table.get("cluster_name", out["cluster_id"])
    return out


def link_cluster_cases(
    store: Store, data_dir: str | Path, *, pattern: str = CLUSTER_ID
) -> pd.DataFrame:
    """Create or update one case per cluster named in a document's name and link the documents.

    ``data_dir`` holds clusters.parquet and clinics.parquet (``workbench data synth`` or real
    data in the canonical layout). Returns the linked documents: document, case. A cluster id
    that is not in the clusters table is an error naming the document.
    """
    data_dir = Path(data_dir)
    for name in ("clusters.parquet", "clinics.parquet"):
        if not (data_dir / name).is_file():
            raise StoreError(
                f"{data_dir / name} is missing: point --data at a data folder in the canonical "
                "layout"
            )
    attributes = cluster_attributes(
        pd.read_parquet(data_dir / "clusters.parquet"),
        pd.read_parquet(data_dir / "clinics.parquet"),
    )
    regex = re.compile(pattern)
    links = []
    for document_id, name in store.documents()[["id", "name"]].itertuples(index=False):
        match = regex.search(name)
        if not match:
            continue
        cluster_id = match.group(0)
        if cluster_id not in attributes.index:
            raise StoreError(
                f"document {name!r} names cluster {cluster_id}, which is not in "
                f"{data_dir / 'clusters.parquet'}"
            )
        links.append((int(document_id), name, cluster_id))
    with store.transaction():
        for document_id, _, cluster_id in links:
            row = attributes.loc[cluster_id]
            store.add_case(
                cluster_id,
                attributes={
                    k: (None if pd.isna(v) else v) for k, v in row.drop("cluster_name").items()
                },
                documents=[document_id],
                description=str(row["cluster_name"]),
            )
    return pd.DataFrame([(n, c) for _, n, c in links], columns=["document", "case"])


#: the project setting that keeps each case's interview number ({case guid: number}, JSON)
INTERVIEW_NUMBERS_KEY = "interview_numbers"


def interview_numbers(store: Store) -> dict[str, int]:
    """Each case's interview number, as shared reports name the case ("Interview 07").

    Numbers are drawn at random the first time a case needs one and kept in the store's project
    settings, so that every run of the same store numbers its interviews alike, and no number
    follows the order of the cluster ids, the case names or the order of import (any of which
    would let a reader who knows the clusters link an interview, and its quotes, to its
    cluster). A case added later gets a free number at random; a case keeps its number when it
    is renamed (numbers are kept by the case's guid).

    Parameters
    ----------
    store : an open, writable :class:`~evaluation.qualitative.store.Store`.

    Returns
    -------
    {case name: number}, numbers 1..n for n cases (when no case was ever deleted).

    Example
    -------
    >>> store = Store.create(":memory:")
    >>> for name in ["C001", "C002", "C003"]:
    ...     _ = store.add_case(name)
    >>> numbers = interview_numbers(store)
    >>> sorted(numbers.values()), numbers == interview_numbers(store)
    ([1, 2, 3], True)
    """
    import json
    import random
    import sqlite3

    def read(cursor) -> tuple[list, dict[str, int]]:
        cases = cursor.execute("SELECT name, guid FROM cases ORDER BY id").fetchall()
        row = cursor.execute(
            "SELECT value FROM project WHERE key = ?", (INTERVIEW_NUMBERS_KEY,)
        ).fetchone()
        kept = {str(guid): int(n) for guid, n in json.loads(row[0] if row else "{}").items()}
        return cases, kept

    cases, kept = read(store.connection.cursor())
    if any(guid not in kept for _, guid in cases):  # a read-only store that is numbered works
        try:
            with store.transaction() as cursor:  # BEGIN IMMEDIATE: parallel notebooks agree
                cases, kept = read(cursor)
                new = [guid for _, guid in cases if guid not in kept]
                used = set(kept.values())
                free = [n for n in range(1, len(used) + len(new) + 1) if n not in used]
                random.SystemRandom().shuffle(free)
                kept.update(zip(new, free, strict=False))
                cursor.execute(
                    "INSERT INTO project (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (INTERVIEW_NUMBERS_KEY, json.dumps(kept, sort_keys=True)),
                )
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"Cannot keep the interview numbers in the coding store {store.path} ({exc}). "
                "The store must be writable once, when its interviews are first numbered: "
                "make the file writable (or work on a copy) and run again."
            ) from None
    return {name: kept[guid] for name, guid in cases}


def interview_label(number: int, width: int = 2) -> str:
    """How a report names an interview: ``interview_label(7) == 'Interview 07'``."""
    return f"Interview {number:0{width}d}"
