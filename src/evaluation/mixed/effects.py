"""The quantitative side of the join: each cluster's prescribing effect and attendance rate.

Effects per cluster, by one of two methods (the panel is
:func:`evaluation.data.panel.prescribing_panel`):

- ``"its"`` (default): an interrupted time series per clinic of a cluster that met on the topic
  (quasi-Poisson segmented regression of DDD with the clinic's patient-days as offset and one
  seasonal harmonic), the cluster's effect being the mean of its clinics' level changes, a log
  rate ratio: -0.10 is about 10% less prescribing from the month after the meeting. The interval
  comes from the spread between the cluster's clinics (as :meth:`ITSResult.average`); a cluster of
  one fitted clinic uses that clinic's own standard error. It needs no comparison clinics, and
  being relative it compares clusters with different prescribing levels.
- ``"did"``: Callaway & Sant'Anna's staggered DiD with the cluster's clinics as the only treated
  cohort against clinics not yet (or never) treated; the effect is that cohort's ATT in DDD per
  1,000 patients per day, averaged over its months after the meeting. Clusters of other cohorts
  that met on the same month are left out of the comparison, not pooled with the cluster.

Clusters that never met on the topic within the study window, or whose clinics could not be
fitted, are returned in ``skipped`` with the reason, never dropped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns
from evaluation.palette import OKABE_ITO

__all__ = ["cluster_effects", "cluster_attendance", "ClusterEffectsResult", "EffectsError"]

METHODS = ("its", "did")
SCALES = {
    "its": "log rate ratio at the meeting",
    "did": "change in DDD per 1,000 patients per day",
}
#: the panel columns the effects are estimated from
PANEL_COLUMNS = [
    "clinic_id",
    "cluster_id",
    "month",
    "cohort",
    "first_treated_month",
    "ddd",
    "listed_patients",
    "ddd_per_1000_per_day",
]
INTERVIEWED, NOT_INTERVIEWED = "interviewed", "not interviewed"


class EffectsError(InputError):
    """No cluster effect can be estimated as asked (the message says why)."""


@dataclass
class ClusterEffectsResult:
    """Per-cluster effects: ``estimates`` (cluster_id, region, estimate, se, ci_low, ci_high,
    n_clinics, first_treated_month, method) and ``skipped`` (cluster_id, reason).

    Build with :func:`cluster_effects`. ``.to_frame()`` the estimates, ``.summary()`` their
    spread (for the interviewed clusters and the rest, if given), ``.plot()`` one point per
    cluster; ITS effects are shown as percent change (:meth:`percent_change`).
    """

    estimates: pd.DataFrame
    skipped: pd.DataFrame
    method: str
    scale: str
    level: float

    def to_frame(self) -> pd.DataFrame:
        """The estimates, one row per cluster, on the estimate's own scale (see ``scale``)."""
        return self.estimates.copy()

    def percent_change(self) -> pd.DataFrame:
        """For ITS: the estimates as percent change in the prescribing rate (100 (e^b - 1))."""
        if self.method != "its":
            raise EffectsError(
                "percent change applies to the ITS log rate ratios; DiD effects are absolute"
            )
        out = self.estimates.copy()
        for column in ("estimate", "ci_low", "ci_high"):
            out[column] = 100 * np.expm1(out[column])
        return out

    def _shown(self, interviewed: Iterable[str] | None) -> pd.DataFrame:
        """The estimates as reports show them (ITS in percent), with an ``interviewed`` column."""
        shown = self.percent_change() if self.method == "its" else self.to_frame()
        chosen = set(interviewed) if interviewed is not None else set()
        shown["interviewed"] = np.where(
            shown["cluster_id"].isin(chosen), INTERVIEWED, NOT_INTERVIEWED
        )
        return shown

    def summary(self, interviewed: Iterable[str] | None = None) -> pd.DataFrame:
        """The clusters' effects described (ITS in percent change): clusters with an estimate,
        mean, median, min and max - one row, or one per group when ``interviewed`` names the
        interviewed clusters ("are they typical?")."""
        shown = self._shown(interviewed)
        by = shown.groupby("interviewed") if interviewed is not None else [("all", shown)]
        rows = []
        for group, part in by:
            values = part["estimate"].dropna()
            rows.append(
                {
                    "clusters": group,
                    "clusters with an estimate": int(values.size),
                    "mean": values.mean(),
                    "median": values.median(),
                    "min": values.min(),
                    "max": values.max(),
                }
            )
        return pd.DataFrame(rows).set_index("clusters")

    def plot(
        self,
        interviewed: Iterable[str] | None = None,
        x_label: str | None = None,
        ax=None,
        title: str | None = None,
    ):
        """One point per cluster's effect (ITS in percent change), the interviewed clusters
        apart from the rest when ``interviewed`` is given."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 2.8))
        shown = self._shown(interviewed)
        y = "interviewed" if interviewed is not None else None
        sns.stripplot(
            data=shown,
            x="estimate",
            y=y,
            hue=y,
            jitter=0.2,
            alpha=0.7,
            ax=ax,
            legend=False,
            palette={INTERVIEWED: OKABE_ITO["blue"], NOT_INTERVIEWED: OKABE_ITO["grey"]}
            if y
            else None,
            color=None if y else OKABE_ITO["grey"],
        )
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_xlabel(
            x_label or ("% change at the meeting" if self.method == "its" else self.scale)
        )
        ax.set_ylabel("")
        if title:
            ax.set_title(title)
        return ax


def _never_met(panel: pd.DataFrame) -> pd.DataFrame:
    untreated = panel.groupby("cluster_id")["cohort"].max()
    ids = untreated.index[untreated == 0]
    return pd.DataFrame(
        {"cluster_id": ids, "reason": "did not meet on the topic within the study window"}
    )


def _its_effects(
    panel: pd.DataFrame, level: float, harmonics: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from evaluation.methods import its

    treated = panel[panel["cohort"] != 0].copy()
    treated["patient_days_thousands"] = (
        treated["listed_patients"] * treated["month"].dt.days_in_month / 1000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unfitted clinics are reported per cluster below
        fit = its(
            treated,
            outcome="ddd",
            time="month",
            intervention="first_treated_month",
            population="patient_days_thousands",
            unit="clinic_id",
            harmonics=harmonics,
            level=level,
        )
    clinic_cluster = treated.drop_duplicates("clinic_id").set_index("clinic_id")["cluster_id"]
    rows = fit.to_frame()
    rows = rows[rows["term"] == "level_change"].copy()
    rows["cluster_id"] = rows["clinic_id"].map(clinic_cluster)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    grouped = rows.groupby("cluster_id")
    summary = pd.DataFrame(
        {
            "estimate": grouped["estimate"].mean(),
            "spread_se": grouped["estimate"].std(ddof=1) / np.sqrt(grouped.size()),
            "own_se": grouped["se"].first(),
            "n_clinics": grouped.size(),
        }
    )
    summary["se"] = np.where(summary["n_clinics"] >= 2, summary["spread_se"], summary["own_se"])
    summary["ci_low"] = summary["estimate"] - z * summary["se"]
    summary["ci_high"] = summary["estimate"] + z * summary["se"]
    fitted = set(summary.index)
    skipped = []
    if len(fit.skipped):
        unfit = fit.skipped.assign(cluster_id=fit.skipped["unit"].map(clinic_cluster))
        for cluster_id, group in unfit.groupby("cluster_id"):
            if cluster_id not in fitted:
                skipped.append(
                    {
                        "cluster_id": cluster_id,
                        "reason": f"none of its clinics could be fitted: {group['reason'].iloc[0]}",
                    }
                )
    return summary.drop(columns=["spread_se", "own_se"]).reset_index(), pd.DataFrame(
        skipped, columns=["cluster_id", "reason"]
    )


def _did_effects(
    panel: pd.DataFrame, level: float, wanted: set
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from evaluation.methods import staggered_did
    from evaluation.methods.did import DiDInputError

    cohort_of = panel.drop_duplicates("clinic_id").groupby("cluster_id")["cohort"].first()
    clinics_of = panel.drop_duplicates("clinic_id").groupby("cluster_id").size()
    rows, skipped = [], []
    for cluster_id, cohort in cohort_of[(cohort_of != 0) & cohort_of.index.isin(wanted)].items():
        # the cluster as the only treated cohort g: comparison clinics are the never treated and
        # those first treated after g (not yet treated while g is compared)
        mine = panel["cluster_id"] == cluster_id
        sub = panel[mine | (panel["cohort"] == 0) | (panel["cohort"] > cohort)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = staggered_did(
                    sub,
                    outcome="ddd_per_1000_per_day",
                    unit="clinic_id",
                    time="month",
                    cohort="cohort",
                    control_group="notyet",
                    level=level,
                )
            by_cohort = result.aggregate("group").set_index("cohort")
        except (DiDInputError, ValueError) as exc:
            skipped.append({"cluster_id": cluster_id, "reason": f"DiD not estimable: {exc}"})
            continue
        if cohort not in by_cohort.index:
            skipped.append(
                {
                    "cluster_id": cluster_id,
                    "reason": "no comparison clinics for its months after the meeting",
                }
            )
            continue
        row = by_cohort.loc[cohort]
        rows.append(
            {
                "cluster_id": cluster_id,
                "estimate": row["att"],
                **{column: row[column] for column in ("se", "ci_low", "ci_high")},
                "n_clinics": int(clinics_of[cluster_id]),
            }
        )
    return (
        pd.DataFrame(
            rows, columns=["cluster_id", "estimate", "se", "ci_low", "ci_high", "n_clinics"]
        ),
        pd.DataFrame(skipped, columns=["cluster_id", "reason"]),
    )


def cluster_effects(
    panel: pd.DataFrame,
    method: str = "its",
    *,
    clusters: list[str] | None = None,
    level: float = 0.95,
    harmonics: int = 1,
) -> ClusterEffectsResult:
    """Each cluster's prescribing effect (see the module docstring for the two methods).

    Parameters
    ----------
    panel : clinic-month panel of one indicator with exposure
        (:func:`evaluation.data.panel.prescribing_panel`).
    method : "its" (log rate ratio, default) or "did" (ATT in DDD per 1,000 per day).
    clusters : estimate only these clusters (e.g. the interviewed ones; with DiD every cluster
        is a separate estimation, so asking for fewer is faster); comparison clinics still come
        from the whole panel.
    level : confidence level of the intervals (0.95).
    harmonics : seasonal Fourier pairs of the ITS model.

    Returns
    -------
    :class:`ClusterEffectsResult`.

    Examples
    --------
    >>> from evaluation.data.synth import generate_tables
    >>> from evaluation.data.panel import prescribing_panel
    >>> tables, truth, _ = generate_tables(seed=7, scale="small")
    >>> panel = prescribing_panel(tables["prescribing"], tables["clinics"], tables["meetings"],
    ...                           "nsaid")
    >>> effects = cluster_effects(panel, "its", clusters=["C001", "C002"])
    >>> effects.percent_change()[["cluster_id", "n_clinics", "estimate"]].round(1)
      cluster_id  n_clinics  estimate
    0       C002         15     -13.7
    >>> effects.skipped
      cluster_id                                             reason
    0       C001  did not meet on the topic within the study window
    """
    if method not in METHODS:
        raise EffectsError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    require_columns(
        panel,
        PANEL_COLUMNS,
        "cluster_effects: the panel (build it with evaluation.data.panel.prescribing_panel)",
    )
    wanted = panel if clusters is None else panel[panel["cluster_id"].isin(clusters)]
    never = _never_met(wanted)
    if method == "its":
        estimates, unfit = (
            _its_effects(wanted, level, harmonics)
            if (wanted["cohort"] != 0).any()
            else (
                pd.DataFrame(
                    columns=["cluster_id", "estimate", "se", "ci_low", "ci_high", "n_clinics"]
                ),
                pd.DataFrame(),
            )
        )
    else:
        estimates, unfit = _did_effects(panel, level, set(wanted["cluster_id"]))
    info = wanted.drop_duplicates("cluster_id").set_index("cluster_id")
    estimates = estimates.assign(
        region=estimates["cluster_id"].map(info["region"]) if "region" in info else None,
        first_treated_month=estimates["cluster_id"].map(info["first_treated_month"]),
        method=method,
    )
    estimates = (
        estimates[
            [
                "cluster_id",
                "region",
                "estimate",
                "se",
                "ci_low",
                "ci_high",
                "n_clinics",
                "first_treated_month",
                "method",
            ]
        ]
        .sort_values("cluster_id")
        .reset_index(drop=True)
    )
    skipped = pd.concat([never, unfit], ignore_index=True) if len(unfit) else never
    return ClusterEffectsResult(
        estimates,
        skipped.sort_values("cluster_id").reset_index(drop=True),
        method,
        SCALES[method],
        level,
    )


def cluster_attendance(
    attendance: pd.DataFrame, meetings: pd.DataFrame, gps: pd.DataFrame, level: float = 0.95
) -> pd.DataFrame:
    """Each cluster's attendance rate over all its meetings: cluster_id, invited, attended,
    attendance_rate and its Wilson interval (attendance_ci_low, attendance_ci_high) at
    ``level``.

    Examples
    --------
    >>> import pandas as pd
    >>> meetings = pd.DataFrame({"meeting_id": ["M1", "M2"], "cluster_id": ["C1", "C2"],
    ...                          "date": ["2021-03-01", "2021-03-02"]})
    >>> gps = pd.DataFrame({"gp_id": ["G1", "G2"], "clinic_id": ["K1", "K2"]})
    >>> present = pd.DataFrame({"meeting_id": ["M1", "M2"], "gp_id": ["G1", "G2"],
    ...                         "attended": [True, False]})
    >>> cluster_attendance(present, meetings, gps)[["cluster_id", "attendance_rate"]]
      cluster_id  attendance_rate
    0         C1              1.0
    1         C2              0.0
    """
    from evaluation.methods.meeting_attendance import attendance_rates

    rates = attendance_rates(attendance, meetings, gps, by="cluster", level=level)
    return rates.rename(
        columns={
            "rate": "attendance_rate",
            "ci_low": "attendance_ci_low",
            "ci_high": "attendance_ci_high",
        }
    )
