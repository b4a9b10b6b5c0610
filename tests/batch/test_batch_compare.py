"""compare_runs: every number that moved between two runs, renamed columns recognised."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evaluation.batch.compare import compare_runs
from evaluation.batch.record import encode
from evaluation.errors import EvaluationError


def _write_run(folder, records, status="ok"):
    folder.mkdir(parents=True)
    job = {"job_id": "02--sjaelland", "status": status, "records": records}
    (folder / "manifest.json").write_text(json.dumps({"jobs": [job]}), encoding="utf-8")
    return folder


def test_same_numbers_under_new_column_names_are_no_difference(tmp_path):
    old = pd.DataFrame({"year": [2019, 2020], "rate": [0.81, 0.85], "ci_lower": [0.7, 0.8]})
    new = old.rename(columns={"ci_lower": "ci_low"})
    before = _write_run(tmp_path / "a", {"by_year": encode("by_year", old), "n": encode("n", 5)})
    after = _write_run(tmp_path / "b", {"by_year": encode("by_year", new), "n": encode("n", 5)})
    assert compare_runs(before, after).empty


def test_moved_numbers_missing_records_and_status_are_listed(tmp_path):
    old = pd.DataFrame({"rate": [0.81, 0.85]})
    new = pd.DataFrame({"rate": [0.81, 0.86]})
    before = _write_run(tmp_path / "a", {"t": encode("t", old), "gone": encode("gone", 1)})
    after = _write_run(tmp_path / "b", {"t": encode("t", new)}, status="failed")
    differences = compare_runs(before, after)
    assert set(differences["problem"]) == {"changed", "record only before", "status changed"}
    moved = differences[differences["problem"] == "changed"].iloc[0]
    assert (moved["field"], moved["before"], moved["after"]) == ("rate[1]", 0.85, 0.86)


def test_tolerance(tmp_path):
    before = _write_run(tmp_path / "a", {"x": encode("x", 1.0)})
    after = _write_run(tmp_path / "b", {"x": encode("x", 1.0 + 1e-12)})
    assert compare_runs(before, after).empty
    assert len(compare_runs(before, after, rtol=1e-15, atol=0)) == 1


def test_a_folder_without_manifest_is_named(tmp_path):
    with pytest.raises(EvaluationError, match="no manifest.json"):
        compare_runs(tmp_path, tmp_path)


def test_test_named_p_values_match_their_new_names(tmp_path):
    old = pd.DataFrame({"welch_p": [0.02], "mwu_p_adjusted": [0.04]})
    new = pd.DataFrame({"welch_p_value": [0.02], "mwu_p_value_adjusted": [0.04]})
    before = _write_run(tmp_path / "a", {"t": encode("t", old)})
    after = _write_run(tmp_path / "b", {"t": encode("t", new)})
    assert compare_runs(before, after).empty


def test_the_command_exits_1_when_a_number_moved(tmp_path):
    from click.testing import CliRunner

    from evaluation.cli import main

    before = _write_run(tmp_path / "a", {"x": encode("x", 1.0)})
    same = _write_run(tmp_path / "b", {"x": encode("x", 1.0)})
    moved = _write_run(tmp_path / "c", {"x": encode("x", 2.0)})
    assert CliRunner().invoke(main, ["compare-runs", str(before), str(same)]).exit_code == 0
    result = CliRunner().invoke(main, ["compare-runs", str(before), str(moved)])
    assert result.exit_code == 1 and "changed" in result.output
