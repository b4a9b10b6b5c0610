"""`workbench data check` and `workbench data aggregate`, through click's CliRunner."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
from click.testing import CliRunner

from evaluation.cli import main


def _run(*args):
    return CliRunner().invoke(main, ["data", *map(str, args)], catch_exceptions=False)


def test_check_clean_folder(synthetic_small):
    result = _run("check", synthetic_small)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        lines[0]
        == f"OK: {synthetic_small} matches the canonical layout (study window 2016-01..2023-12)."
    )
    assert lines[1].startswith("Checked clusters (20 rows), clinics (")


def test_check_broken_folder_lists_every_problem_by_file(data_folder, small_tables):
    t = small_tables
    clinics = t["clinics"].drop(columns=["urbanicity"])
    clinics.to_csv(data_folder / "clinics.csv", sep=";", index=False, encoding="cp1252")
    (data_folder / "clinics.parquet").unlink()
    prescribing = t["prescribing"].copy()
    prescribing.loc[10, "prescriptions"] = -4
    prescribing.loc[11, "clinic_id"] = "K9999"
    prescribing = pd.concat([prescribing, prescribing.iloc[[20]]], ignore_index=True)
    prescribing.to_parquet(data_folder / "prescribing.parquet", index=False)
    meetings = t["meetings"].copy()
    meetings.loc[0, "date"] = pd.Timestamp("2012-01-01").date()
    meetings.to_parquet(data_folder / "meetings.parquet", index=False)
    (data_folder / "gps.parquet").write_bytes(b"")

    result = _run("check", data_folder, "--no-register")
    assert result.exit_code == 1
    out = result.output
    assert out.startswith("7 problems in 4 files under")
    assert f"{data_folder}/clinics.csv:\n  - column 'urbanicity': missing column" in out
    assert f"{data_folder}/prescribing.parquet:\n" in out
    assert "  - column 'prescriptions', row 11: expected 0 or more, found -4" in out
    assert "duplicate key: clinic_id=K0001" in out
    assert (
        "  - column 'clinic_id', row 12: unknown clinic K9999: "
        f"expected every clinic_id to appear in {data_folder}/clinics.csv" in out
    )
    assert (
        f"{data_folder}/meetings.parquet:\n"
        "  - column 'date', row 1: expected inside the study window" in out
    )
    assert f"{data_folder}/gps.parquet:\n  - the file is empty" in out
    # with GPs unreadable, attendance cannot be checked against them: no false alarm about it
    assert "attendance.parquet" not in out


def test_check_register_problems(data_folder, small_register):
    register, part, _ = small_register
    shutil.copytree(register / "register", data_folder / "register")
    bad = pd.DataFrame(
        {
            "person_id": [5, 6, 7],
            "clinic_id": ["K0001", "K7777", "K0001"],
            "date": pd.to_datetime(["2019-01-05", "2019-01-06", "2031-01-01"]).date,
            "atc": ["M01AE01", "m01", "J01CE02"],
            "ddd": [-2.0, 1.0, 3.0],
        }
    )
    bad.to_parquet(data_folder / "register" / "year=2019" / "part-1.parquet", index=False)
    result = _run("check", data_folder, "--memory-limit", "256MB")
    assert result.exit_code == 1
    out = result.output
    part_1 = f"{data_folder}/register/year=2019/part-1.parquet"
    assert out.startswith("4 problems in 1 file under")
    assert f"{part_1}:\n" in out
    assert (
        "  - column 'ddd': expected 0 or more DDD (found negative values): 1 record, e.g. '-2.0'"
        in out
    )
    assert (
        "  - column 'date': expected dates inside the study window 2016-01..2023-12: "
        "1 record, e.g. '2031-01-01'" in out
    )
    assert "  - column 'atc': expected ATC codes such as M01AE01" in out and "'m01'" in out
    assert (
        "  - column 'clinic_id': expected clinics listed in the clinic table: "
        "1 records with 'K7777'" in out
    )


def test_check_window_options_and_missing_folder(synthetic_small, tmp_path):
    result = _run("check", synthetic_small, "--start", "2017-01")
    assert result.exit_code == 1
    assert "inside the study window 2017-01..2023-12" in result.output
    result = _run("check", synthetic_small, "--start", "January")
    assert result.exit_code == 2 and "expected months written YYYY-MM" in result.output
    result = _run("check", tmp_path / "absent")
    assert result.exit_code == 1 and "no such data folder" in result.output


def test_aggregate_command(tmp_path, small_register):
    register, part, records = small_register
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copytree(register / "register", folder / "register")
    sizes = part[["clinic_id", "month", "listed_patients"]].drop_duplicates()
    sizes.to_csv(tmp_path / "list_sizes.csv", sep=";", index=False)
    out = tmp_path / "out" / "indicators.parquet"
    result = _run(
        "aggregate",
        folder,
        "--out",
        out,
        "--list-sizes",
        tmp_path / "list_sizes.csv",
        "--memory-limit",
        "256MB",
        "--threads",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"aggregated {records:,} of {records:,} records (0 outside")
    written = pd.read_parquet(out)
    assert int(written["prescriptions"].sum()) == int(part["prescriptions"].sum())
    np.testing.assert_allclose(written["ddd"].sum(), part["ddd"].sum(), rtol=1e-12)
    assert {"ddd_per_1000_per_day", "prescriptions_per_1000", "users_per_1000"} <= set(
        written.columns
    )
    assert [p.name for p in out.parent.iterdir()] == ["indicators.parquet"]  # no temp file left


def test_aggregate_failure_writes_nothing(tmp_path, small_register):
    register, part, _ = small_register
    sizes = part[["clinic_id", "month", "listed_patients"]].drop_duplicates()
    sizes = sizes[sizes["clinic_id"] != "K0003"]
    sizes.to_csv(tmp_path / "list_sizes.csv", index=False)
    out = tmp_path / "out" / "indicators.csv"
    result = _run("aggregate", register, "--out", out, "--list-sizes", tmp_path / "list_sizes.csv")
    assert result.exit_code == 1
    assert "without a list size: K0003 2018-01" in result.output
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))
    result = _run("aggregate", register, "--out", tmp_path / "x.json")
    assert result.exit_code == 2 and "expected a .parquet or .csv file name" in result.output


def test_check_clean_folder_with_register(data_folder, small_register):
    register, _, records = small_register
    shutil.copytree(register / "register", data_folder / "register")
    result = _run("check", data_folder, "--memory-limit", "256MB")
    assert result.exit_code == 0, result.output
    assert f"Checked {records:,} register records." in result.output
