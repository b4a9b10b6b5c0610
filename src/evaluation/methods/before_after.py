"""Clinic-level before/after: the simplest view of a topic meeting, and the one coordinators ask for.

For each clinic whose cluster took the topic up, the mean outcome in the ``window`` months
before its first treated month against the ``window`` months from it; comparison clinics
(never treated) are measured over the same calendar windows, cohort by cohort, so the secular
trend shows up as their change and the difference of changes is a controlled before-after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class BeforeAfter:
    """Per-clinic changes and their summary; ``.to_frame()`` and ``.plot()``."""

    clinics: pd.DataFrame  # clinic_id, cluster_id, group, cohort, before, after, change
    summary: pd.DataFrame  # group, n_clinics, mean_before, mean_after, mean_change, ci_low, ci_high
    outcome: str
    window: int

    def to_frame(self) -> pd.DataFrame:
        return self.summary.copy()

    def plot(self, ax=None, label: str | None = None):
        """Each clinic's before and after, joined by a line; comparison clinics in grey."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4.5))
        long = self.clinics.melt(
            id_vars=["clinic_id", "group"],
            value_vars=["before", "after"],
            var_name="period",
            value_name="value",
        )
        long["period"] = long["period"].map(
            {"before": f"{self.window} months before", "after": f"{self.window} months after"}
        )
        sns.pointplot(
            data=long,
            x="period",
            y="value",
            hue="group",
            dodge=0.15,
            errorbar=("ci", 95),
            palette={"took up the topic": "#1b6ca8", "never took it up": "#9a9a9a"},
            ax=ax,
        )
        ax.set_xlabel("")
        ax.set_ylabel(label or self.outcome.replace("_", " "))
        ax.legend(title="Clinics whose cluster")
        ax.set_title("Before and after the cluster's topic meeting (mean, 95% CI)")
        return ax


def before_after(
    panel: pd.DataFrame,
    outcome: str = "ddd_per_1000_per_day",
    window: int = 12,
    unit: str = "clinic_id",
    time: str = "month",
    first_treated: str = "first_treated_month",
) -> BeforeAfter:
    """Mean outcome per clinic in ``window`` months before vs. from its first treated month.

    Parameters
    ----------
    panel : clinic-month frame as from ``evaluation.data.panel.prescribing_panel``.
    outcome : column to compare.
    window : months on each side; only clinics with the full window on both sides count.

    Returns
    -------
    BeforeAfter with a per-clinic frame and a summary per group (took up / never took up)
    with the mean change and its t-based 95% CI (clinics as the unit).

    Example
    -------
    >>> result = before_after(panel, "ddd_per_1000_per_day", window=12)   # doctest: +SKIP
    >>> result.to_frame()                                                 # doctest: +SKIP
    """
    from scipy import stats

    for column in (unit, time, first_treated, outcome):
        if column not in panel.columns:
            raise KeyError(f"before_after: panel has no column {column!r}")
    if window < 1:
        raise ValueError(f"window must be at least 1 month, got {window}")
    month = pd.to_datetime(panel[time]).dt.to_period("M")
    frame = panel.assign(_period=month)
    treated = frame[frame[first_treated].notna()]
    never = frame[frame[first_treated].isna()]
    if treated.empty:
        raise ValueError(
            "before_after: no clinic in the panel took the topic up, so there is no 'after'"
        )
    rows = []
    first_periods = pd.to_datetime(treated[first_treated]).dt.to_period("M")
    data_first, data_last = month.min(), month.max()
    for start in sorted(first_periods.unique()):
        before_span = (start - window, start - 1)
        after_span = (start, start + window - 1)
        if before_span[0] < data_first or after_span[1] > data_last:
            continue  # the cohort lacks a full window on one side
        cohort = treated[first_periods == start]
        for group, members in (("took up the topic", cohort), ("never took it up", never)):
            if members.empty:
                continue
            b = members[
                (members["_period"] >= before_span[0]) & (members["_period"] <= before_span[1])
            ]
            a = members[
                (members["_period"] >= after_span[0]) & (members["_period"] <= after_span[1])
            ]
            means = pd.DataFrame(
                {
                    "before": b.groupby(unit)[outcome].mean(),
                    "after": a.groupby(unit)[outcome].mean(),
                }
            ).dropna()
            means["group"] = group
            means["cohort"] = str(start)
            rows.append(means.reset_index())
    if not rows:
        raise ValueError(
            f"before_after: no cohort has {window} months of data on both sides of its first treated month; "
            "use a shorter window or a wider study period"
        )
    clinics = pd.concat(rows, ignore_index=True)
    clinics["change"] = clinics["after"] - clinics["before"]
    clusters = panel.drop_duplicates(unit).set_index(unit).get("cluster_id")
    if clusters is not None:
        clinics.insert(1, "cluster_id", clinics[unit].map(clusters))
    summary_rows = []
    for group, g in clinics.groupby("group", sort=False):
        n = len(g)
        mean = g["change"].mean()
        se = g["change"].std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        half = stats.t.ppf(0.975, n - 1) * se if n > 1 else np.nan
        summary_rows.append(
            dict(
                group=group,
                n_clinics=int(g[unit].nunique()),
                mean_before=g["before"].mean(),
                mean_after=g["after"].mean(),
                mean_change=mean,
                ci_low=mean - half,
                ci_high=mean + half,
            )
        )
    return BeforeAfter(clinics, pd.DataFrame(summary_rows), outcome, window)
