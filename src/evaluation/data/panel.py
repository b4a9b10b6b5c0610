"""From canonical tables to the analysis panel the methods take.

A panel is one row per clinic and month for one indicator, with the outcome rates and the
clinic's exposure: the month its cluster first met on the indicator's topic ("cohort" in
difference-in-differences terms; 0 = never).
"""

from __future__ import annotations

import pandas as pd

from evaluation.data.catalogue import INDICATOR_BY_KEY, TOPIC_INDICATOR, TOPICS
from evaluation.errors import InputError


def topic_uptake(meetings: pd.DataFrame, topic: str) -> pd.DataFrame:
    """Each cluster's first meeting on ``topic`` and the first month it can have changed
    prescribing (the month after the meeting).

    Returns one row per cluster that took the topic up: cluster_id, meeting_id, meeting_date,
    first_treated_month (Timestamp, first of month).
    """
    if topic not in TOPICS:
        raise InputError(f"unknown topic {topic!r}; expected one of {', '.join(TOPICS)}")
    on_topic = meetings.loc[meetings["topic"] == topic, ["cluster_id", "meeting_id", "date"]]
    first = on_topic.sort_values(["cluster_id", "date"], kind="stable").drop_duplicates(
        "cluster_id"
    )
    meeting_month = pd.to_datetime(first["date"]).dt.to_period("M")
    return pd.DataFrame(
        {
            "cluster_id": first["cluster_id"].to_numpy(),
            "meeting_id": first["meeting_id"].to_numpy(),
            "meeting_date": pd.to_datetime(first["date"]).to_numpy(),
            "first_treated_month": (meeting_month + 1).dt.to_timestamp().to_numpy(),
        }
    )


def prescribing_panel(
    prescribing: pd.DataFrame,
    clinics: pd.DataFrame,
    meetings: pd.DataFrame,
    indicator: str,
    topic: str | None = None,
    region: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Clinic-month panel of one indicator with outcome rates and topic exposure.

    Parameters
    ----------
    indicator : key of evaluation.data.catalogue.INDICATORS, e.g. "nsaid".
    topic : the meeting topic that defines exposure; defaults to the indicator's own topic.
    region : region name ("Sjælland") or slug ("sjaelland"); None keeps every region.
    start, end : study window as "YYYY-MM" (inclusive).

    Returns
    -------
    DataFrame with clinic_id, cluster_id, region, urbanicity, month, ddd, prescriptions, users,
    listed_patients, ddd_per_1000_per_day, prescriptions_per_1000, users_per_1000,
    first_treated_month (NaT if never, or later than the window), cohort (YYYYMM int of
    first_treated_month, 0 = not treated within the window),
    event_time (months since first_treated_month; NaN if never).
    """
    from evaluation.data import clinic_month_outcomes
    from evaluation.data.catalogue import REGION_NAMES

    if indicator not in INDICATOR_BY_KEY:
        raise InputError(
            f"unknown indicator {indicator!r}; expected one of {', '.join(INDICATOR_BY_KEY)}"
        )
    if topic is None:
        topic = INDICATOR_BY_KEY[indicator].topic
    clinic_cols = clinics[["clinic_id", "cluster_id", "region", "urbanicity"]]
    if region is not None:
        name = REGION_NAMES.get(region, region)
        if name not in set(REGION_NAMES.values()):
            raise InputError(
                f"unknown region {region!r}; "
                f"expected a name or slug of {', '.join(REGION_NAMES.values())}"
            )
        clinic_cols = clinic_cols[clinic_cols["region"] == name]
    rows = prescribing[prescribing["indicator"] == indicator]
    month = pd.to_datetime(rows["month"])
    window = pd.Series(True, index=rows.index)
    if start is not None:
        window &= month >= pd.Timestamp(start)
    if end is not None:
        window &= month <= pd.Timestamp(end)
    rows = rows[window]
    if rows.empty:
        raise InputError(
            f"no prescribing rows for indicator {indicator!r} "
            f"between {start or 'the start'} and {end or 'the end'}"
        )
    panel = rows.merge(clinic_cols, on="clinic_id", how="inner")
    if panel.empty:
        raise InputError(f"no clinics with {indicator!r} prescribing in region {region!r}")
    panel["month"] = pd.to_datetime(panel["month"])
    panel = clinic_month_outcomes(panel)
    uptake = topic_uptake(meetings, topic)[["cluster_id", "first_treated_month"]]
    # A cluster whose first treated month lies after the window is untreated within it: the
    # estimators must see it as a comparison, not as a cohort they have no data for.
    uptake = uptake[uptake["first_treated_month"] <= panel["month"].max()]
    panel = panel.merge(uptake, on="cluster_id", how="left")
    treated = panel["first_treated_month"].notna()
    ftm = panel["first_treated_month"]
    panel["cohort"] = 0
    panel.loc[treated, "cohort"] = (ftm[treated].dt.year * 100 + ftm[treated].dt.month).astype(int)
    panel["event_time"] = pd.NA
    panel.loc[treated, "event_time"] = (
        (panel.loc[treated, "month"].dt.year - ftm[treated].dt.year) * 12
        + panel.loc[treated, "month"].dt.month
        - ftm[treated].dt.month
    )
    panel["event_time"] = panel["event_time"].astype("Float64")
    return panel.sort_values(["clinic_id", "month"], kind="stable").reset_index(drop=True)


def indicator_for_topic(topic: str) -> str:
    """The prescribing indicator a topic is meant to move
    ("conjunctivitis" -> "eye_antibiotics")."""
    try:
        return TOPIC_INDICATOR[topic]
    except KeyError:
        raise InputError(
            f"topic {topic!r} has no prescribing indicator; "
            f"topics with one: {', '.join(TOPIC_INDICATOR)}"
        ) from None
