"""Descriptive views of a prescribing panel: who took the topic up, the months around it.

Before any estimate, a reader wants to see the data: which clusters met on the topic and when,
how the clinics that did and did not take it up prescribed month by month, and one series
pooled around the meeting. Each view is a function of the clinic-month panel of
:func:`evaluation.data.panel.prescribing_panel` (or the prescribing table), so that notebooks
only call and show them.
"""

from __future__ import annotations

__all__ = ["uptake_by_cluster", "monthly_by_uptake", "event_time_series", "topic_cluster_months"]

import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns

#: the two groups of clinics, in the words the figures use
TOOK_UP, NEVER = "took up the topic", "never took it up"


def uptake_by_cluster(panel: pd.DataFrame) -> pd.DataFrame:
    """Per cluster: its clinics, whether it took the topic up within the study window, and the
    first month its clinics count as treated.

    Parameters
    ----------
    panel : clinic-month panel with clinic_id, cluster_id, cohort (0 = never treated) and
        first_treated_month.

    Returns
    -------
    DataFrame, one row per cluster: cluster_id, clinics, took_up, first_month.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({"clinic_id": ["K1", "K1", "K2", "K3"],
    ...                       "cluster_id": ["C1", "C1", "C1", "C2"],
    ...                       "cohort": [202104, 202104, 202104, 0],
    ...                       "first_treated_month": pd.to_datetime(["2021-04-01"] * 3 + [None])})
    >>> uptake_by_cluster(panel)
      cluster_id  clinics  took_up first_month
    0         C1        2     True  2021-04-01
    1         C2        1    False         NaT
    """
    require_columns(
        panel,
        ["clinic_id", "cluster_id", "cohort", "first_treated_month"],
        "uptake_by_cluster: panel",
    )
    clinics = panel.drop_duplicates("clinic_id")
    return (
        clinics.assign(took_up=clinics["cohort"] != 0)
        .groupby("cluster_id")
        .agg(
            clinics=("clinic_id", "size"),
            took_up=("took_up", "first"),
            first_month=("first_treated_month", "first"),
        )
        .reset_index()
    )


def monthly_by_uptake(panel: pd.DataFrame, outcome: str = "ddd_per_1000_per_day") -> pd.DataFrame:
    """The mean ``outcome`` per clinic in each month, for the clinics whose cluster took the
    topic up and for the rest.

    Returns
    -------
    DataFrame: month, group ("took up the topic" / "never took it up"), ``outcome``.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({"month": pd.to_datetime(["2021-01-01"] * 3),
    ...                       "cohort": [202104, 202104, 0], "rate": [4.0, 6.0, 3.0]})
    >>> monthly_by_uptake(panel, "rate")
           month              group  rate
    0 2021-01-01   never took it up   3.0
    1 2021-01-01  took up the topic   5.0
    """
    require_columns(panel, ["month", "cohort", outcome], "monthly_by_uptake: panel")
    group = panel["cohort"].ne(0).map({True: TOOK_UP, False: NEVER})
    return panel.assign(group=group).groupby(["month", "group"], as_index=False)[outcome].mean()


def event_time_series(
    panel: pd.DataFrame,
    months_before: int = 24,
    months_after: int = 24,
    count: str = "ddd",
    population: str = "listed_patients",
) -> pd.DataFrame:
    """One series around the topic meeting: the counts and patient-days of every treated clinic
    with ``months_before`` months before and ``months_after`` months from its first treated
    month (event time 0), added up per event time.

    Clinics without the full window on both sides are left out, so the series does not change
    its mix of clinics along the way. Patient-days are ``population`` times the days of the
    month, in thousands: a Poisson offset that makes the fitted rate "per 1,000 patients per
    day".

    Returns
    -------
    DataFrame, one row per event time: event_time, ``count``, patient_days_thousands,
    n_clinics (the same on every row); empty if no clinic has the full window.

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.date_range("2021-01-01", periods=4, freq="MS")
    >>> panel = pd.DataFrame({"clinic_id": ["K1"] * 4, "month": months,
    ...                       "event_time": [-2, -1, 0, 1], "ddd": [30.0, 31.0, 25.0, 24.0],
    ...                       "listed_patients": [1000] * 4})
    >>> event_time_series(panel, months_before=2, months_after=2)
       event_time   ddd  patient_days_thousands  n_clinics
    0          -2  30.0                    31.0          1
    1          -1  31.0                    28.0          1
    2           0  25.0                    31.0          1
    3           1  24.0                    30.0          1
    """
    require_columns(
        panel,
        ["clinic_id", "month", "event_time", count, population],
        "event_time_series: panel",
    )
    if months_before < 1 or months_after < 1:
        raise InputError(
            f"event_time_series: months_before and months_after must be at least 1; got "
            f"{months_before} and {months_after}"
        )
    around = panel[
        panel["event_time"].notna() & panel["event_time"].between(-months_before, months_after - 1)
    ]
    complete = around.groupby("clinic_id")["event_time"].transform("size") == (
        months_before + months_after
    )
    kept = around[complete]
    series = (
        kept.assign(
            patient_days_thousands=lambda d: d[population] * d["month"].dt.days_in_month / 1000
        )
        .groupby("event_time", as_index=False)[[count, "patient_days_thousands"]]
        .sum()
    )
    series["n_clinics"] = int(kept["clinic_id"].nunique())
    return series


