"""load(): the canonical tables of a folder, validated, optionally one region's;
clinic_month_outcomes(): the three rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.data import DataValidationError, clinic_month_outcomes, load
from evaluation.data.catalogue import REGIONS


def test_load_returns_every_table_in_canonical_dtypes(synthetic_small, small_tables):
    tables = load(synthetic_small)
    assert list(tables) == ["clusters", "clinics", "gps", "meetings", "attendance", "prescribing"]
    p = tables["prescribing"]
    assert p["month"].dtype == "datetime64[ns]"
    assert p["month"].dt.is_month_start.all()
    assert {c: str(p[c].dtype) for c in ("ddd", "prescriptions", "users", "listed_patients")} == {
        "ddd": "float64",
        "prescriptions": "int64",
        "users": "int64",
        "listed_patients": "int64",
    }
    assert tables["meetings"]["date"].dtype == "datetime64[ns]"
    assert tables["attendance"]["attended"].dtype == bool
    for name, frame in tables.items():
        assert len(frame) == len(small_tables[name])


def test_load_some_tables_still_checks_their_references(data_folder, small_tables):
    prescribing = small_tables["prescribing"].copy()
    prescribing.loc[0, "clinic_id"] = "K9999"
    prescribing.to_parquet(data_folder / "prescribing.parquet", index=False)
    assert list(load(data_folder, tables="clusters")) == ["clusters"]
    with pytest.raises(DataValidationError, match="unknown clinic K9999"):
        load(data_folder, tables=["prescribing"])


@pytest.mark.parametrize("region", ["sjaelland", "Sjælland"])
def test_region_filter(synthetic_small, region):
    whole = load(synthetic_small)
    tables = load(synthetic_small, region=region)
    clusters = tables["clusters"]
    assert set(clusters["region"]) == {"Sjælland"}
    cluster_ids = set(clusters["cluster_id"])
    assert set(tables["clinics"]["cluster_id"]) <= cluster_ids
    assert set(tables["clinics"]["region"]) == {"Sjælland"}
    assert set(tables["gps"]["cluster_id"]) <= cluster_ids
    assert set(tables["meetings"]["cluster_id"]) <= cluster_ids
    assert set(tables["attendance"]["meeting_id"]) == set(tables["meetings"]["meeting_id"])
    assert set(tables["prescribing"]["clinic_id"]) == set(tables["clinics"]["clinic_id"])
    whole_clinics = whole["clinics"]
    assert len(tables["clinics"]) == (whole_clinics["region"] == "Sjælland").sum()


def test_every_region_partitions_the_prescribing_table(synthetic_small):
    total = sum(
        len(load(synthetic_small, "prescribing", region=r.slug)["prescribing"]) for r in REGIONS
    )
    assert total == len(load(synthetic_small, "prescribing")["prescribing"])


def test_unknown_region_and_missing_folder(tmp_path, synthetic_small):
    with pytest.raises(ValueError, match="unknown region 'bornholm'; expected one of hovedstaden"):
        load(synthetic_small, region="bornholm")
    with pytest.raises(DataValidationError, match="no such data folder"):
        load(tmp_path / "absent")


def test_missing_table_file(data_folder):
    (data_folder / "gps.parquet").unlink()
    with pytest.raises(
        DataValidationError, match=r"missing table gps: expected a file gps\.parquet"
    ):
        load(data_folder)


def test_two_files_for_one_table(data_folder, small_tables):
    small_tables["clusters"].to_csv(data_folder / "clusters.csv", index=False)
    with pytest.raises(
        DataValidationError,
        match="more than one file for table clusters: clusters.csv, clusters.parquet",
    ):
        load(data_folder, "clusters")


def test_outcomes_formula(small_tables):
    p = small_tables["prescribing"].head(40)
    out = clinic_month_outcomes(p)
    days = pd.to_datetime(p["month"]).dt.days_in_month.to_numpy()
    np.testing.assert_allclose(
        out["ddd_per_1000_per_day"], p["ddd"] / p["listed_patients"] * 1000 / days
    )
    np.testing.assert_allclose(
        out["prescriptions_per_1000"], p["prescriptions"] / p["listed_patients"] * 1000
    )
    np.testing.assert_allclose(out["users_per_1000"], p["users"] / p["listed_patients"] * 1000)
    assert "ddd_per_1000_per_day" not in p.columns  # input untouched


def test_outcomes_hand_computed():
    cell = pd.DataFrame(
        {
            "clinic_id": ["K0001", "K0002"],
            "month": [pd.Timestamp("2020-02-01"), pd.Timestamp("2021-02-01")],
            "ddd": [580.0, 560.0],
            "prescriptions": [20, 3],
            "users": [16, 2],
            "listed_patients": [2000, 1000],
        }
    )
    out = clinic_month_outcomes(cell)
    # 2020 is a leap year: 580 / 2000 * 1000 / 29 = 10; 560 / 1000 * 1000 / 28 = 20
    assert list(out["ddd_per_1000_per_day"].round(10)) == [10.0, 20.0]
    assert list(out["prescriptions_per_1000"]) == [10.0, 3.0]
    assert list(out["users_per_1000"]) == [8.0, 2.0]


@pytest.mark.parametrize("bad", [0, np.nan, -5])
def test_outcomes_zero_or_missing_list_size_is_an_error(small_tables, bad):
    p = small_tables["prescribing"].head(10).copy()
    p["listed_patients"] = p["listed_patients"].astype(float)
    p.loc[3, "listed_patients"] = bad
    with pytest.raises(
        DataValidationError, match=r"listed_patients must be a positive number.*K0001 2016-04"
    ):
        clinic_month_outcomes(p)


def test_outcomes_missing_column(small_tables):
    with pytest.raises(DataValidationError, match="missing column: clinic_month_outcomes needs"):
        clinic_month_outcomes(small_tables["prescribing"].drop(columns="users"))


def test_narrower_window_is_an_error_unless_dropping(synthetic_small):
    with pytest.raises(DataValidationError, match="outside_window='drop'") as caught:
        load(synthetic_small, tables=["meetings", "prescribing"], window=("2019-01", "2022-12"))
    assert any(
        p.column == "month" and "inside the study window 2019-01..2022-12" in p.message
        for p in caught.value.problems
    )
    whole = load(synthetic_small)
    tables = load(synthetic_small, window=("2019-01", "2022-12"), outside_window="drop")
    p = tables["prescribing"]
    assert p["month"].min() == pd.Timestamp("2019-01-01") and p["month"].max() == pd.Timestamp(
        "2022-12-01"
    )
    assert len(p) == len(whole["prescribing"]) // 96 * 48
    meetings = tables["meetings"]
    assert meetings["date"].between("2019-01-01", "2022-12-31").all()
    assert set(tables["attendance"]["meeting_id"]) == set(meetings["meeting_id"])
    assert len(meetings) < len(whole["meetings"])
