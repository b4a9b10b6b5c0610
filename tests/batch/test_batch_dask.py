"""The grid on Dask: a LocalCluster, and a scheduler and workers started as separate commands
elsewhere (another folder, another HOME), give the local pool's outputs; workers with another
environment are refused; a job whose worker is killed mid-run runs again on another."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from batch_helpers import FAST_PRELOAD, assert_same_outputs, jobs_by_id, read_manifest

from evaluation.batch.runner import run_batch

# one test process runs the Dask and Slurm tests: their session's local-pool grid (ok_grid_run)
# and the Slurm daemons (module fixture) are then set up once, not on both test processes
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster-executors")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def dask_processes(tmp_path):
    """`dask scheduler` and two `dask worker` commands on 127.0.0.1, started from a folder and
    a HOME of their own: nothing of the client's working folder is visible to them by accident."""
    dask = Path(sys.executable).parent / "dask"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "home").mkdir(parents=True)
    env = {**os.environ, "HOME": str(elsewhere / "home")}
    address = f"tcp://127.0.0.1:{free_port()}"
    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, *args: str) -> None:
        with open(elsewhere / f"{name}.log", "wb") as log:
            processes[name] = subprocess.Popen(
                [str(dask), *args],
                cwd=elsewhere,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the teardown ends it all
            )

    start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1])
    for name in ("worker-1", "worker-2"):
        start(
            name,
            "worker",
            address,
            "--nthreads",
            "1",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
            "--name",
            name,
            "--local-directory",
            str(elsewhere / name),
        )
    from distributed import Client

    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
        yield address, elsewhere, processes
    finally:
        for process in reversed(processes.values()):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_separate_scheduler_and_workers_give_the_local_pools_outputs(
    tmp_path, ok_grid_run, dask_processes
):
    settings, local = ok_grid_run
    address, elsewhere, _ = dask_processes
    remote = run_batch(
        replace(settings, out_dir=tmp_path / "dask", executor="dask", scheduler=address)
    )
    assert remote.ok, remote.manifest["jobs"]
    assert_same_outputs(local, remote)
    jobs = jobs_by_id(read_manifest(remote.run_dir))
    local_pids = {job["worker_pid"] for job in jobs_by_id(read_manifest(local.run_dir)).values()}
    for job in jobs.values():
        assert job["worker"].startswith("tcp://127.0.0.1:") and job["worker_pid"] not in local_pids
        assert job["worker_host"] == socket.gethostname() and job["lost_attempts"] == []
    assert remote.manifest["workers_refused"] == []
    # the workers wrote nothing of the run: every output is in the client's run folder
    assert not [p for p in elsewhere.rglob("*") if p.suffix in (".ipynb", ".html")]


def test_a_job_whose_worker_is_killed_runs_again_on_the_other(
    tmp_path, ok_grid_run, dask_processes
):
    """SIGKILL to the worker process running the slow region: the job runs once more on the
    other worker, and the outputs are still the local pool's."""
    import threading

    from distributed import Client

    settings, local = ok_grid_run
    address, _, _ = dask_processes
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.update(
            remote=run_batch(
                replace(settings, out_dir=tmp_path / "dask", executor="dask", scheduler=address)
            )
        )
    )
    with Client(address, timeout="30s") as client:
        runner.start()

        def slow_job_running():
            for worker, keys in client.processing().items():
                if any("hovedstaden" in str(key) for key in keys):
                    started = client.run(
                        lambda dask_worker: any(
                            "hovedstaden" in str(key) for key in dask_worker.state.executing
                        ),
                        workers=[worker],
                    )
                    if started.get(worker):
                        return worker
            return None

        victim = wait_for(slow_job_running, 180, "the slow region to start on a worker")
        pid = client.run(os.getpid, workers=[victim])[victim]
        time.sleep(2)  # well inside its six seconds of sleep
        os.kill(pid, signal.SIGKILL)
        runner.join(timeout=300)
    remote = outcome["remote"]
    assert remote.ok, remote.manifest["jobs"]
    assert_same_outputs(local, remote)
    jobs = jobs_by_id(read_manifest(remote.run_dir))
    lost = jobs["10_tiny_region--hovedstaden"]["lost_attempts"]
    assert [attempt["worker"] for attempt in lost] == [victim]
    assert jobs["10_tiny_region--hovedstaden"]["worker"] != victim


def test_local_cluster_gives_the_same_outputs_and_failures(tmp_path, grid_run):
    """The grid with a failing region on a real Dask LocalCluster: failures, errors and the
    failing cell's report match the local pool's too."""
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
        # The client refreshes a cached scheduler identity every few seconds, listing no
        # workers. A refresh landing just before the executor looked once made every worker
        # seem lost (CI): the executor must ask the scheduler, never read that cache.
        from evaluation.batch.cluster import DaskExecutor

        executor = DaskExecutor(cluster.scheduler_address, "evaluation", FAST_PRELOAD, 5)
        try:
            client = executor.client
            refresh = client._update_scheduler_info
            client._update_scheduler_info = lambda n_workers=0: refresh(n_workers=0)
            client.sync(client._update_scheduler_info)
            assert len(executor._workers_now()) == 2
        finally:
            executor.close()
    assert {j["job_id"]: j["status"] for j in remote.manifest["jobs"]} == {
        "10_tiny_region--hovedstaden": "ok",
        "10_tiny_region--sjaelland": "ok",
        "10_tiny_region--syddanmark": "failed",
        "00_tiny_summary": "ok",
    }
    assert_same_outputs(local, remote)
    assert (remote.run_dir / "index.html").is_file()


def test_workers_with_another_environment_are_refused_with_both_versions_named():
    from distributed import Client, LocalCluster

    from evaluation.batch.cluster import ClusterError, DaskExecutor
    from evaluation.batch.remote import environment_versions

    ours = environment_versions()
    other = {**ours, "papermill": "0.0.1"}  # the client as if it had another papermill
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        with pytest.raises(ClusterError) as refused:
            DaskExecutor(cluster.scheduler_address, "evaluation", FAST_PRELOAD, 5, expected=other)
        message = str(refused.value)
        assert f"papermill {ours['papermill']} there, 0.0.1 here" in message
        assert "Refused Dask worker tcp://127.0.0.1:" in message and "README" in message
        with Client(cluster.scheduler_address) as client:
            # the scheduler's own answer: the client's cached scheduler_info() lists no workers
            # whenever its periodic refresh has just run, which would pass this wait too early
            def workers_left():
                return not client.sync(client.scheduler.identity, n_workers=-1)["workers"]

            wait_for(workers_left, 60, "the worker to leave")

        # a worker that joins later is refused by the check installed on the scheduler
        executor = DaskExecutor(
            cluster.scheduler_address, "evaluation", FAST_PRELOAD, 5, expected=other
        )
        try:
            cluster.scale(2)
            wait_for(lambda: executor.refused, 120, "the new worker to be refused")
            assert f"papermill {ours['papermill']} there, 0.0.1 here" in executor.refused[0]
        finally:
            executor.close()
