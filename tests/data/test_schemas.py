"""Each schema violation is found, and its message names the file, the rows or column, and
what was expected. Problems are collected, never just the first."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.data import DataValidationError, StudyWindow, load
from evaluation.data.io import read_canonical
from evaluation.data.schemas import conform, cross_table_problems, validate_table


def _write(frame: pd.DataFrame, path):
    frame.to_csv(path, index=False)
    return path


def _problems(frame, table, tmp_path, window=StudyWindow()):
    path = _write(frame, tmp_path / f"{table}.csv")
    result, problems = read_canonical(path, table, window)
    return path, problems


def test_clean_tables_have_no_problems(small_tables):
    for name, frame in small_tables.items():
        conformed, problems, _ = conform(frame, name, f"{name}.parquet")
        assert problems == [], name
        assert validate_table(conformed, name) == [], name
    conformed = {name: conform(frame, name)[0] for name, frame in small_tables.items()}
    assert cross_table_problems(conformed) == []


def test_missing_column(tmp_path, small_tables):
    clinics = small_tables["clinics"].drop(columns=["listed_patients"])
    path, problems = _problems(clinics, "clinics", tmp_path)
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.column) == (str(path), "listed_patients")
    assert str(p).startswith("column 'listed_patients': missing column: expected listed patients")
    assert "the table needs clinic_id, cluster_id, region, n_gps, listed_patients" in p.message


def test_wrong_type(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(30).astype({"prescriptions": object})
    prescribing.loc[4, "prescriptions"] = "many"
    prescribing.loc[9, "prescriptions"] = "12.5"
    path, problems = _problems(prescribing, "prescribing", tmp_path)
    messages = [str(p) for p in problems]
    assert (
        "column 'prescriptions', row 5: wrong type: "
        "expected a whole number (prescriptions dispensed), found 'many'" in messages
    )
    assert any(
        m.startswith("column 'prescriptions', row 10: wrong type: expected a whole number")
        and "12.5" in m
        for m in messages
    )
    assert all(p.file == str(path) for p in problems)


def test_wrong_type_of_a_date(tmp_path, small_tables):
    meetings = small_tables["meetings"].head(10).astype({"date": object})
    meetings.loc[2, "date"] = "next spring"
    _, problems = _problems(meetings, "meetings", tmp_path)
    assert [str(p) for p in problems] == [
        "column 'date', row 3: wrong type: expected a date like 2019-03-14, found 'next spring'"
    ]


def test_negative_count(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(30).copy()
    prescribing.loc[[3, 7], "prescriptions"] = [-1, -5]
    prescribing.loc[[3, 7], "users"] = [-2, -6]
    _, problems = _problems(prescribing, "prescribing", tmp_path)
    messages = [str(p) for p in problems]
    assert "column 'prescriptions', rows 4, 8: expected 0 or more, found -1, -5" in messages
    assert "column 'users', rows 4, 8: expected 0 or more, found -2, -6" in messages


def test_users_cannot_exceed_prescriptions(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(30).copy()
    prescribing.loc[6, "users"] = prescribing.loc[6, "prescriptions"] + 3
    _, problems = _problems(prescribing, "prescribing", tmp_path)
    assert [str(p) for p in problems] == [
        "row 7: expected users <= prescriptions "
        "(a patient counts as a user only with a prescription)"
    ]


def test_zero_or_missing_list_size(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(30).astype({"listed_patients": object})
    prescribing.loc[2, "listed_patients"] = 0
    prescribing.loc[5, "listed_patients"] = None
    _, problems = _problems(prescribing, "prescribing", tmp_path)
    messages = [str(p) for p in problems]
    assert (
        "column 'listed_patients', row 6: missing value; "
        "expected patients listed that month on every row" in messages
    )
    # the zero is reported too, even though the column also has a missing value
    assert any("listed_patients" in m and "row 3" in m and "1 or more" in m for m in messages), (
        messages
    )


def test_duplicate_key(tmp_path, small_tables):
    clinics = small_tables["clinics"].head(10)
    clinics = pd.concat([clinics, clinics.iloc[[2]]], ignore_index=True)
    _, problems = _problems(clinics, "clinics", tmp_path)
    assert [str(p) for p in problems] == [
        "rows 3, 11: duplicate key: clinic_id=K0003 appears 2 times; expected one row per clinic_id"
    ]
    prescribing = small_tables["prescribing"].head(10)
    prescribing = pd.concat([prescribing, prescribing.iloc[[0]]], ignore_index=True)
    _, problems = _problems(prescribing, "prescribing", tmp_path)
    assert [str(p) for p in problems] == [
        "rows 1, 11: duplicate key: clinic_id=K0001, month=2016-01-01, indicator=antibiotics "
        "appears 2 times; expected one row per clinic_id, month, indicator"
    ]


def test_dates_out_of_range(tmp_path, small_tables):
    meetings = small_tables["meetings"].head(10).copy()
    meetings.loc[1, "date"] = pd.Timestamp("2015-06-30").date()
    meetings.loc[8, "date"] = pd.Timestamp("2024-01-02").date()
    _, problems = _problems(meetings, "meetings", tmp_path)
    assert [str(p) for p in problems] == [
        "column 'date', rows 2, 9: expected inside the study window 2016-01..2023-12 "
        "(2016-01-01 to 2023-12-31), "
        "found Timestamp('2015-06-30 00:00:00'), Timestamp('2024-01-02 00:00:00')"
    ]


def test_study_window_is_configurable(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(96)  # one clinic-indicator, 2016-01..2023-12
    _, problems = _problems(prescribing, "prescribing", tmp_path, StudyWindow("2017-01", "2023-12"))
    assert len(problems) == 1
    assert (
        problems[0].n_rows == 12
        and "inside the study window 2017-01..2023-12" in problems[0].message
    )


def test_month_must_be_first_of_month_and_values_allowed(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(20).copy()
    prescribing.loc[0, "month"] = pd.Timestamp("2016-01-15").date()
    prescribing.loc[1, "indicator"] = "statins"
    _, problems = _problems(prescribing, "prescribing", tmp_path)
    messages = [str(p) for p in problems]
    assert any(
        m.startswith("column 'month', row 1: expected the first day of a month") for m in messages
    )
    assert (
        "column 'indicator', row 2: expected one of nsaid, antibiotics, eye_antibiotics, "
        "dependence_producing, found 'statins'" in messages
    )


def test_empty_file(tmp_path):
    path = tmp_path / "prescribing.csv"
    path.write_text("")
    _, problems = read_canonical(path, "prescribing")
    assert [str(p) for p in problems] == [
        "the file is empty (0 bytes): expected a header row and data rows"
    ]
    assert problems[0].file == str(path)


def test_every_problem_is_collected(tmp_path, small_tables):
    """A table with five different faults reports all five, not the first."""
    clinics = small_tables["clinics"].head(12).copy()
    clinics.loc[0, "n_gps"] = -1
    clinics.loc[1, "region"] = "Bornholm"
    clinics.loc[2, "urbanicity"] = "suburban"
    clinics.loc[3, "listed_patients"] = 0
    clinics = pd.concat([clinics, clinics.iloc[[5]]], ignore_index=True)
    _, problems = _problems(clinics, "clinics", tmp_path)
    columns = sorted(str(p.column) for p in problems)
    assert columns == ["None", "listed_patients", "n_gps", "region", "urbanicity"]


def test_unknown_references_across_tables(data_folder, small_tables):
    """Prescribing for an unknown clinic, a clinic in an unknown cluster, attendance for an
    unknown meeting and GP: each is reported with its file, column and rows."""
    t = small_tables
    prescribing = t["prescribing"].copy()
    prescribing.loc[[0, 1], "clinic_id"] = "K9999"
    prescribing.to_parquet(data_folder / "prescribing.parquet", index=False)
    clinics = t["clinics"].copy()
    clinics.loc[4, "cluster_id"] = "C999"
    clinics.to_parquet(data_folder / "clinics.parquet", index=False)
    attendance = t["attendance"].copy()
    attendance.loc[0, "meeting_id"] = "M99999"
    attendance.loc[1, "gp_id"] = "G99999"
    attendance.to_parquet(data_folder / "attendance.parquet", index=False)

    with pytest.raises(DataValidationError) as caught:
        load(data_folder)
    messages = {(p.file.rsplit("/", 1)[-1], str(p)) for p in caught.value.problems}
    folder = str(data_folder)
    assert (
        "prescribing.parquet",
        "column 'clinic_id', rows 1, 2: unknown clinic K9999: "
        f"expected every clinic_id to appear in {folder}/clinics.parquet",
    ) in messages
    assert (
        "clinics.parquet",
        "column 'cluster_id', row 5: unknown cluster C999: "
        f"expected every cluster_id to appear in {folder}/clusters.parquet",
    ) in messages
    assert (
        "attendance.parquet",
        "column 'meeting_id', row 1: unknown meeting M99999: "
        f"expected every meeting_id to appear in {folder}/meetings.parquet",
    ) in messages
    assert (
        "attendance.parquet",
        "column 'gp_id', row 2: unknown gp G99999: "
        f"expected every gp_id to appear in {folder}/gps.parquet",
    ) in messages
    # the moved clinic's GPs now disagree with it about their cluster
    assert any(f == "gps.parquet" and "cluster_id differs" in m for f, m in messages)
    report = str(caught.value)
    assert report.startswith(f"{len(caught.value.problems)} problems in {folder}:")
    assert f"{folder}/prescribing.parquet:" in report


def test_error_report_groups_by_file(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(5).copy()
    prescribing.loc[0, "ddd"] = -3.0
    path, problems = _problems(prescribing, "prescribing", tmp_path)
    err = DataValidationError(problems, "the folder")
    lines = str(err).splitlines()
    assert lines[0] == "1 problem in the folder:"
    assert lines[1] == f"{path}:"
    assert lines[2] == "  - column 'ddd', row 1: expected 0 or more, found -3.0"
    assert "workbench data check" in lines[-1]


def test_dates_written_as_numbers(tmp_path, small_tables):
    """Registers often write 20190314 for a date and 201903 for a month."""
    meetings = small_tables["meetings"].head(3).copy()
    meetings["date"] = [20190314, 20191002, 20200115]
    _, problems = _problems(meetings, "meetings", tmp_path)
    assert problems == []
    prescribing = small_tables["prescribing"].head(3).copy()
    prescribing["month"] = [201601, 201602, 201603]
    path = _write(prescribing, tmp_path / "prescribing.csv")
    frame, problems = read_canonical(path, "prescribing")
    assert problems == []
    assert list(frame["month"].dt.strftime("%Y-%m")) == ["2016-01", "2016-02", "2016-03"]
    meetings["date"] = [20190314, 12345, 20200115]
    _, problems = _problems(meetings, "meetings", tmp_path)
    assert [p.column for p in problems] == ["date"]
    assert "wrong type: expected a date" in problems[0].message


def test_infinite_counts_are_wrong_type(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(5).astype({"ddd": object})
    prescribing.loc[1, "ddd"] = "inf"
    _, problems = _problems(prescribing, "prescribing", tmp_path)
    assert [str(p) for p in problems] == [
        "column 'ddd', row 2: wrong type: "
        "expected a number (defined daily doses dispensed), found 'inf'"
    ]
