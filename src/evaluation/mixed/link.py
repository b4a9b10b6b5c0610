"""Link interview cases to the quantitative clusters, and say out loud what does not link.

A case in the coding store stands for one interviewed cluster. It names its cluster by the case
attribute ``cluster_id`` (set by ``workbench qual cases link-clusters`` or a REFI-QDA import), or,
failing that, by a case name that is itself a cluster id. Every case ends up in exactly one of:

- ``linked``: the cluster exists in the quantitative clusters table;
- ``mismatched``: a cluster id is given but the table has no such cluster (a typo, a cluster
  renamed or merged since the interviews, or a store linked to other data), with close matches
  suggested;
- ``unlinked``: no cluster id at all.

``clusters_without_interviews`` lists the clusters of the table that no case links to. None of
them is dropped silently: the mixed-methods report shows all four.

Example
-------
>>> import pandas as pd
>>> cases = pd.DataFrame({"case": ["C001", "C002", "Pilot"], "cluster_id": ["C001", "C02", None]})
>>> clusters = pd.DataFrame({"cluster_id": ["C001", "C002", "C003"], "region": ["Nordjylland"] * 3})
>>> links = link_cases(cases, clusters)
>>> links.linked["cluster_id"].tolist(), links.mismatched["cluster_id"].tolist(), links.unlinked["case"].tolist()
(['C001'], ['C02'], ['Pilot'])
>>> links.clusters_without_interviews["cluster_id"].tolist()
['C002', 'C003']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pandas as pd

CLUSTER_ID_COLUMN = "cluster_id"


class LinkError(ValueError):
    """The inputs cannot be linked at all (e.g. a clusters table without ``cluster_id``)."""


@dataclass
class CaseLinks:
    """The outcome of :func:`link_cases`; see the module docstring."""

    linked: pd.DataFrame  # case, cluster_id, region
    mismatched: pd.DataFrame  # case, cluster_id, reason
    unlinked: pd.DataFrame  # case, reason
    clusters_without_interviews: pd.DataFrame  # cluster_id, region
    n_clusters: int

    def summary(self) -> str:
        """One sentence for a report."""
        interviewed = self.linked["cluster_id"].nunique()
        parts = [
            f"{len(self.linked)} interview case(s) linked to {interviewed} of the {self.n_clusters} clusters"
        ]
        if len(self.mismatched):
            parts.append(f"{len(self.mismatched)} case(s) name a cluster that is not in the data")
        if len(self.unlinked):
            parts.append(f"{len(self.unlinked)} case(s) name no cluster")
        parts.append(f"{len(self.clusters_without_interviews)} cluster(s) have no interview")
        return "; ".join(parts) + "."

    def problems(self) -> pd.DataFrame:
        """Mismatched and unlinked cases in one table: case, cluster_id, problem."""
        frames = [
            self.mismatched.rename(columns={"reason": "problem"}),
            self.unlinked.assign(cluster_id=None).rename(columns={"reason": "problem"}),
        ]
        frames = [f[["case", "cluster_id", "problem"]] for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=["case", "cluster_id", "problem"])
        return pd.concat(frames, ignore_index=True)


def _normalised(identifier: str) -> str:
    """Upper case without spaces, dashes and underscores, letters that look like digits as digits."""
    return re.sub(r"[\s_-]", "", identifier.upper()).translate(str.maketrans("OIL", "011"))


def _close_matches(cluster_id: str, known_ids: list[str]) -> list[str]:
    # a look-alike (C0O7 for C007, c-007) first, then ids that differ by a character or two
    same = [k for k in known_ids if _normalised(k) == _normalised(cluster_id)]
    return same or difflib.get_close_matches(cluster_id, known_ids, n=2, cutoff=0.6)


def _cluster_id_of(case: pd.Series, pattern: re.Pattern) -> str | None:
    value = case.get(CLUSTER_ID_COLUMN)
    if value is not None and not pd.isna(value) and str(value).strip():
        return str(value).strip()
    name = str(case["case"]).strip()
    return name if pattern.fullmatch(name) else None


def link_cases(
    cases: pd.DataFrame, clusters: pd.DataFrame, *, id_pattern: str = r"C\d{3}"
) -> CaseLinks:
    """Link the store's cases (``Store.cases()``: ``case`` and optionally a ``cluster_id``
    attribute) to the clusters table (``cluster_id`` and, if present, ``region``).

    ``id_pattern`` says which case names count as cluster ids when a case has no ``cluster_id``
    attribute (the synthetic and canonical layout use ``C`` and three digits).
    """
    if "case" not in cases.columns:
        raise LinkError(
            f"the cases table needs a 'case' column; it has {', '.join(map(str, cases.columns))}"
        )
    if CLUSTER_ID_COLUMN not in clusters.columns:
        raise LinkError(
            f"the clusters table needs a '{CLUSTER_ID_COLUMN}' column; it has {', '.join(map(str, clusters.columns))}"
        )
    known = clusters.drop_duplicates(CLUSTER_ID_COLUMN).set_index(CLUSTER_ID_COLUMN)
    regions = (
        known["region"]
        if "region" in known.columns
        else pd.Series(None, index=known.index, dtype=object)
    )
    known_ids = [str(i) for i in known.index]
    pattern = re.compile(id_pattern)

    linked, mismatched, unlinked = [], [], []
    for _, case in cases.iterrows():
        cluster_id = _cluster_id_of(case, pattern)
        if cluster_id is None:
            unlinked.append(
                {
                    "case": case["case"],
                    "reason": f"no '{CLUSTER_ID_COLUMN}' attribute, and the case name is not a cluster id",
                }
            )
        elif cluster_id in known.index:
            linked.append(
                {"case": case["case"], "cluster_id": cluster_id, "region": regions.get(cluster_id)}
            )
        else:
            close = _close_matches(cluster_id, known_ids)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            mismatched.append(
                {
                    "case": case["case"],
                    "cluster_id": cluster_id,
                    "reason": f"cluster {cluster_id} is not in the clusters table{hint}",
                }
            )
    linked_frame = pd.DataFrame(linked, columns=["case", "cluster_id", "region"])
    without = known.index.difference(pd.Index(linked_frame["cluster_id"].unique()), sort=False)
    without_frame = pd.DataFrame(
        {"cluster_id": list(without), "region": regions.reindex(without).to_numpy()}
    )
    return CaseLinks(
        linked=linked_frame,
        mismatched=pd.DataFrame(mismatched, columns=["case", "cluster_id", "reason"]),
        unlinked=pd.DataFrame(unlinked, columns=["case", "reason"]),
        clusters_without_interviews=without_frame.sort_values(
            ["region", "cluster_id"], kind="stable", na_position="last"
        ).reset_index(drop=True),
        n_clusters=len(known),
    )
