"""Clinic-level before/after: the simplest view of a topic meeting, the one coordinators ask for.

For each clinic whose cluster took the topic up, the mean outcome in the ``window`` months
before its first treated month against the ``window`` months from it; comparison clinics
(never treated) are measured over the same calendar windows, cohort by cohort, so the secular
trend shows up as their change and the difference of changes is a controlled before-after.
"""

from __future__ import annotations

__all__ = ["before_after", "BeforeAfterResult"]

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns, require_unique

TOOK_UP = "took up the topic"
NEVER = "never took it up"


@dataclass
class BeforeAfterResult:
    """Per-clinic changes and their mean per group. Build with :func:`before_after`.

    ``.to_frame()`` one row per group, ``.summary()`` the controlled before-after (difference of
    the groups' mean changes) in one row, ``.plot()`` each clinic's before and after.
    """

    clinics: pd.DataFrame  # clinic_id, cluster_id, group, cohort, before, after, change
    groups: pd.DataFrame  # group, n_clinics, mean_before, mean_after, mean_change, se, ci_low, ...
    outcome: str
    window: int
    level: float = 0.95
    unit: str = "clinic_id"

    def to_frame(self) -> pd.DataFrame:
        """One row per group (took up the topic / never took it up): group, n_clinics,
        mean_before, mean_after, mean_change, se, ci_low, ci_high (t interval, clinics as the
        unit)."""
        return self.groups.copy()

    def summary(self) -> pd.DataFrame:
        """The controlled before-after in one row: the mean change of the clinics that took the
        topic up minus that of the clinics that never did (estimate), with Welch's standard
        error and interval (se, ci_low, ci_high, p_value) and the clinics on each side. A
        clinic that never took the topic up enters once, with its mean change over the
        cohorts' windows.

        :math:`\\hat\\delta = \\bar\\Delta_{took\\,up} - \\bar\\Delta_{never}`,
        :math:`SE = \\sqrt{s_1^2/n_1 + s_0^2/n_0}`, t on the Welch-Satterthwaite df.
        """
        from scipy import stats

        clinics = self.clinics
        took = clinics.loc[clinics["group"] == TOOK_UP, "change"].to_numpy()
        # a never-treated clinic is measured once per cohort's window: it counts once, with
        # its mean change over those windows, so that the standard error is not understated
        never_rows = clinics[clinics["group"] == NEVER]
        never = never_rows.groupby(self.unit)["change"].mean().to_numpy()
        row = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        row["p_value"] = np.nan
        if len(took) >= 2 and len(never) >= 2:
            v1, v0 = took.var(ddof=1) / len(took), never.var(ddof=1) / len(never)
            se = float(np.sqrt(v1 + v0))
            dof = (v1 + v0) ** 2 / (v1**2 / (len(took) - 1) + v0**2 / (len(never) - 1))
            estimate = float(took.mean() - never.mean())
            half = stats.t.ppf(1 - (1 - self.level) / 2, dof) * se
            row = {
                "estimate": estimate,
                "se": se,
                "ci_low": estimate - half,
                "ci_high": estimate + half,
                "p_value": float(2 * stats.t.sf(abs(estimate / se), dof)),
            }
        return pd.DataFrame(
            [
                {
                    "term": "change of clinics that took the topic up minus those that did not",
                    **row,
                    "n_took_up": len(took),
                    "n_never": len(never),
                    "window": self.window,
                }
            ]
        )

    def plot(self, ax=None, label: str | None = None):
        """Each clinic's before and after, joined by a line; comparison clinics in grey."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4.5))
        long = self.clinics.melt(
            id_vars=[self.unit, "group"],
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
            errorbar=("ci", self.level * 100),
            palette={TOOK_UP: "#1b6ca8", NEVER: "#9a9a9a"},
            ax=ax,
        )
        ax.set_xlabel("")
        ax.set_ylabel(label or self.outcome.replace("_", " "))
        ax.legend(title="Clinics whose cluster")
        ax.set_title(
            f"Before and after the cluster's topic meeting (mean, {self.level * 100:g}% CI)"
        )
        return ax


def before_after(
    panel: pd.DataFrame,
    outcome: str = "ddd_per_1000_per_day",
    window: int = 12,
    unit: str = "clinic_id",
    time: str = "month",
    first_treated: str = "first_treated_month",
    level: float = 0.95,
) -> BeforeAfterResult:
    """Mean outcome per clinic in ``window`` months before vs. from its first treated month.

    For a clinic :math:`c` first treated in month :math:`F`, its change is
    :math:`\\Delta_c = \\bar y_{c,[F, F+w)} - \\bar y_{c,[F-w, F)}`; clinics whose cluster never
    took the topic up get the same change over each cohort's calendar window. Per group, the
    mean change and its t interval (clinics as the unit):
    :math:`\\bar\\Delta \\pm t_{n-1}\\, s/\\sqrt{n}`.

    Parameters
    ----------
    panel : clinic-month frame as from ``evaluation.data.panel.prescribing_panel``.
    outcome : column to compare.
    window : months on each side; only clinics with the full window on both sides count.
    unit, time, first_treated : the clinic, month and first-treated-month columns.
    level : confidence level of the intervals (0.95).

    Returns
    -------
    :class:`BeforeAfterResult` with the per-clinic frame (``.clinics``), the mean change per
    group (``.to_frame()``) and their difference (``.summary()``).

    References
    ----------
    Wagner AK et al. Segmented regression analysis of interrupted time series studies in
    medication use research. J Clin Pharm Ther 2002;27:299-309 (the controlled before-after
    design it improves on).

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2020-01-01", periods=4, freq="MS")
    >>> panel = pd.DataFrame({
    ...     "clinic_id": ["K1"] * 4 + ["K2"] * 4, "cluster_id": ["C1"] * 4 + ["C2"] * 4,
    ...     "month": list(months) * 2,
    ...     "first_treated_month": [months[2]] * 4 + [pd.NaT] * 4,
    ...     "ddd_per_1000_per_day": [10.0, 10.0, 8.0, 8.0, 10.0, 10.0, 10.0, 9.0]})
    >>> before_after(panel, window=2).to_frame()[["group", "n_clinics", "mean_change"]]
                   group  n_clinics  mean_change
    0  took up the topic          1         -2.0
    1   never took it up          1         -0.5
    """
    from scipy import stats

    where = "before_after: panel"
    require_columns(panel, [unit, time, first_treated, outcome], where)
    require_unique(panel, [unit, time], where, what=f"one row per {unit} and {time}")
    if window < 1:
        raise InputError(f"window must be at least 1 month, got {window}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    month = pd.to_datetime(panel[time]).dt.to_period("M")
    frame = panel.assign(_period=month)
    treated = frame[frame[first_treated].notna()]
    never = frame[frame[first_treated].isna()]
    if treated.empty:
        raise InputError(
            f"{where}: no clinic in the panel took the topic up, so there is no 'after'"
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
        for group, members in ((TOOK_UP, cohort), (NEVER, never)):
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
        raise InputError(
            f"{where}: no cohort has {window} months of data on both sides of its first treated "
            "month; use a shorter window or a wider study period"
        )
    clinics = pd.concat(rows, ignore_index=True)
    clinics["change"] = clinics["after"] - clinics["before"]
    clusters = panel.drop_duplicates(unit).set_index(unit).get("cluster_id")
    if clusters is not None:
        clinics.insert(1, "cluster_id", clinics[unit].map(clusters))
    t_quantile = 1 - (1 - level) / 2
    group_rows = []
    for group, g in clinics.groupby("group", sort=False):
        n = len(g)
        mean = g["change"].mean()
        se = g["change"].std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        half = stats.t.ppf(t_quantile, n - 1) * se if n > 1 else np.nan
        group_rows.append(
            dict(
                group=group,
                n_clinics=int(g[unit].nunique()),
                mean_before=g["before"].mean(),
                mean_after=g["after"].mean(),
                mean_change=mean,
                se=se,
                ci_low=mean - half,
                ci_high=mean + half,
            )
        )
    return BeforeAfterResult(clinics, pd.DataFrame(group_rows), outcome, window, level, unit)