def topic_cluster_months(
    prescribing: pd.DataFrame,
    clinics: pd.DataFrame,
    shares: pd.DataFrame,
    cluster_id: str | None = None,
) -> pd.DataFrame:
    """One cluster's monthly prescribing around its first meeting on the topic: by default the
    cluster with the most clinics among those that took the topic up.

    Parameters
    ----------
    prescribing : clinic-month rows of one indicator: clinic_id, month, prescriptions,
        listed_patients.
    clinics : clinic_id, cluster_id.
    shares : :func:`evaluation.methods.meeting_attendance.topic_meeting_share` (cluster_id,
        first_treated_month).
    cluster_id : the cluster to show (one that took the topic up).

    Returns
    -------
    DataFrame, one row per month: cluster_id, month, prescriptions, listed_patients,
    first_treated_month, before_meeting (the month precedes the first treated month).

    Examples
    --------
    >>> import pandas as pd
    >>> months = pd.to_datetime(["2021-03-01"] * 2 + ["2021-04-01"] * 2)
    >>> prescribing = pd.DataFrame({"clinic_id": ["K1", "K2", "K1", "K2"], "month": months,
    ...                             "prescriptions": [10, 5, 8, 4],
    ...                             "listed_patients": [1000, 500, 1000, 500]})
    >>> clinics = pd.DataFrame({"clinic_id": ["K1", "K2"], "cluster_id": ["C1", "C1"]})
    >>> shares = pd.DataFrame({"cluster_id": ["C1"],
    ...                        "first_treated_month": pd.to_datetime(["2021-04-01"])})
    >>> topic_cluster_months(prescribing, clinics, shares)[["month", "prescriptions",
    ...                                                     "before_meeting"]]
           month  prescriptions  before_meeting
    0 2021-03-01             15            True
    1 2021-04-01             12           False
    """
    where = "topic_cluster_months"
    require_columns(
        prescribing,
        ["clinic_id", "month", "prescriptions", "listed_patients"],
        f"{where}: prescribing",
    )
    require_columns(clinics, ["clinic_id", "cluster_id"], f"{where}: clinics")
    require_columns(shares, ["cluster_id", "first_treated_month"], f"{where}: shares")
    treated = clinics.merge(
        shares.drop_duplicates("cluster_id")[["cluster_id", "first_treated_month"]],
        on="cluster_id",
    )
    if treated.empty:
        raise InputError(f"{where}: no cluster of these clinics took the topic up")
    if cluster_id is None:
        cluster_id = treated["cluster_id"].value_counts().index[0]
    elif cluster_id not in set(treated["cluster_id"]):
        raise InputError(
            f"{where}: cluster {cluster_id!r} did not take the topic up (or has no clinics); "
            f"choose one of {', '.join(sorted(map(str, set(treated['cluster_id']))))}"
        )
    first_treated = pd.Timestamp(
        treated.loc[treated["cluster_id"] == cluster_id, "first_treated_month"].iloc[0]
    )
    members = clinics.loc[clinics["cluster_id"] == cluster_id, "clinic_id"]
    monthly = (
        prescribing[prescribing["clinic_id"].isin(members)]
        .groupby("month", as_index=False)[["prescriptions", "listed_patients"]]
        .sum()
    )
    monthly.insert(0, "cluster_id", cluster_id)
    monthly["first_treated_month"] = first_treated
    monthly["before_meeting"] = pd.to_datetime(monthly["month"]) < first_treated
    return monthly
