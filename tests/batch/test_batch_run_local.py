"""The grid on the local process pool: outputs, records, summary, fresh kernels, failures."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import lxml.html
import nbformat
import pytest
from batch_helpers import JOB_ROWS, jobs_by_id, read_manifest, write_parameters

from evaluation.batch.record import read_estimates, read_notebook_records
from evaluation.batch.runner import run_batch
from evaluation.reports.disclosure import find_small_counts

pytestmark = pytest.mark.slow


def test_grid_writes_reports_index_manifest_and_latest(grid_run):
    settings, outcome = grid_run
    run_dir = outcome.run_dir
    manifest = read_manifest(run_dir)
    jobs = jobs_by_id(manifest)
    assert manifest["status"] == "finished"
    assert manifest["counts"] == {"ok": 3, "failed": 1, "blocked": 0, "pending": 0}
    assert list(jobs) == [
        "10_tiny_region--hovedstaden",
        "10_tiny_region--sjaelland",
        "10_tiny_region--syddanmark",
        "00_tiny_summary",
    ], "region runs first, the summary last"
    assert os.readlink(settings.out_dir / "latest") == run_dir.name
    for job in jobs.values():
        assert (run_dir / job["report"]).is_file() and (run_dir / job["notebook_out"]).is_file()
        assert len(job["fingerprint"]) == 64
    assert list(manifest["data_checksums"]) == ["clusters.csv"]
    assert manifest["versions"]["evaluation"] and manifest["git"]["commit"]
    assert not list(run_dir.rglob("*.tmp-*")), "no temporaries left behind"

    # the index links every report with its status
    index = lxml.html.parse(str(run_dir / "index.html")).getroot()
    assert [r.get("data-status") for r in index.xpath(JOB_ROWS)] == ["ok", "ok", "failed", "ok"]
    assert {a.get("href") for a in index.xpath("//a")} >= {job["report"] for job in jobs.values()}
    assert "deliberate failure in syddanmark" in index.text_content()


def test_records_reach_the_manifest_and_the_summary(grid_run):
    _, outcome = grid_run
    run_dir = outcome.run_dir
    jobs = jobs_by_id(read_manifest(run_dir))
    assert jobs["10_tiny_region--sjaelland"]["records"]["effect"]["value"]["estimate"] == -0.1
    assert read_notebook_records(run_dir / jobs["10_tiny_region--sjaelland"]["notebook_out"])[
        "table"
    ].shape == (3, 3)
    estimates = read_estimates(run_dir, name="effect")
    assert sorted(estimates["region"]) == ["hovedstaden", "sjaelland"], (
        "the failed region recorded nothing"
    )
    assert set(estimates.columns) >= {
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "n",
        "label",
        "indicator",
    }
    summary = jobs["00_tiny_summary"]["records"]
    assert summary["regions_seen"]["value"] == ["hovedstaden", "sjaelland"]
    assert summary["statuses"]["value"]["10_tiny_region--syddanmark"] == "failed", (
        "the summary ran after the regions"
    )


def test_every_notebook_gets_a_fresh_kernel(grid_run):
    """Two workers ran four notebooks, so a worker ran several: each still had a kernel of its own
    (the notebook asserts that nothing from an earlier run is visible, then leaves markers)."""
    _, outcome = grid_run
    jobs = jobs_by_id(read_manifest(outcome.run_dir))
    regions = [j for j in jobs.values() if j["kind"] == "region" and j["status"] == "ok"]
    workers = [j["worker_pid"] for j in jobs.values()]
    assert len(set(workers)) < len(workers), "some worker ran more than one notebook"
    assert len({j["records"]["kernel_pid"]["value"] for j in regions}) == len(regions)
    # every kernel counted its cells from the start: the same count at the same cell
    assert len({j["records"]["first_execution_count"]["value"] for j in regions}) == 1


def test_report_hides_code_and_has_contents_metadata_and_alt_text(grid_run):
    _, outcome = grid_run
    html = (outcome.run_dir / "reports" / "10_tiny_region--sjaelland.html").read_text(
        encoding="utf-8"
    )
    page = lxml.html.fromstring(html)
    assert "suppress_small_counts" not in page.text_content(), "code is hidden by default"
    assert page.xpath("//h1[@class='wb-title']")[0].text == "Tiny region report"
    assert [a.text for a in page.xpath("//nav//a")] == [
        "A fresh kernel",
        "Patients per cluster",
        "The estimate",
        "Run details",
    ]
    assert "run all cells to try another region" not in html, "notebook-only cells stay out"
    details = page.xpath("//details[@id='run-details']")[0].text_content()
    for expected in (
        "sjaelland",
        "clusters.csv",
        "git commit",
        "pandas",
        "duration",
        "disclosure threshold",
    ):
        assert expected in details
    (figure,) = page.iter("img")
    assert figure.get("alt") == (
        "Figure: Patients per cluster in sjaelland (Klynge Nord); y axis: number of patients. "
        "3 values labelled, from 40 to 125 (1 shown as <5)."
    )
    assert json.loads(figure.get("data-value-labels")) == ["<5", "40", "125"]
    # drawn at 2x (use_report_style's retina PNG) and shown at its size: sharp in print
    png = base64.b64decode(figure.get("src").split(",", 1)[1])
    assert int.from_bytes(png[16:20], "big") // 2 == int(figure.get("width"))
    assert not page.xpath("//script[@src] | //link[@rel='stylesheet']"), "self-contained"
    assert "<5" in page.text_content() and find_small_counts(html) == []
    assert "recorded kernel_pid" not in html, "record outputs are left out of reports"


def test_a_notebook_that_raises_is_kept_with_the_failing_cell_shown(grid_run):
    _, outcome = grid_run
    run_dir = outcome.run_dir
    raised = jobs_by_id(read_manifest(run_dir))["10_tiny_region--syddanmark"]
    assert raised["status"] == "failed"
    assert raised["error"] == (
        'code cell 6 (`if behaviour == "raise":`) failed: '
        "ValueError: deliberate failure in syddanmark"
    )
    executed = nbformat.read(str(run_dir / raised["notebook_out"]), as_version=4)
    assert executed.cells[raised["failed_cell"]].outputs[-1]["ename"] == "ValueError"
    report = lxml.html.fromstring((run_dir / raised["report"]).read_text(encoding="utf-8"))
    text = report.text_content()
    assert "Failed" in text and "deliberate failure in syddanmark" in text
    assert 'raise ValueError(f"deliberate failure in {region}")' in text, (
        "the failing cell's code is shown"
    )
    assert "suppress_small_counts" not in text, "other cells' code stays hidden"


def test_a_dying_kernel_and_a_leaking_table_do_not_stop_the_others(tmp_path, settings_for):
    params = write_parameters(
        tmp_path / "parameters",
        ["hovedstaden", "sjaelland", "syddanmark"],
        hovedstaden={"behaviour": "die"},
        sjaelland={"behaviour": "leak"},
    )
    outcome = run_batch(settings_for(params, notebooks=("10_*",)))
    run_dir = outcome.run_dir
    jobs = jobs_by_id(read_manifest(run_dir))
    assert not outcome.ok
    assert jobs["10_tiny_region--syddanmark"]["status"] == "ok"

    died = jobs["10_tiny_region--hovedstaden"]
    assert died["status"] == "failed"
    assert "DeadKernelError: The kernel died while running this cell" in died["error"]
    executed = nbformat.read(str(run_dir / died["notebook_out"]), as_version=4)
    stopped = executed.cells[died["failed_cell"]]
    assert "os.kill" in stopped.source and stopped.outputs[-1]["ename"] == "DeadKernelError"
    assert (run_dir / died["report"]).is_file()

    leaked = jobs["10_tiny_region--sjaelland"]
    assert leaked["status"] == "blocked"
    assert "column 'Number of patients', row 'Klynge Nord'" in leaked["error"]
    assert "suppress_small_counts" in leaked["error"]
    assert "shows 3" not in leaked["error"], "where the small count is, never the number"
    assert (
        leaked["report"] is None
        and not (run_dir / "reports" / "10_tiny_region--sjaelland.html").exists()
    )
    # issue 14: the executed notebook (with the unsuppressed table) is kept for the analyst,
    # outside the shareable run folder, and the manifest keeps none of its recorded tables
    assert leaked["notebook_out"] is None
    assert not list(run_dir.rglob("10_tiny_region--sjaelland*"))
    withheld = run_dir.parent / leaked["withheld"]
    assert (
        withheld == run_dir.parent / "withheld" / run_dir.name / "10_tiny_region--sjaelland.ipynb"
    )
    assert withheld.is_file() and "withheld" in leaked["error"]
    assert "table" not in leaked["records"] and "kernel_pid" in leaked["records"]
    assert "table" in jobs["10_tiny_region--syddanmark"]["records"]

    index = lxml.html.parse(str(run_dir / "index.html")).getroot()
    statuses = {r.get("id"): r.get("data-status") for r in index.xpath(JOB_ROWS)}
    assert statuses == {
        "job-10_tiny_region--hovedstaden": "failed",
        "job-10_tiny_region--sjaelland": "blocked",
        "job-10_tiny_region--syddanmark": "ok",
    }
    assert "Blocked by disclosure check" in index.text_content()


def test_cli_reports_every_parameter_problem_and_runs_nothing(tmp_path, tiny_data, notebooks_dir):
    from click.testing import CliRunner

    from evaluation.cli import main

    params = write_parameters(
        tmp_path / "parameters",
        ["hovedstaden", "sjaelland"],
        hovedstaden={"regoin": "x"},
        sjaelland={"sleep_s": "long", "indicator": "aspirin"},
    )
    out = tmp_path / "outputs"
    result = CliRunner().invoke(
        main,
        [
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
        ],
    )
    assert result.exit_code == 1
    assert "3 problem(s)" in result.output
    assert "unknown parameter 'regoin'; did you mean 'region'?" in result.output
    assert "parameter 'sleep_s' should be float" in result.output
    assert "indicator 'aspirin' is not one of" in result.output
    assert "nothing was run" in result.output
    assert not out.exists() or not any(out.iterdir())


# run_batch, called from a process that has executed a notebook itself (a test, or a notebook
# calling run_batch), then forks its pool workers: they must not reuse that process's asyncio loop
AFTER_A_NOTEBOOK = """
import sys
from pathlib import Path

