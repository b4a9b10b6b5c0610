"""What is checked before a cluster run starts, and on the worker before a notebook starts."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from batch_helpers import write_parameters

from evaluation.batch.cluster import ClusterError, slurm_options
from evaluation.batch.execute import execute_job
from evaluation.batch.remote import version_differences


def test_slurm_settings_list_every_problem_and_the_command_line_wins(tmp_path):
    cluster = tmp_path / "cluster.yml"
    cluster.write_text("queue: short\njobs: 0\nmemory: lots\nnodes: 4\n", encoding="utf-8")
    with pytest.raises(ClusterError) as problems:
        slurm_options(cluster, walltime="soon")
    message = str(problems.value)
    assert "4 problem(s)" in message
    for expected in ("unknown key(s) nodes", "jobs 0", "memory 'lots'", "walltime 'soon'"):
        assert expected in message

    cluster.write_text("queue: short\njobs: 3\nmemory: 2GB\naccount: mine\n", encoding="utf-8")
    options = slurm_options(cluster, jobs=5)
    assert (options["queue"], options["jobs"], options["memory"]) == ("short", 5, "2GB")
    assert options["account"] == "mine" and options["walltime"] == "01:00:00"
    assert options["from"] == str(cluster)


def test_cluster_yml_is_not_taken_for_a_region(tmp_path):
    from evaluation.batch.parameters import load_parameter_sets

    params = write_parameters(tmp_path / "parameters", ["hovedstaden"])
    (params / "cluster.yml").write_text("queue: short\n", encoding="utf-8")
    assert [s.name for s in load_parameter_sets(params)] == ["hovedstaden"]


def test_bad_slurm_options_stop_the_run_before_anything_is_written(
    tmp_path, tiny_data, notebooks_dir
):
    params = write_parameters(tmp_path / "parameters", ["hovedstaden"])
    out = tmp_path / "outputs"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "evaluation.cli",
            "run",
            "--no-data-check",
            "--data",
            str(tiny_data),
            "--out",
            str(out),
            "--notebooks",
            str(notebooks_dir),
            "--parameters",
            str(params),
            "--executor",
            "slurm",
            "--slurm-walltime",
            "soon",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    assert "walltime 'soon': expected Slurm's form" in done.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_worker_that_cannot_see_the_data_names_its_host_and_the_path(tmp_path, notebooks_dir):
    missing = tmp_path / "not-mounted" / "registers"
    job = {
        "job_id": "10_tiny_region--hovedstaden",
        "label": "Hovedstaden",
        "kind": "region",
        "notebook": str(notebooks_dir / "10_tiny_region.ipynb"),
        "parameters": {"region": "hovedstaden", "data_dir": str(missing)},
        "check_paths": [["data_dir", str(missing), "folder"]],
        "results": None,
    }
    run = {
        "run_dir": str(tmp_path / "run"),
        "run_id": "r",
        "kernel_name": "evaluation",
        "threshold": 5,
    }
    result = execute_job(job, run)
    assert result["status"] == "failed" and result["notebook_text"] is None
    assert f"host {socket.gethostname()}" in result["error"]
    assert f"data_dir = {missing} (no such folder there)" in result["error"]
    assert not (tmp_path / "run").exists(), "a worker writes nothing into the run folder"


def test_version_differences_name_both_sides():
    client = {
        "python": "3.11.7",
        "evaluation": "0.1.0 (source aaa)",
        "papermill": "2.7.0",
        "nbconvert": "7.17.2",
    }
    worker = {**client, "evaluation": "0.1.0 (source bbb)", "nbconvert": "7.16.0"}
    assert version_differences(client, worker) == [
        "evaluation 0.1.0 (source bbb) there, 0.1.0 (source aaa) here",
        "nbconvert 7.16.0 there, 7.17.2 here",
    ]
    assert version_differences(client, dict(client)) == []
