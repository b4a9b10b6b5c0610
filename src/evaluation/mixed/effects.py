"""The quantitative side of the join: each cluster's prescribing effect and attendance rate.

Effects per cluster, by one of two methods (the panel is :func:`evaluation.data.panel.prescribing_panel`):

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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("its", "did")
SCALES = {
    "its": "log rate ratio at the meeting",
    "did": "change in DDD per 1,000 patients per day",
}


class EffectsError(ValueError):
    """No cluster effect can be estimated from this panel (the message says why)."""


@dataclass
class ClusterEffects:
    """Per-cluster effects: ``estimates`` (cluster_id, region, estimate, se, ci_low, ci_high,
    n_clinics, first_treated_month) and ``skipped`` (cluster_id, reason)."""

    estimates: pd.DataFrame
    skipped: pd.DataFrame
    method: str
    scale: str
    alpha: float

    def percent_change(self) -> pd.DataFrame:
        """For ITS: the estimates as percent change in the prescribing rate (100 (e^b - 1))."""
        if self.method != "its":
            raise ValueError(
                "percent change applies to the ITS log rate ratios; DiD effects are absolute"
            )
        out = self.estimates.copy()
        for column in ("estimate", "ci_low", "ci_high"):
            out[column] = 100 * np.expm1(out[column])
        return out


def _require(panel: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise EffectsError(
            f"the panel lacks column(s) {missing}; build it with evaluation.data.panel.prescribing_panel"
        )


def _never_met(panel: pd.DataFrame) -> pd.DataFrame:
    untreated = panel.groupby("cluster_id")["cohort"].max()
    ids = untreated.index[untreated == 0]
    return pd.DataFrame(
        {"cluster_id": ids, "reason": "did not meet on the topic within the study window"}
    )


def _its_effects(
    panel: pd.DataFrame, alpha: float, harmonics: int
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
            alpha=alpha,
        )
    clinic_cluster = treated.drop_duplicates("clinic_id").set_index("clinic_id")["cluster_id"]
    rows = fit.to_frame()
    rows = rows[rows["term"] == "level_change"].copy()
    rows["cluster_id"] = rows["clinic_id"].map(clinic_cluster)
    z = stats.norm.ppf(1 - alpha / 2)
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
    panel: pd.DataFrame, alpha: float, wanted: set
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
                    alpha=alpha,
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
                "se": row["se"],
                "ci_low": row["ci_lower"],
                "ci_high": row["ci_upper"],
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
    alpha: float = 0.05,
    harmonics: int = 1,
) -> ClusterEffects:
    """Each cluster's prescribing effect (see the module docstring for the two methods).

    Parameters
    ----------
    panel : clinic-month panel of one indicator with exposure
        (:func:`evaluation.data.panel.prescribing_panel`).
    method : "its" (log rate ratio, default) or "did" (ATT in DDD per 1,000 per day).
    clusters : estimate only these clusters (e.g. the interviewed ones; with DiD every cluster
        is a separate estimation, so asking for fewer is faster); comparison clinics still come
        from the whole panel.
    alpha : 1 - confidence level of the intervals.
    harmonics : seasonal Fourier pairs of the ITS model.
    """
    if method not in METHODS:
        raise EffectsError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    _require(
        panel,
        [
            "clinic_id",
            "cluster_id",
            "month",
            "cohort",
            "first_treated_month",
            "ddd",
            "listed_patients",
            "ddd_per_1000_per_day",
        ],
    )
    wanted = panel if clusters is None else panel[panel["cluster_id"].isin(clusters)]
    never = _never_met(wanted)
    if method == "its":
        estimates, unfit = (
            _its_effects(wanted, alpha, harmonics)
            if (wanted["cohort"] != 0).any()
            else (
                pd.DataFrame(
                    columns=["cluster_id", "estimate", "se", "ci_low", "ci_high", "n_clinics"]
                ),
                pd.DataFrame(),
            )
        )
    else:
        estimates, unfit = _did_effects(panel, alpha, set(wanted["cluster_id"]))
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
    return ClusterEffects(
        estimates,
        skipped.sort_values("cluster_id").reset_index(drop=True),
        method,
        SCALES[method],
        alpha,
    )


def cluster_attendance(
    attendance: pd.DataFrame, meetings: pd.DataFrame, gps: pd.DataFrame, level: float = 0.95
) -> pd.DataFrame:
    """Each cluster's attendance rate over all its meetings: cluster_id, invited, attended,
    attendance_rate and its Wilson interval (attendance_ci_low, attendance_ci_high)."""
    from evaluation.methods.attendance import attendance_rates

    rates = attendance_rates(attendance, meetings, gps, by="cluster", level=level)
    return rates.rename(
        columns={
            "rate": "attendance_rate",
            "ci_low": "attendance_ci_low",
            "ci_high": "attendance_ci_high",
        }
    )
