"""Descriptive views of the panel (who took the topic up, months around the meeting) and the
controlled before-after's summary, on hand-made panels where every number is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.methods import (
    before_after,
    event_time_series,
    monthly_by_uptake,
    topic_cluster_months,
    uptake_by_cluster,
)

MONTHS = pd.date_range("2021-01-01", periods=6, freq="MS")


def _panel() -> pd.DataFrame:
    """Three clinics: K1 and K2 (cluster C1) treated from 2021-04, K3 (C2) never; K2 has no
    2021-01 row, so it lacks a full three-month window before its meeting."""
    rows = []
    for clinic, cluster, treated in (("K1", "C1", True), ("K2", "C1", True), ("K3", "C2", False)):
        for i, month in enumerate(MONTHS):
            if clinic == "K2" and i == 0:
                continue
            rows.append(
                {
                    "clinic_id": clinic,
                    "cluster_id": cluster,
                    "month": month,
                    "cohort": 202104 if treated else 0,
                    "first_treated_month": MONTHS[3] if treated else pd.NaT,
                    "event_time": i - 3 if treated else np.nan,
                    "ddd": 30.0 - (5.0 if treated and i >= 3 else 0.0) + i,
                    "listed_patients": 1000,
                    "ddd_per_1000_per_day": 1.0 - (0.2 if treated and i >= 3 else 0.0),
                }
            )
    return pd.DataFrame(rows)


def test_uptake_by_cluster_counts_clinics_and_the_first_treated_month():
    uptake = uptake_by_cluster(_panel()).set_index("cluster_id")
    assert uptake.loc["C1", "clinics"] == 2 and uptake.loc["C1", "took_up"]
    assert uptake.loc["C1", "first_month"] == MONTHS[3]
    assert not uptake.loc["C2", "took_up"] and pd.isna(uptake.loc["C2", "first_month"])


def test_monthly_by_uptake_is_the_mean_per_clinic_in_each_group():
    monthly = monthly_by_uptake(_panel()).set_index(["month", "group"])["ddd_per_1000_per_day"]
    assert monthly.loc[(MONTHS[4], "took up the topic")] == pytest.approx(0.8)
    assert monthly.loc[(MONTHS[4], "never took it up")] == pytest.approx(1.0)


def test_event_time_series_keeps_only_clinics_with_the_full_window():
    series = event_time_series(_panel(), months_before=3, months_after=3)
    assert series["event_time"].tolist() == [-3, -2, -1, 0, 1, 2]
    assert (series["n_clinics"] == 1).all()  # K2 lacks month -3
    assert series["ddd"].tolist() == [30.0, 31.0, 32.0, 28.0, 29.0, 30.0]
    days = np.array([31, 28, 31, 30, 31, 30])
    np.testing.assert_allclose(series["patient_days_thousands"], days)
    assert event_time_series(_panel(), months_before=6, months_after=3).empty


def test_topic_cluster_months_adds_up_the_largest_treated_cluster():
    panel = _panel()
    prescribing = panel.assign(prescriptions=10)[
        ["clinic_id", "month", "prescriptions", "listed_patients"]
    ]
    clinics = panel.drop_duplicates("clinic_id")[["clinic_id", "cluster_id"]]
    shares = pd.DataFrame({"cluster_id": ["C1"], "first_treated_month": [MONTHS[3]]})
    months = topic_cluster_months(prescribing, clinics, shares)
    assert (months["cluster_id"] == "C1").all()
    assert months["prescriptions"].tolist() == [10, 20, 20, 20, 20, 20]
    assert months["before_meeting"].sum() == 3
    with pytest.raises(ValueError, match="did not take the topic up"):
        topic_cluster_months(prescribing, clinics, shares, cluster_id="C2")


def test_controlled_before_after_summary_is_the_difference_of_mean_changes():
    rng = np.random.default_rng(4)
    months = pd.date_range("2020-01-01", periods=24, freq="MS")
    rows = []
    for k in range(40):
        treated = k < 20
        for i, month in enumerate(months):
            drop = -1.0 if treated and i >= 12 else 0.0
            rows.append(
                {
                    "clinic_id": f"K{k:02d}",
                    "cluster_id": f"C{k // 4}",
                    "month": month,
                    "first_treated_month": months[12] if treated else pd.NaT,
                    "ddd_per_1000_per_day": 5.0 - 0.01 * i + drop + rng.normal(0, 0.2),
                }
            )
    result = before_after(pd.DataFrame(rows), window=12)
    groups = result.to_frame().set_index("group")
    summary = result.summary().iloc[0]
    assert summary["estimate"] == pytest.approx(
        groups.loc["took up the topic", "mean_change"]
        - groups.loc["never took it up", "mean_change"]
    )
    assert summary["ci_low"] < -1.0 < summary["ci_high"] and summary["p_value"] < 0.001
    assert summary["n_took_up"] == 20 and summary["n_never"] == 20
    assert groups.loc["took up the topic", "se"] > 0
