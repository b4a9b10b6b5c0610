"""Errors on the command line: one clean line, exit status 1, no traceback, nothing written.

The package's errors become messages in one place (``evaluation.cli.WorkbenchGroup``); these
tests drive real ``workbench`` processes, as a user's shell would, so that a traceback printed
anywhere on the way would show.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from evaluation.cli import WorkbenchGroup, main
from evaluation.errors import InputError, MissingFileError


def workbench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evaluation.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _assert_one_clean_line(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])


@pytest.mark.slow
def test_failing_commands_print_one_clean_line_and_exit_1(tmp_path):
    checked = workbench("data", "check", "no-such-folder", cwd=tmp_path)
    _assert_one_clean_line(checked, "no-such-folder", "no such data folder", "workbench data synth")

    out = tmp_path / "clinic_months.parquet"
    aggregated = workbench(
        "data",
        "aggregate",
        str(tmp_path),
        "--list-sizes",
        "sizes.csv",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    _assert_one_clean_line(aggregated, "sizes.csv: no such file")
    assert not out.exists() and list(tmp_path.iterdir()) == [], "nothing is written"

    (tmp_path / "notebooks").mkdir()
    ran = workbench("run", "--notebooks", "notebooks", "--out", "outputs", cwd=tmp_path)
    # the checks before a run list every problem, grouped by file: one message, several lines
    assert ran.returncode == 1 and "Traceback" not in ran.stderr + ran.stdout
    assert ran.stderr.startswith("Error: ") and "nothing was written" in ran.stderr
    assert "--notebooks notebooks: no notebooks to run." in ran.stderr, ran.stderr
    assert "parameters: no such folder" in ran.stderr, ran.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_usage_errors_keep_clicks_exit_status_2(tmp_path):
    result = workbench("data", "synth", "--scale", "huge", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Invalid value for '--scale'" in result.stderr
    assert not any(tmp_path.iterdir())


def _group_with(error: Exception) -> click.Group:
    @click.group(cls=WorkbenchGroup)
    def top() -> None:
        pass

    @top.group()
    def wing() -> None:
        pass

    @wing.command()
    def fail() -> None:
        raise error

    return top


def test_an_error_from_any_depth_becomes_error_message_and_status_1():
    error = MissingFileError("parameters/sjaelland.yml: no such file; copy hovedstaden.yml")
    result = CliRunner().invoke(_group_with(error), ["wing", "fail"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output == (
        "Error: parameters/sjaelland.yml: no such file; copy hovedstaden.yml\n"
    )


def test_notes_added_on_the_way_up_follow_the_message():
    error = InputError("store.sqlite: locked by another process")
    error.add_note("Nothing was changed in the store.")
    result = CliRunner().invoke(_group_with(error), ["wing", "fail"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: store.sqlite: locked by another process\nNothing was changed in the store.\n"
    )


def test_other_exceptions_are_not_hidden():
    # a bug is not the user's to fix: it keeps its traceback (the runner keeps the exception)
    result = CliRunner().invoke(_group_with(ZeroDivisionError("bug")), ["wing", "fail"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_the_workbench_command_is_a_workbench_group():
    assert isinstance(main, WorkbenchGroup)
