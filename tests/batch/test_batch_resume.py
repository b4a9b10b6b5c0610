"""The runner killed with SIGKILL mid-batch, then --resume: nothing corrupt, the rest finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lxml.html
import pytest
from batch_helpers import FAST_PRELOAD, JOB_ROWS, jobs_by_id, read_manifest, write_parameters

pytestmark = pytest.mark.slow


def workbench(*args: str, **popen) -> subprocess.Popen:
    # tiny_data is one CSV, not a canonical data folder: no data check
    command = [sys.executable, "-m", "evaluation.cli", "run", "--no-data-check", *args]
    return subprocess.Popen(command, **popen)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def the_run(out: Path) -> Path | None:
    """The one run folder under ``out`` (``latest`` points at a run only once it finished)."""
    runs = [p for p in out.glob("*") if p.is_dir() and not p.is_symlink()] if out.exists() else []
    return runs[0] if len(runs) == 1 else None


def manifest_or_none(out: Path):
    try:
        return read_manifest(the_run(out))
    except (FileNotFoundError, TypeError, json.JSONDecodeError):
        return None


def test_sigkill_mid_batch_then_resume(tmp_path, tiny_data, notebooks_dir):
    params = write_parameters(
        tmp_path / "parameters",
        ["hovedstaden", "sjaelland", "syddanmark"],
        sjaelland={"behaviour": "raise"},
        syddanmark={"behaviour": "sleep", "sleep_s": 300.0},
    )
    out = tmp_path / "outputs"
    common = [
        "--data",
        str(tiny_data),
        "--out",
        str(out),
        "--notebooks",
        str(notebooks_dir),
        "--parameters",
        str(params),
        "--workers",
        "2",
        "--no-progress",
        "--timeout",
        "600",
        "--preload",
        ",".join(FAST_PRELOAD),
    ]
    # the workers' scratch folders (job folders, executed notebooks) go in a folder of our own
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    runner = workbench(
        *common,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    try:

        def two_finished_one_sleeping():
            manifest = manifest_or_none(out)
            if manifest is None:
                return None
            jobs = jobs_by_id(manifest)
            done = (
                jobs["10_tiny_region--hovedstaden"]["status"] == "ok"
                and jobs["10_tiny_region--sjaelland"]["status"] == "failed"
            )
            sleeping = list((the_run(out) / "notebooks").glob(".10_tiny_region--syddanmark*"))
            # index.html is rewritten just after manifest.json: wait for it too, so the kill lands
            # mid-batch with both published (a kill between the two leaves an older, complete index)
            index_path = the_run(out) / "index.html"
            if not (done and sleeping and index_path.exists()):
                return None
            rows = lxml.html.parse(str(index_path)).getroot().xpath(JOB_ROWS)
            shown = {r.get("id"): r.get("data-status") for r in rows}
            indexed = (
                shown.get("job-10_tiny_region--hovedstaden") == "ok"
                and shown.get("job-10_tiny_region--sjaelland") == "failed"
            )
            return manifest if indexed else None

        manifest = wait_for(
            two_finished_one_sleeping, 180, "two notebooks to finish and the third to start"
        )
        # a run in progress is found under its run id, not as latest
        assert not (out / "latest").exists()
        # a second --resume of the running run stops at once, naming the pid that holds it
        second = workbench(*common, "--resume", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output, _ = second.communicate(timeout=120)
        output = output.decode()
        assert second.returncode == 1, output
        assert f"already running (pid {runner.pid}" in output and "Traceback" not in output
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    run_dir = the_run(out)
    assert not (out / "latest").exists(), "latest never points at an interrupted run"
    worker_pids = {job["worker_pid"] for job in manifest["jobs"] if job.get("worker_pid")}
    wait_for(lambda: not any(alive(pid) for pid in worker_pids), 30, "the orphaned workers to exit")
    # and nothing of their jobs stays in the temporary folder
    assert [p.name for p in temporary.glob("evaluation-jobs-*")] == []

    # nothing corrupt: every published file is complete, unfinished work is marked as such
    manifest = read_manifest(run_dir)
    jobs = jobs_by_id(manifest)
    assert manifest["status"] == "running"
    assert [jobs[j]["status"] for j in jobs] == ["ok", "failed", "pending", "pending"]
    assert sorted(p.name for p in (run_dir / "reports").iterdir()) == [
        "10_tiny_region--hovedstaden.html",
        "10_tiny_region--sjaelland.html",
    ]
    for report in (run_dir / "reports").iterdir():
        assert report.read_text(encoding="utf-8").rstrip().endswith("</html>")
    index = lxml.html.parse(str(run_dir / "index.html")).getroot()
    assert {r.get("id"): r.get("data-status") for r in index.xpath(JOB_ROWS)} == {
        "job-10_tiny_region--hovedstaden": "ok",
        "job-10_tiny_region--sjaelland": "failed",
        "job-10_tiny_region--syddanmark": "pending",
        "job-00_tiny_summary": "pending",
    }
    assert "interrupted" in index.xpath("//p[contains(@class, 'wb-banner')]")[0].text_content()
    kept_report = run_dir / "reports" / "10_tiny_region--hovedstaden.html"
    kept_mtime = kept_report.stat().st_mtime_ns

    # fix the failing region, let the slow one be quick, and resume
    write_parameters(params, ["sjaelland"], sjaelland={})
    write_parameters(params, ["syddanmark"], syddanmark={})
    resumed = workbench(
        *common, "--resume", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert "4 completed, 0 failed" in output
    manifest = read_manifest(run_dir)
    jobs = jobs_by_id(manifest)
    assert (out / "latest").resolve() == run_dir, "resume continues the same run"
    assert manifest["status"] == "finished"
    assert {j: jobs[j]["status"] for j in jobs} == dict.fromkeys(jobs, "ok")
    assert [j for j in jobs if jobs[j]["reused"]] == ["10_tiny_region--hovedstaden"]
    assert kept_report.stat().st_mtime_ns == kept_mtime, (
        "an unchanged finished report is not redone"
    )
    assert not list(run_dir.rglob("*.tmp-*"))
    summary = jobs["00_tiny_summary"]["records"]["regions_seen"]["value"]
    assert summary == ["hovedstaden", "sjaelland", "syddanmark"]

    # resume again after changing one region's parameters: only it (and the summary) re-run
    write_parameters(params, ["hovedstaden"], hovedstaden={"cluster_label": "Klynge Øst"})
    again = workbench(
        *common, "--resume", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output
    jobs = jobs_by_id(read_manifest(run_dir))
    assert sorted(j for j in jobs if not jobs[j]["reused"]) == [
        "00_tiny_summary",
        "10_tiny_region--hovedstaden",
    ]
    assert "Klynge Øst" in (run_dir / jobs["10_tiny_region--hovedstaden"]["report"]).read_text(
        encoding="utf-8"
    )


def test_resume_without_a_run_says_so(tmp_path, tiny_data, notebooks_dir):
    params = write_parameters(tmp_path / "parameters", ["hovedstaden"])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "evaluation.cli",
            "run",
            "--no-data-check",
            "--data",
            str(tiny_data),
            "--out",
            str(tmp_path / "out"),
            "--notebooks",
            str(notebooks_dir),
            "--parameters",
            str(params),
            "--resume",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Nothing to resume" in result.stderr and "Run without --resume first" in result.stderr


def test_hostile_ctrl_c_stops_workers_quietly_with_one_line(tmp_path, tiny_data, notebooks_dir):
    """Issue 14: Ctrl-C printed ~88 lines of worker tracebacks. The terminal sends SIGINT to the
    whole foreground group (runner and pool workers): here, too, via killpg."""
    params = write_parameters(
        tmp_path / "parameters",
        ["hovedstaden", "sjaelland"],
        hovedstaden={"behaviour": "sleep", "sleep_s": 300.0},
        sjaelland={"behaviour": "sleep", "sleep_s": 300.0},
    )
    out = tmp_path / "outputs"
    runner = workbench(
        "--data",
        str(tiny_data),
        "--out",
        str(out),
        "--notebooks",
        str(notebooks_dir),
        "--parameters",
        str(params),
        "--workers",
        "2",
        "--no-progress",
        "--preload",
        ",".join(FAST_PRELOAD),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: the_run(out) and list((the_run(out) / "notebooks").glob(".10_tiny_region*")),
            180,
            "both notebooks to start",
        )
        os.killpg(runner.pid, signal.SIGINT)
        output, _ = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    output = output.decode(errors="replace")
    assert runner.returncode == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--resume" in lines[0], output
    assert read_manifest(the_run(out))["status"] == "running", "the run stays resumable"
    assert not (the_run(out) / ".lock").exists(), "the lock is released"

    def processes_of_the_run() -> list[int]:
        # pool workers are forks of the runner: their command line names this test's data folder
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if str(tiny_data).encode() in cmdline.read_bytes():
                    found.append(int(cmdline.parent.name))
            except OSError:
                continue
        return [pid for pid in found if alive(pid)]

    wait_for(lambda: not processes_of_the_run(), 30, "the workers to exit")