tests, root, data, parameters = map(Path, sys.argv[1:])
sys.path[:0] = [str(tests), str(tests / "batch")]
from batch_helpers import FAST_PRELOAD
from notebook_kernels import execute_notebook

from evaluation.batch.runner import BatchSettings, run_batch

notebooks = tests / "batch" / "notebooks"
execute_notebook(notebooks / "10_tiny_region.ipynb", root / "in-process.ipynb", cwd=root)
outcome = run_batch(
    BatchSettings(
        check_data=False,
        data_dir=data,
        out_dir=root / "outputs",
        notebooks_dir=notebooks,
        parameters_dir=parameters,
        workers=2,
        progress=False,
        preload=FAST_PRELOAD,
        timeout=60,
    )
)
print("statuses:", sorted(job["status"] for job in outcome.manifest["jobs"]))
"""


def test_a_runner_that_has_run_a_notebook_itself_still_gets_working_workers(tmp_path, tiny_data):
    parameters = write_parameters(tmp_path / "parameters", ["hovedstaden", "sjaelland"])
    tests = Path(__file__).resolve().parents[1]
    # its own process: before the fix its two workers spun at full CPU, and the pool's shutdown
    # then waited for them for good, so the hang is bounded here and the whole group killed
    process = subprocess.Popen(
        [sys.executable, "-c", AFTER_A_NOTEBOOK]
        + [str(tests), str(tmp_path), str(tiny_data), str(parameters)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the batch did not finish in 150 s: its workers hang\n{output[-2000:]}")
    assert process.returncode == 0, output[-3000:]
    assert "statuses: ['ok', 'ok', 'ok']" in output, output[-3000:]
