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
>>> links.to_frame()[["case", "status", "cluster_id"]]
    case      status cluster_id
0   C001      linked       C001
1   C002  mismatched        C02
2  Pilot    unlinked       None
>>> links.clusters_without_interviews["cluster_id"].tolist()
['C002', 'C003']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns
from evaluation.palette import OKABE_ITO

__all__ = ["link_cases", "CaseLinksResult", "LinkError"]

CLUSTER_ID_COLUMN = "cluster_id"
#: what became of each case, in the order a report lists them
STATUSES = ("linked", "mismatched", "unlinked")


class LinkError(InputError):
    """The inputs cannot be linked as asked; a missing column is a MissingColumnsError."""


@dataclass
class CaseLinksResult:
    """The outcome of :func:`link_cases`; see the module docstring.

    ``.to_frame()`` every case with its status, ``.summary()`` interviewed and not interviewed
    clusters per region, ``.sentence()`` all of it in one sentence, ``.problems()`` the cases
    that did not link, ``.plot()`` the clusters per region.
    """

    linked: pd.DataFrame  # case, cluster_id, region
    mismatched: pd.DataFrame  # case, cluster_id, reason
    unlinked: pd.DataFrame  # case, reason
    clusters_without_interviews: pd.DataFrame  # cluster_id, region
    n_clusters: int

    def to_frame(self) -> pd.DataFrame:
        """Every case once: case, status ("linked", "mismatched", "unlinked"), cluster_id,
        region, reason (empty for linked cases)."""
        frames = [
            self.linked.assign(status="linked", reason=""),
            self.mismatched.assign(status="mismatched", region=None),
            self.unlinked.assign(status="unlinked", cluster_id=None, region=None),
        ]
        columns = ["case", "status", "cluster_id", "region", "reason"]
        frames = [f[columns] for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per region (missing region last): clusters without an interview and interviewed
        clusters."""
        without = (
            self.clusters_without_interviews.groupby("region", dropna=False)
            .size()
            .rename("clusters without an interview")
            .to_frame()
        )
        interviewed = self.linked.groupby("region", dropna=False)["cluster_id"].nunique()
        regions = without.index.union(interviewed.index, sort=False)
        table = without.reindex(regions).fillna(0).astype(int)
        table["interviewed clusters"] = interviewed.reindex(regions).fillna(0).astype(int)
        return table

    def plot(self, ax=None):
        """Interviewed clusters and clusters without an interview per region (stacked bars)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * max(len(self.summary()), 1)))
        table = self.summary()[["interviewed clusters", "clusters without an interview"]]
        table.index = table.index.map(lambda r: "no region" if pd.isna(r) else str(r))
        table.plot.barh(
            stacked=True, ax=ax, color=[OKABE_ITO["blue"], OKABE_ITO["grey"]], width=0.7
        )
        ax.set_xlabel("Clusters")
        ax.set_ylabel("")
        ax.legend(frameon=False, fontsize="small")
        return ax

    def sentence(self) -> str:
        """One sentence for a report."""
        interviewed = self.linked["cluster_id"].nunique()
        parts = [
            f"{len(self.linked)} interview case(s) linked to {interviewed} of the "
            f"{self.n_clusters} clusters"
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
    """Upper case without spaces, dashes and underscores, letters that look like digits as
    digits."""
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
) -> CaseLinksResult:
    """Link the store's cases (``Store.cases()``: ``case`` and optionally a ``cluster_id``
    attribute) to the clusters table (``cluster_id`` and, if present, ``region``).

    ``id_pattern`` says which case names count as cluster ids when a case has no ``cluster_id``
    attribute (the synthetic and canonical layout use ``C`` and three digits).

    Returns
    -------
    :class:`CaseLinksResult` (every case linked, mismatched or unlinked; the clusters without
    an interview).

    Examples
    --------
    >>> import pandas as pd
    >>> links = link_cases(pd.DataFrame({"case": ["interview 1"], "cluster_id": ["C0O7"]}),
    ...                    pd.DataFrame({"cluster_id": ["C007", "C008"]}))
    >>> links.mismatched["reason"].iloc[0]
    'cluster C0O7 is not in the clusters table; did you mean C007?'
    >>> print(links.sentence())  # doctest: +NORMALIZE_WHITESPACE
    0 interview case(s) linked to 0 of the 2 clusters; 1 case(s) name a cluster that is not in
    the data; 2 cluster(s) have no interview.
    """
    require_columns(cases, ["case"], "link_cases: the cases table (Store.cases())")
    require_columns(clusters, [CLUSTER_ID_COLUMN], "link_cases: the clusters table")
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
                    "reason": (
                        f"no '{CLUSTER_ID_COLUMN}' attribute, and the case name is not a cluster id"
                    ),
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
    return CaseLinksResult(
        linked=linked_frame,
        mismatched=pd.DataFrame(mismatched, columns=["case", "cluster_id", "reason"]),
        unlinked=pd.DataFrame(unlinked, columns=["case", "reason"]),
        clusters_without_interviews=without_frame.sort_values(
            ["region", "cluster_id"], kind="stable", na_position="last"
        ).reset_index(drop=True),
        n_clusters=len(known),
    )
