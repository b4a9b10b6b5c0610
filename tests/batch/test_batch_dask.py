"""The same grid on a real Dask LocalCluster (on 127.0.0.1) gives the same outputs as the local
pool."""

from __future__ import annotations

import nbformat
import pytest
from batch_helpers import jobs_by_id, read_manifest

from evaluation.batch.record import RECORD_MIME
from evaluation.batch.runner import run_batch

pytestmark = pytest.mark.slow


def comparable_outputs(path):
    """Cell sources and outputs of an executed notebook, without timings, pids or ids."""
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
                text = "kernel process (pid)"
            outputs.append(
                (output["output_type"], text, data.get("text/html"), output.get("ename"))
            )
        cells.append((cell.source, outputs))
    return cells


def test_dask_cluster_gives_the_same_outputs_as_the_local_pool(tmp_path, grid_run):
    from dataclasses import replace

    from distributed import LocalCluster

    settings, local = grid_run
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = run_batch(
            replace(
                settings,
                out_dir=tmp_path / "dask",
                executor="dask",
                scheduler=cluster.scheduler_address,
            )
        )
    local_jobs = jobs_by_id(read_manifest(local.run_dir))
    dask_jobs = jobs_by_id(read_manifest(remote.run_dir))
    assert list(local_jobs) == list(dask_jobs)
    assert {j: dask_jobs[j]["status"] for j in dask_jobs} == {
        "10_tiny_region--hovedstaden": "ok",
        "10_tiny_region--sjaelland": "ok",
        "10_tiny_region--syddanmark": "failed",
        "00_tiny_summary": "ok",
    }
    local_pids = {job["worker_pid"] for job in local_jobs.values()}
    assert not local_pids & {job["worker_pid"] for job in dask_jobs.values()}, (
        "Dask's own workers ran them"
    )
    for job_id, job in local_jobs.items():
        other = dask_jobs[job_id]
        assert other["status"] == job["status"]
        assert other["error"] == job["error"]
        assert other["fingerprint"] == job["fingerprint"]
        records = {k: v for k, v in job["records"].items() if k not in ("kernel_pid", "statuses")}
        assert {
            k: v for k, v in other["records"].items() if k not in ("kernel_pid", "statuses")
        } == records
        assert comparable_outputs(remote.run_dir / other["notebook_out"]) == comparable_outputs(
            local.run_dir / job["notebook_out"]
        )
        assert (other["report"] is None) == (job["report"] is None)
    assert (remote.run_dir / "index.html").is_file()
