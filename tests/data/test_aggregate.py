"""DuckDB aggregation of individual records reproduces the monthly prescribing table."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from evaluation.data import DataValidationError, aggregate_register
from evaluation.data.aggregate import _distinct_in_sorted, _indicator_case, connect
from evaluation.data.catalogue import indicator_for_atc


def _list_sizes(part: pd.DataFrame) -> pd.DataFrame:
    return part[["clinic_id", "month", "listed_patients"]].drop_duplicates()


def test_aggregation_reproduces_the_prescribing_table(small_register):
    register, part, records = small_register
    assert records > 50_000  # enough repeat prescriptions for users < prescriptions
    report: list = []
    result = aggregate_register(
        register, _list_sizes(part), report=report, memory_limit="256MB", threads=1
    )
    expected = part.assign(month=pd.to_datetime(part["month"])).sort_values(
        ["clinic_id", "indicator", "month"]
    )
    expected = expected.reset_index(drop=True)
    assert len(result) == len(expected)
    key = ["clinic_id", "month", "indicator"]
    pd.testing.assert_frame_equal(
        result[key + ["prescriptions", "users", "listed_patients"]],
        expected[key + ["prescriptions", "users", "listed_patients"]],
    )
    np.testing.assert_allclose(result["ddd"], expected["ddd"], rtol=0, atol=1e-6)
    assert (expected["users"] < expected["prescriptions"]).any()
    # the rates are there, computed as clinic_month_outcomes does
    days = result["month"].dt.days_in_month
    np.testing.assert_allclose(
        result["ddd_per_1000_per_day"], result["ddd"] / result["listed_patients"] * 1000 / days
    )
    rep = report[0]
    assert rep.records == records == rep.records_counted and rep.records_outside == 0
    assert rep.cells == len(result) and rep.memory_limit == "256MB" and rep.threads == 1


def test_clinic_months_without_records_are_zeros(small_register):
    register, part, _ = small_register
    sizes = pd.concat(
        [
            _list_sizes(part),
            pd.DataFrame(
                {
                    "clinic_id": ["K0001"],
                    "month": [pd.Timestamp("2021-06-01")],
                    "listed_patients": [1500],
                }
            ),
        ]
    )
    result = aggregate_register(register, sizes)
    empty = result[result["month"] == "2021-06-01"]
    assert sorted(empty["indicator"]) == [
        "antibiotics",
        "dependence_producing",
        "eye_antibiotics",
        "nsaid",
    ]
    assert (empty[["prescriptions", "users"]] == 0).all().all() and (empty["ddd"] == 0).all()
    assert (empty["ddd_per_1000_per_day"] == 0).all()


def test_sql_classification_matches_the_catalogue():
    codes = [
        "M01AE01",
        "M01AB05",
        "J01CE02",
        "S01AA01",
        "S01AB04",
        "N05BA04",
        "N05CF01",
        "N05CD02",
        "N02AX02",
        "N02BE01",
        "A10BA02",
        "J01MA02",
    ]
    con = duckdb.connect()
    frame = pd.DataFrame({"atc": codes})  # noqa: F841 - read by DuckDB by name
    got = con.execute(f"SELECT atc, {_indicator_case('atc')} AS indicator FROM frame").df()
    assert dict(zip(got["atc"], got["indicator"].where(got["indicator"].notna(), None))) == {
        c: indicator_for_atc(c) for c in codes
    }


def test_distinct_count_of_a_sorted_list():
    con = duckdb.connect()
    for values, expected in [
        ([], 0),
        ([7], 1),
        ([3, 3, 3], 1),
        ([1, 2, 2, 5, 9, 9], 4),
        ([-4, 0, 0, 2**40], 3),
    ]:
        got = con.execute(
            f"SELECT {_distinct_in_sorted('s')} FROM (SELECT ?::BIGINT[] AS s)", [values]
        ).fetchall()[0][0]
        assert got == expected, values


def _write_records(folder, records: pd.DataFrame) -> None:
    for year, part in records.groupby(pd.to_datetime(records["date"]).dt.year):
        (folder / f"year={year}").mkdir(parents=True)
        part.to_parquet(folder / f"year={year}" / "part-0.parquet", index=False)


def test_users_are_distinct_persons_across_an_indicators_atc_codes(tmp_path):
    # person 1 has two antibiotics (two ATC codes of one indicator) in one month: one user;
    # person 2 has an antibiotic in two months: a user in each; NULL persons are no users
    records = pd.DataFrame(
        {
            "person_id": pd.array([1, 1, 1, 2, 2, 3, None], dtype="Int64"),
            "clinic_id": ["K0001"] * 7,
            "date": pd.to_datetime(
                [
                    "2019-01-03",
                    "2019-01-20",
                    "2019-01-21",
                    "2019-01-05",
                    "2019-02-05",
                    "2019-01-09",
                    "2019-01-10",
                ]
            ).date,
            "atc": ["J01CA04", "J01CE02", "J01CE02", "J01CA04", "J01CA04", "M01AE01", "J01CA04"],
            "ddd": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    sizes = pd.DataFrame(
        {
            "clinic_id": ["K0001", "K0001"],
            "month": pd.to_datetime(["2019-01-01", "2019-02-01"]),
            "listed_patients": [1000, 1000],
        }
    )
    _write_records(tmp_path / "register", records)
    result = aggregate_register(tmp_path / "register", sizes, with_outcomes=False)
    cells = result.set_index(["month", "indicator"])[["prescriptions", "users", "ddd"]]
    assert cells.loc[(pd.Timestamp("2019-01-01"), "antibiotics")].tolist() == [5, 2, 17.0]
    assert cells.loc[(pd.Timestamp("2019-02-01"), "antibiotics")].tolist() == [1, 1, 5.0]
    assert cells.loc[(pd.Timestamp("2019-01-01"), "nsaid")].tolist() == [1, 1, 6.0]


def test_text_person_ids_give_the_same_result(tmp_path, small_register):
    # Integer person_ids are counted as 4-byte offsets from the smallest (faster to sort); text
    # ids, or integers too far apart, are counted as they are: the same users either way.
    register, part, _ = small_register
    files = sorted((register / "register").glob("year=*/*.parquet"))
    records = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    as_text = records.assign(person_id=records["person_id"].astype(str))
    spread = records.assign(person_id=records["person_id"] * 2**33)
    expected = aggregate_register(register, _list_sizes(part), with_outcomes=False)
    for name, variant in [("text", as_text), ("spread", spread)]:
        _write_records(
            tmp_path / name, variant.assign(date=pd.to_datetime(variant["date"]).dt.date)
        )
        got = aggregate_register(tmp_path / name, _list_sizes(part), with_outcomes=False)
        pd.testing.assert_frame_equal(
            got.drop(columns="ddd"), expected.drop(columns="ddd"), obj=name
        )
        np.testing.assert_allclose(got["ddd"], expected["ddd"], rtol=0, atol=1e-6)


def test_records_outside_window_or_indicators_are_left_out(tmp_path, small_register):
    register, part, records = small_register
    extra = pd.DataFrame(
        {
            "person_id": [1, 2, 3],
            "clinic_id": [part["clinic_id"].iloc[0]] * 3,
            "date": pd.to_datetime(["2019-05-03", "2019-05-04", "2030-01-01"]).date,
            "atc": ["A10BA02", "N02BE01", "M01AE01"],  # metformin, paracetamol, an NSAID in 2030
            "ddd": [30.0, 10.0, 5.0],
        }
    )
    copy = tmp_path / "register"
    shutil.copytree(register / "register", copy)
    (copy / "year=2030").mkdir()
    extra.to_parquet(copy / "year=2030" / "part-0.parquet", index=False)
    report: list = []
    result = aggregate_register(copy, _list_sizes(part), report=report, with_outcomes=False)
    assert int(result["prescriptions"].sum()) == records
    assert report[0].records == records + 3 and report[0].records_outside == 3
    assert "ddd_per_1000_per_day" not in result.columns


def test_records_without_a_list_size_are_an_error(small_register):
    register, part, _ = small_register
    sizes = _list_sizes(part)
    sizes = sizes[
        ~((sizes["clinic_id"] == "K0002") & (pd.to_datetime(sizes["month"]) == "2019-03-01"))
    ]
    with pytest.raises(
        DataValidationError,
        match=r"records for 1 clinic-month\(s\) without a list size: "
        r"K0002 2019-03 \(\d+ prescriptions\)\.",
    ):
        aggregate_register(register, sizes)


def test_bad_list_sizes_are_errors(small_register):
    register, part, _ = small_register
    sizes = _list_sizes(part).reset_index(drop=True)
    sizes.loc[0, "listed_patients"] = 0
    with pytest.raises(DataValidationError, match="listed_patients must be a positive number"):
        aggregate_register(register, sizes)
    with pytest.raises(
        DataValidationError,
        match="missing column: list sizes need clinic_id, month, listed_patients",
    ):
        aggregate_register(register, sizes.drop(columns="month"))


def test_register_without_a_column_or_files(tmp_path, small_register):
    register, part, _ = small_register
    bad = tmp_path / "register" / "year=2019"
    bad.mkdir(parents=True)
    pd.DataFrame(
        {
            "person_id": [1],
            "clinic_id": ["K0001"],
            "date": [pd.Timestamp("2019-01-01")],
            "atc": ["M01AE01"],
        }
    ).to_parquet(bad / "part-0.parquet")
    with pytest.raises(
        DataValidationError, match="column 'ddd': missing column in the register files"
    ):
        aggregate_register(tmp_path, _list_sizes(part))
    with pytest.raises(DataValidationError, match="no register folder"):
        aggregate_register(tmp_path / "nowhere", _list_sizes(part))


def test_connection_is_capped_and_spills(tmp_path):
    con = connect("300MB", tmp_path, threads=1)
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('memory_limit', 'temp_directory', 'threads', 'preserve_insertion_order')"
        ).fetchall()
    )
    assert settings["threads"] == "1"
    assert settings["preserve_insertion_order"] == "false"
    assert settings["temp_directory"].startswith(str(tmp_path))
    assert settings["memory_limit"].startswith(("286", "300"))  # DuckDB reports MiB
