"""`workbench run --executor slurm` on a real single-node Slurm (munged, slurmctld and slurmd on
127.0.0.1, started and stopped here): every job runs inside a Slurm allocation, the outputs are
the local pool's, and no Slurm job is left behind, also when one is cancelled mid-run.

Needs Debian's slurm-wlm and munge (``.ci/run`` installs them). Without them the test skips
with the reason, except under CI (CI=true), where it fails; a Slurm that is installed but does
not start always fails, with the daemons' logs in the message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from batch_helpers import FAST_PRELOAD, assert_same_outputs, jobs_by_id, read_manifest

# one test process runs the Dask and Slurm tests: their session's local-pool grid (ok_grid_run)
# and the Slurm daemons (module fixture) are then set up once, not on both test processes
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster-executors")]

DAEMONS = ("munged", "slurmctld", "slurmd")
COMMANDS = ("sbatch", "squeue", "scancel", "sinfo")


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


def node_resources() -> tuple[int, int]:
    """This machine's CPUs and memory (MB) as slurmd sees them."""
    found = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    cpus = int(re.search(r"CPUs=(\d+)", found).group(1))
    memory = int(re.search(r"RealMemory=(\d+)", found).group(1))
    return cpus, memory


SLURM_CONF = """\
ClusterName=workbench-test
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=2
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=workbench Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""


def daemon_logs(root: Path) -> str:
    parts = []
    for log in [*sorted((root / "log").glob("*.log")), root / "munge" / "munged.log"]:
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-30:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
    return "\n".join(parts) or "(no daemon logs were written)"


def squeue(*args: str) -> list[str]:
    done = subprocess.run(["squeue", "-h", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A single-node Slurm of this test's own on 127.0.0.1 (state and spool in tmp); SLURM_CONF
    points sbatch, squeue and scancel at it. Every daemon is stopped by its pid afterwards."""
    missing = [name for name in DAEMONS + COMMANDS if shutil.which(name) is None]
    if missing:
        reason = (
            f"Slurm is not installed ({', '.join(missing)} missing): "
            "apt-get install slurm-wlm munge (.ci/run does)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("slurm")
    for folder in ("munge", "state", "spool", "log"):
        (root / folder).mkdir()
    os.chmod(root / "munge", 0o755)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(128))
    os.chmod(key, 0o600)
    cpus, memory = node_resources()
    conf = root / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            root=root, ctld_port=free_port(), slurmd_port=free_port(), cpus=cpus, memory=memory
        )
    )
    previous_conf = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)
    daemons: list[subprocess.Popen] = []

    def start(*command: str) -> None:
        daemons.append(
            subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    try:
        munge = root / "munge"
        start(
            "munged",
            "--foreground",
            "--force",
            f"--key-file={key}",
            f"--socket={munge / 'munge.socket'}",
            f"--pid-file={munge / 'munged.pid'}",
            f"--seed-file={munge / 'munged.seed'}",
            f"--log-file={munge / 'munged.log'}",
        )
        started = time.monotonic()
        try:
            wait_for(lambda: (munge / "munge.socket").exists(), 20, "munged's socket")
            start("slurmctld", "-D", "-f", str(conf))
            start("slurmd", "-D", "-f", str(conf), "-N", "localhost")

            def node_idle():
                done = subprocess.run(
                    ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10
                )
                return done.returncode == 0 and done.stdout.strip() == "idle"

            wait_for(node_idle, 60, "the Slurm node to be idle")
        except AssertionError as exc:
            pytest.fail(f"Slurm did not start: {exc}\n{daemon_logs(root)}")
        yield SimpleNamespace(conf=conf, root=root, start_s=time.monotonic() - started)
    finally:
        if shutil.which("scancel") and daemons:
            subprocess.run(["scancel", "--partition=workbench"], capture_output=True, timeout=30)
        for daemon in reversed(daemons):
            daemon.send_signal(signal.SIGTERM)
        for daemon in reversed(daemons):
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        if previous_conf is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous_conf
        shutil.rmtree(root, ignore_errors=True)


def slurm_grid(tmp_path: Path, settings, **cluster) -> tuple[list[str], Path]:
    """`workbench run --executor slurm` arguments for the reference grid, with a
    parameters/cluster.yml that keeps the scheduler on 127.0.0.1 (and ``cluster`` added)."""
    parameters = tmp_path / "parameters"
    shutil.copytree(settings.parameters_dir, parameters)
    values = {"scheduler_options": {"host": "127.0.0.1"}, **cluster}
    (parameters / "cluster.yml").write_text(json.dumps(values), encoding="utf-8")
    out = tmp_path / "slurm-run"
    arguments = [
        sys.executable,
        "-m",
        "evaluation.cli",
        "run",
        "--no-data-check",
        "--data",
        str(settings.data_dir),
        "--out",
        str(out),
        "--notebooks",
        str(settings.notebooks_dir),
        "--parameters",
        str(parameters),
        "--executor",
        "slurm",
        "--slurm-jobs",
        "2",
        "--slurm-memory",
        "1GB",
        "--slurm-walltime",
        "00:20:00",
        "--preload",
        ",".join(FAST_PRELOAD),
        "--timeout",
        "120",
        "--no-progress",
    ]
    return arguments, out


def check_run(out: Path, local) -> dict:
    run_dir = (out / "latest").resolve()
    manifest = read_manifest(run_dir)
    jobs = jobs_by_id(manifest)
    assert {job["status"] for job in jobs.values()} == {"ok"}, manifest["jobs"]
    for job in jobs.values():
        assert job["slurm_job_id"], f"{job['job_id']} ran outside a Slurm allocation"
        assert job["worker_host"] == socket.gethostname()
    # the CLI starts in another folder than the in-process reference run, so Run details name the
    # data folder differently; everything the reader sees above them must be equal
    assert_same_outputs(local, SimpleNamespace(run_dir=run_dir), run_details=False)
    assert squeue() == [], "a Slurm job of the run is still listed after it ended"
    return jobs


def test_slurm_runs_every_job_inside_an_allocation_and_leaves_no_job(tmp_path, ok_grid_run, slurm):
    settings, local = ok_grid_run
    arguments, out = slurm_grid(tmp_path, settings)
    done = subprocess.run(arguments, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr + daemon_logs(slurm.root)
    assert "3 completed, 0 failed" in done.stdout
    jobs = check_run(out, local)
    assert len({job["slurm_job_id"] for job in jobs.values()}) <= 2
    manifest = read_manifest((out / "latest").resolve())
    assert manifest["settings"]["slurm"]["jobs"] == 2
    assert manifest["settings"]["slurm"]["from"].endswith("cluster.yml")


def test_a_cancelled_slurm_job_means_one_retry_and_no_job_left(tmp_path, ok_grid_run, slurm):
    """scancel of the Slurm job whose worker runs the slow region, mid-run: the region runs again
    in the other job, the outputs are still the local pool's and Slurm lists nothing after."""
    settings, local = ok_grid_run
    scratch = tmp_path / "worker-scratch"
    arguments, out = slurm_grid(tmp_path, settings, local_directory=str(scratch))
    runner = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:

        def slow_region_running():
            # a worker makes a folder of its own for each job it runs (see execute.scratch_root)
            for folder in scratch.rglob("10_tiny_region--hovedstaden-*"):
                pid = re.search(r"evaluation-jobs-(\d+)", str(folder))
                try:
                    environ = Path(f"/proc/{pid.group(1)}/environ").read_bytes().split(b"\0")
                except (FileNotFoundError, AttributeError):
                    continue
                for variable in environ:
                    if variable.startswith(b"SLURM_JOB_ID="):
                        return variable.split(b"=", 1)[1].decode()
            return None

        cancelled = wait_for(slow_region_running, 300, "the slow region to start in a Slurm job")
        subprocess.run(["scancel", cancelled], check=True, timeout=30)
        output, _ = runner.communicate(timeout=600)
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            runner.wait(timeout=120)
    assert runner.returncode == 0, output.decode(errors="replace") + daemon_logs(slurm.root)
    jobs = check_run(out, local)
    slow = jobs["10_tiny_region--hovedstaden"]
    assert [attempt["slurm_job_id"] for attempt in slow["lost_attempts"]] == [cancelled]
    assert slow["slurm_job_id"] != cancelled


def test_ctrl_c_cancels_every_slurm_job_of_the_run(tmp_path, ok_grid_run, slurm):
    settings, _ = ok_grid_run
    scratch = tmp_path / "worker-scratch"
    arguments, out = slurm_grid(tmp_path, settings, local_directory=str(scratch))
    runner = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: list(scratch.rglob("10_tiny_region--*")), 300, "a notebook to start in Slurm"
        )
        assert len(squeue("-t", "RUNNING")) == 2
        runner.send_signal(signal.SIGINT)
        output, _ = runner.communicate(timeout=180)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert runner.returncode != 0
    assert squeue() == [], output.decode(errors="replace")
    assert not (out / "latest").exists(), "latest points only at finished runs"
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    manifest = read_manifest(run_dir)
    assert manifest["status"] == "running", "an interrupted run stays resumable"
