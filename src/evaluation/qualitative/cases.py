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
