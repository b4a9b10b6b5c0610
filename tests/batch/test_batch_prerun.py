"""`workbench run` checks everything before it runs anything (issue 14, items 5 and 6).

The data folder (as `workbench data check`), every parameter file against the real notebooks,
the regions and notebooks asked for: every problem is listed once, grouped by file, one malformed
YAML hides nothing, and nothing is written (no run folder; `outputs/latest` unchanged).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evaluation.batch.prerun import RunCheckError, check_before_run, region_slug
from evaluation.batch.runner import BatchSettings
from evaluation.cli import main

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, synthetic_small) -> dict[str, Path]:
    """A copy of the project's parameters, a copy of the small synthetic data, and an outputs
    folder whose `latest` already points at an earlier finished run."""
    parameters = tmp_path / "parameters"
    shutil.copytree(PROJECT / "parameters", parameters)
    data = tmp_path / "data"
    shutil.copytree(synthetic_small, data)
    out = tmp_path / "outputs"
    (out / "20260101-000000").mkdir(parents=True)
    (out / "20260101-000000" / "index.html").write_text("<p>an earlier run</p>")
    os.symlink("20260101-000000", out / "latest")
    return {"parameters": parameters, "data": data, "out": out, "root": tmp_path}


def _run(project, *extra: str):
    return CliRunner().invoke(
        main,
        [
            "run",
            "--data",
            str(project["data"]),
            "--out",
            str(project["out"]),
            "--notebooks",
            str(PROJECT / "notebooks"),
            "--parameters",
            str(project["parameters"]),
            "--no-progress",
            *extra,
        ],
    )


def _nothing_written(project) -> None:
    out = project["out"]
    assert sorted(p.name for p in out.iterdir()) == ["20260101-000000", "latest"]
    assert os.readlink(out / "latest") == "20260101-000000"


def test_hostile_run_lists_every_problem_once_grouped_by_file_and_writes_nothing(project):
    # invalid data: a required column gone from one table
    clinics = pd.read_parquet(project["data"] / "clinics.parquet")
    clinics.drop(columns=["cluster_id"]).to_parquet(project["data"] / "clinics.parquet")
    # one malformed YAML must not hide the others' problems
    (project["parameters"] / "hovedstaden.yml").write_text("region: hovedstaden\n  topic: [nsaid\n")
    sjaelland = project["parameters"] / "sjaelland.yml"
    sjaelland.write_text(sjaelland.read_text().replace("indicator: nsaid", "indicator: aspirin"))
    syddanmark = project["parameters"] / "syddanmark.yml"
    syddanmark.write_text(syddanmark.read_text().replace('study_end: "2023-12"', "study_end: 7"))

    result = _run(project)
    output = result.output
    assert result.exit_code == 1, output
    assert "Traceback" not in output and "nothing was run and nothing was written" in output
    lines = output.splitlines()
    # each file named once as a heading, its problems under it
    for name in ("hovedstaden.yml", "sjaelland.yml", "syddanmark.yml", "clinics.parquet"):
        headings = [line for line in lines if line.endswith(":") and name in line]
        assert len(headings) == 1, (name, output)
    assert any("not valid YAML" in line for line in lines)
    aspirin = [line for line in lines if "indicator 'aspirin' is not one of" in line]
    assert len(aspirin) == 1, "a value wrong for every notebook is listed once, not per notebook"
    assert any("study_end" in line and "got int 7" in line for line in lines), output
    assert any("cluster_id" in line for line in lines), output
    problems = [line for line in lines if line.startswith("  - ")]
    assert len(problems) == len(set(problems)), "no problem is repeated"
    _nothing_written(project)


def test_hostile_run_with_invalid_data_alone_writes_nothing(project):
    (project["data"] / "meetings.parquet").write_bytes(b"not parquet at all")
    result = _run(project)
    assert result.exit_code == 1 and "meetings.parquet" in result.output, result.output
    assert "Traceback" not in result.output
    _nothing_written(project)


def test_hostile_regions_and_notebooks_get_suggestions(project):
    assert region_slug("Sjælland") == "sjaelland" and region_slug("NORDJYLLAND") == "nordjylland"
    settings = BatchSettings(
        data_dir=project["data"],
        out_dir=project["out"],
        notebooks_dir=PROJECT / "notebooks",
        parameters_dir=project["parameters"],
        regions=("Sjælland",),
        notebooks=("01_*",),
    )
    jobs, _ = check_before_run(settings)  # a Danish name, any case, is the region's slug
    assert {job.parameters["region"] for job in jobs if job.kind == "region"} == {"sjaelland"}

    result = _run(project, "-r", "sjeland", "-n", "01_prescribing_impcat")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "did you mean 'sjaelland'?" in result.output, result.output
    assert "did you mean '01_prescribing_impact'?" in result.output, result.output
    _nothing_written(project)


def test_hostile_run_from_inside_notebooks_says_where_to_run_from(project, monkeypatch):
    inside = project["root"] / "notebooks"
    shutil.copytree(PROJECT / "notebooks", inside)
    monkeypatch.chdir(inside)
    result = CliRunner().invoke(main, ["run", "--no-progress"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "run from the project root" in result.output and "cd .." in result.output, result.output
    assert not (inside / "outputs").exists()


def test_an_unwritable_or_file_out_is_a_problem_before_the_run(project):
    a_file = project["root"] / "outputs.txt"
    a_file.write_text("mine")
    settings = BatchSettings(
        data_dir=project["data"],
        out_dir=a_file,
        notebooks_dir=PROJECT / "notebooks",
        parameters_dir=project["parameters"],
    )
    with pytest.raises(RunCheckError, match="outputs.txt is a file, not a folder"):
        check_before_run(settings)
    assert a_file.read_text() == "mine"
