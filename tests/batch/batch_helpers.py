"""Plain helpers for the batch tests (importable; conftest.py holds the fixtures)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REGIONS = ("hovedstaden", "sjaelland", "syddanmark", "midtjylland", "nordjylland")
# a name from the data with markup in it: reports must show it as text
EVIL_LABEL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
# the tiny notebooks need only these; preloading statsmodels etc. would cost seconds per kernel
FAST_PRELOAD = ("pandas", "matplotlib.pyplot", "evaluation.batch.record")
# the index's job log (in "Run details"): one row per job, id job-<job_id>, data-status
JOB_ROWS = "//table[contains(@class, 'wb-job-log')]/tbody/tr"


def write_parameters(folder: Path, regions=REGIONS[:3], **per_region: dict) -> Path:
    """One YAML file per region; ``per_region[slug]`` adds or overrides values."""
    folder.mkdir(parents=True, exist_ok=True)
    for slug in regions:
        values = {"region": slug, "indicator": "nsaid", **per_region.get(slug, {})}
        (folder / f"{slug}.yml").write_text(
            yaml.safe_dump(values, allow_unicode=True), encoding="utf-8"
        )
    return folder


def read_manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def jobs_by_id(manifest: dict) -> dict:
    return {job["job_id"]: job for job in manifest["jobs"]}


def comparable_outputs(path: Path) -> list:
    """Cell sources and outputs of an executed notebook, without timings, pids or ids."""
    import nbformat

    from evaluation.batch.record import RECORD_MIME

    nb = nbformat.read(str(path), as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "injected-parameters" in cell.metadata.get("tags", []):
            continue  # the injected cell names the run folder, which differs
        outputs = []
        for output in cell.outputs:
            data = output.get("data", {})
            if RECORD_MIME in data:  # compared through the manifest's records instead
                continue
            text = output.get("text") or data.get("text/plain")
            if output.get("output_type") == "stream" and "kernel process" in (text or ""):
                text = re.sub(r"kernel process \d+", "kernel process (pid)", text)
            outputs.append(
                (output["output_type"], text, data.get("text/html"), output.get("ename"))
            )
        cells.append((cell.source, outputs))
    return cells


def comparable_report(path: Path, run_dir: Path, run_details: bool = True) -> str:
    """A report's visible text without what differs between two runs of the same grid: the
    run folder's path, times, durations and kernel process ids (and, with ``run_details=False``,
    the Run details section, which names the data folder relative to where the run started)."""
    import lxml.html

    root = lxml.html.parse(str(path)).getroot()
    for element in root.xpath("//style | //script"):
        element.drop_tree()
    if not run_details:
        for element in root.xpath("//details[@id='run-details']"):
            element.drop_tree()
    text = " ".join(root.text_content().split())
    text = text.replace(str(run_dir), "RUN_DIR").replace(run_dir.name, "RUN_ID")
    text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", "TIME", text)
    text = re.sub(r"duration ?\d+(\.\d+)? s", "duration N s", text)
    # the report's header names the run's time in words ("30 Nov 2026, 22:39")
    text = re.sub(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", "TIME", text)
    return re.sub(r"kernel process \d+", "kernel process (pid)", text)


#: records that differ between any two runs (a kernel's process id)
RUN_SPECIFIC_RECORDS = ("kernel_pid",)


def executed_notebook(run_dir: Path, job: dict) -> Path:
    """A job's executed notebook: in the run folder, or, for a report the disclosure check
    blocked, withheld beside it (outputs/withheld/<run-id>/)."""
    if job.get("notebook_out"):
        return run_dir / job["notebook_out"]
    return run_dir.parent / job["withheld"]


def assert_same_outputs(local, remote, run_details: bool = True) -> None:
    """Two outcomes of the same grid (same run id, different --out) agree: jobs, statuses,
    errors, fingerprints, records, the executed notebooks' outputs and the reports' text."""
    local_jobs = jobs_by_id(read_manifest(local.run_dir))
    remote_jobs = jobs_by_id(read_manifest(remote.run_dir))
    assert list(local_jobs) == list(remote_jobs)
    for job_id, job in local_jobs.items():
        other = remote_jobs[job_id]
        assert (other["status"], other["error"]) == (job["status"], job["error"]), job_id
        assert other["fingerprint"] == job["fingerprint"], job_id
        mine = {k: v for k, v in job["records"].items() if k not in RUN_SPECIFIC_RECORDS}
        theirs = {k: v for k, v in other["records"].items() if k not in RUN_SPECIFIC_RECORDS}
        assert theirs == mine, job_id
        assert comparable_outputs(executed_notebook(remote.run_dir, other)) == comparable_outputs(
            executed_notebook(local.run_dir, job)
        ), job_id
        assert (other["report"] is None) == (job["report"] is None), job_id
        if job["report"]:
            assert comparable_report(
                remote.run_dir / other["report"], remote.run_dir, run_details
            ) == comparable_report(local.run_dir / job["report"], local.run_dir, run_details), (
                job_id
            )
