"""The grid on other machines: Dask workers anywhere, Slurm through dask-jobqueue.

``workbench run --executor dask --scheduler tcp://HOST:8786`` sends every notebook job to the
workers of a running dask.distributed scheduler (:class:`DaskExecutor`);
``workbench run --executor slurm`` starts a ``dask_jobqueue.SLURMCluster`` of its own, scales it
to the asked number of Slurm jobs, runs the grid and cancels every one of those jobs at the end,
on failure, on Ctrl-C and on SIGTERM/SIGHUP (:class:`SlurmExecutor`).

What a worker needs, and what it does not:

- **The project's environment** (the same lock file: the checkout's ``.venv`` on shared storage,
  or a conda env made from ``environment.yml``), with the ``evaluation`` Jupyter kernel. At
  connect time every worker is asked for its Python, evaluation (version and a digest of the
  package's source), papermill and nbconvert versions; one that differs from the client is
  refused, with both versions named (:class:`WorkerCheck`; also for workers that join later).
- **The data at the same absolute path** as on the client (a shared file system, as on every
  HPC cluster). The worker checks before the run and a job fails with the worker's host and the
  missing path if it cannot see it.
- **No checkout and no write access to the outputs**: a job carries the notebook's text, its
  parameters and (for a summary) a copy of the run's manifest; the executed notebook, its report
  and its records come back, and the client writes every output (:mod:`evaluation.batch.execute`).

Failure isolation: a worker lost while it runs a job (its Slurm job cancelled, its process
killed, its node gone) means the job runs once more on another worker; if that worker is lost
too, the job is marked failed with both losses named. Dask reschedules a lost task by itself;
the client counts the losses (each start of a job is announced as an event) and stops after the
second, whatever the scheduler's ``allowed-failures`` says.

Example (a scheduler and workers started by hand, then the grid; see the README)::

    dask scheduler --host 10.0.0.5 --port 8786          # on one node
    dask worker tcp://10.0.0.5:8786 --nthreads 1        # on each worker node, project env
    workbench run --executor dask --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from evaluation.batch.errors import BatchError
from evaluation.batch.remote import (
    EVENT_REFUSED,
    EVENT_STARTED,
    PLUGIN_NAME,
    EnvironmentMismatch,
    WorkerCheck,
    environment_versions,
    refusal,
    run_remote_job,
    version_differences,
)

#: the optional file beside the region files with the Slurm cluster's settings
CLUSTER_FILE = "cluster.yml"
#: how often a job may lose its worker mid-run before it is marked failed (1 loss = 1 retry)
MAX_LOST_WORKERS = 2

SLURM_DEFAULTS: dict[str, Any] = {
    "queue": None,  # Slurm's default partition
    "jobs": 2,
    "walltime": "01:00:00",
    "memory": "4GB",
    "cores": 1,
    "processes": 1,
}
#: cluster.yml keys besides SLURM_DEFAULTS', passed to dask_jobqueue.SLURMCluster as they are
SLURM_PASSTHROUGH = (
    "account",
    "interface",
    "job_extra_directives",
    "job_script_prologue",
    "job_directives_skip",
    "worker_extra_args",
    "scheduler_options",
    "local_directory",
    "log_directory",
    "death_timeout",
    "python",
)
_WALLTIME = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){0,2}$|^\d+$")


class ClusterError(BatchError):
    """The cluster cannot run the batch: bad Slurm options, no scheduler, refused workers."""


# --- executors ---------------------------------------------------------------------------------


def _failed(job_id: str, error: str, **extra) -> dict[str, Any]:
    return {"job_id": job_id, "status": "failed", "error": error, **extra}


def _where(start: dict[str, Any]) -> str:
    slurm = f", Slurm job {start['slurm_job_id']}" if start.get("slurm_job_id") else ""
    return f"{start.get('worker')} on host {start.get('worker_host')}{slurm}"


class DaskExecutor:
    """Notebook jobs on the workers of a dask.distributed scheduler.

    ``cluster`` is a scheduler address (``tcp://host:8786``) or a cluster object (a
    ``SLURMCluster``). ``expected`` are the versions workers must have (the client's).
    The runner drives it with ``submit``, ``results``, ``running``, ``workers``, ``close``, and
    shows the lines it appends to ``messages``; ``refused`` lists the refused workers.
    """

    remote = True

    def __init__(
        self,
        cluster,
        kernel_name: str,
        preload,
        threshold: int,
        expected: dict[str, str] | None = None,
        connect_timeout: str = "30s",
    ):
        from distributed import Client

        where = cluster if isinstance(cluster, str) else getattr(cluster, "scheduler_address", "")
        try:
            self.client = Client(cluster, timeout=connect_timeout)
        except OSError as exc:
            raise ClusterError(
                f"Could not reach the Dask scheduler at {where}: {exc}. Start one with "
                "`dask scheduler` (or use --executor slurm) and pass its address, e.g. "
                "tcp://host:8786."
            ) from exc
        self.address = where
        self.expected = dict(expected or environment_versions())
        self.refused: list[str] = []
        self.messages: list[str] = []
        self.futures: dict = {}  # future -> job payload
        self.run_info: dict[str, Any] = {}
        self.starts: dict[str, list[dict]] = defaultdict(list)  # job_id -> announced starts
        self.lost: dict[str, list[dict]] = defaultdict(list)  # job_id -> attempts lost
        self.lock = threading.Lock()
        self.worker_addresses: set[str] = set()
        try:
            self.client.subscribe_topic(EVENT_STARTED, self._on_started)
            self.client.subscribe_topic(EVENT_REFUSED, self._on_refused)
            self._check_workers(kernel_name, preload, threshold)
        except BaseException:
            self.client.close()
            raise

    # events arrive on the client's event-loop thread
    def _on_started(self, event) -> None:
        _, message = event
        with self.lock:
            self.starts[message["job_id"]].append(dict(message))

    def _on_refused(self, event) -> None:
        _, message = event
        with self.lock:
            if message["message"] not in self.refused:
                self.refused.append(message["message"])
                self.messages.append(message["message"])

    def _check_workers(self, kernel_name: str, preload, threshold: int) -> None:
        """Refuse the connected workers whose environment differs, then install the check for
        the workers that join later."""
        versions = self.client.run(environment_versions, on_error="return")
        hosts = self.client.run(socket.gethostname, on_error="return")
        bad = []
        for worker, theirs in versions.items():
            host = hosts.get(worker)
            host = host if isinstance(host, str) else "unknown"
            if isinstance(theirs, BaseException):
                why = f"it cannot run the workbench ({type(theirs).__name__}: {theirs})"
            else:
                differences = version_differences(self.expected, theirs)
                if not differences:
                    continue
                why = "; ".join(differences)
            bad.append(worker)
            self.refused.append(refusal(worker, host, why))
        self.messages.extend(self.refused)
        if bad:
            self.client.retire_workers(workers=bad, close_workers=True)
            if len(bad) == len(versions):
                raise ClusterError(
                    f"No Dask worker at {self.address} has this environment:\n  "
                    + "\n  ".join(self.refused)
                )
        try:
            self.client.register_plugin(
                WorkerCheck(self.expected, kernel_name, preload, threshold), name=PLUGIN_NAME
            )
        except EnvironmentMismatch:
            pass  # a refused worker joined meanwhile; its event names it
        self.worker_addresses = set(versions) - set(bad)

    def submit(self, job: dict[str, Any], run: dict[str, Any]) -> None:
        self.run_info = run
        future = self.client.submit(
            run_remote_job, job, run, pure=False, key=f"notebook-{job['job_id']}-{uuid.uuid4()}"
        )
        self.futures[future] = job

    def _workers_now(self) -> set[str]:
        # Ask the scheduler itself rather than read `client.scheduler_info()`: that returns the
        # client's cached identity, which the client's own periodic refresh overwrites with one
        # that lists no workers; read at the wrong moment, every worker looked lost (seen on CI).
        try:
            identity = self.client.sync(self.client.scheduler.identity, n_workers=-1)
            return set(identity["workers"])
        except Exception:  # the scheduler briefly busy: keep the last view
            return self.worker_addresses

    def _collect(self, future, job) -> dict[str, Any] | None:
        """The result of a finished future, or None if the job was sent again."""
        from distributed import KilledWorker

        job_id = job["job_id"]
        if future.status == "finished":
            return future.result()
        exception = future.exception() if future.status == "error" else None
        if isinstance(exception, KilledWorker):
            # the scheduler gave up after losing workers (its allowed-failures); the policy here
            # is ours: one retry after a worker lost mid-run
            self._note_lost(job_id, self._workers_now())
            if len(self.lost[job_id]) < MAX_LOST_WORKERS:
                self.messages.append(f"{job_id}: the scheduler gave up on it; sending it again.")
                self.submit(job, self.run_info)
                return None
            return _failed(job_id, self._lost_message(job_id))
        what = f"{type(exception).__name__}: {exception}" if exception else future.status
        return _failed(job_id, f"the worker running it failed: {what}")

    def _note_lost(self, job_id: str, workers: set[str]) -> bool:
        """Record the job's latest attempt as lost if its worker is gone; True if newly lost."""
        with self.lock:
            starts = list(self.starts.get(job_id, ()))
        if not starts:
            return False
        latest = starts[-1]
        if latest["worker"] in workers or any(
            lost["worker"] == latest["worker"] for lost in self.lost[job_id]
        ):
            return False
        self.lost[job_id].append(
            {key: latest.get(key) for key in ("worker", "worker_host", "slurm_job_id")}
        )
        return True

    def _lost_message(self, job_id: str) -> str:
        losses = " and then ".join(_where(lost) for lost in self.lost[job_id])
        return (
            f"its Dask worker was lost mid-run {len(self.lost[job_id])} times ({losses}): the "
            "worker's process was killed or its Slurm job ended (cancelled, out of memory or "
            "walltime). Not retried again; `workbench run --resume` runs it once more."
        )

    def results(self, timeout: float) -> list[dict[str, Any]]:
        from distributed import wait as dask_wait

        if self.futures:
            try:
                dask_wait(list(self.futures), timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
        else:
            time.sleep(timeout)
        finished = []
        for future, job in list(self.futures.items()):
            if future.done():
                del self.futures[future]
                result = self._collect(future, job)
                if result is not None:
                    result["lost_attempts"] = list(self.lost.get(job["job_id"], ()))
                    finished.append(result)
        workers = self._workers_now()
        self.worker_addresses = workers
        for future, job in list(self.futures.items()):
            job_id = job["job_id"]
            if not self._note_lost(job_id, workers):
                continue
            if len(self.lost[job_id]) >= MAX_LOST_WORKERS:
                del self.futures[future]
                future.cancel()
                finished.append(
                    _failed(job_id, self._lost_message(job_id), lost_attempts=self.lost[job_id])
                )
            else:
                self.messages.append(
                    f"lost {_where(self.lost[job_id][-1])} while it ran {job_id}: "
                    "running it again on another worker."
                )
        return finished

    def running(self) -> list[str]:
        with self.lock:
            started = {job_id: starts[-1]["worker"] for job_id, starts in self.starts.items()}
        return [
            job["job_id"]
            for job in self.futures.values()
            if started.get(job["job_id"]) in self.worker_addresses
            and not any(
                lost["worker"] == started[job["job_id"]] for lost in self.lost[job["job_id"]]
            )
        ]

    def workers(self) -> int:
        return len(self.worker_addresses)

    def close(self) -> None:
        for future in self.futures:
            future.cancel()
        self.futures.clear()
        try:
            self.client.close()
        except Exception:
            pass


# --- Slurm -------------------------------------------------------------------------------------


def slurm_options(
    path: Path | None = None,
    *,
    queue: str | None = None,
    jobs: int | None = None,
    walltime: str | None = None,
    memory: str | None = None,
) -> dict[str, Any]:
    """The Slurm cluster's settings: the given values over ``path`` (``parameters/cluster.yml``,
    optional) over :data:`SLURM_DEFAULTS`. Every problem is listed in one :class:`ClusterError`.

    >>> slurm_options(None, jobs=3, memory="2GB")["jobs"]
    3
    >>> slurm_options(None, walltime="two hours")
    Traceback (most recent call last):
    ...
    evaluation.batch.cluster.ClusterError: 1 problem(s) with the Slurm settings:
      - walltime 'two hours': expected Slurm's form, e.g. 02:00:00, 90 or 1-12:00:00.
    """
    import yaml
    from dask.utils import parse_bytes

    options = dict(SLURM_DEFAULTS)
    problems = []
    where = "the command line"
    if path is not None and Path(path).is_file():
        where = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ClusterError(f"{path}: not valid YAML ({exc}).") from None
        if not isinstance(loaded, dict):
            raise ClusterError(f"{path}: expected a mapping such as 'queue: short'.")
        allowed = (*SLURM_DEFAULTS, *SLURM_PASSTHROUGH)
        unknown = sorted(set(loaded) - set(allowed))
        if unknown:
            problems.append(
                f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}."
            )
        options.update({k: v for k, v in loaded.items() if k in allowed})
    given = {"queue": queue, "jobs": jobs, "walltime": walltime, "memory": memory}
    options.update({k: v for k, v in given.items() if v is not None})
    for key in ("jobs", "cores", "processes"):
        if not isinstance(options[key], int) or isinstance(options[key], bool) or options[key] < 1:
            problems.append(f"{key} {options[key]!r}: expected a whole number of at least 1.")
    if not _WALLTIME.match(str(options["walltime"])):
        problems.append(
            f"walltime {options['walltime']!r}: expected Slurm's form, e.g. 02:00:00, 90 or "
            "1-12:00:00."
        )
    try:
        parse_bytes(str(options["memory"]))
    except (ValueError, TypeError):
        problems.append(f"memory {options['memory']!r}: expected an amount such as 4GB or 500MB.")
    if options["queue"] is not None and not isinstance(options["queue"], str):
        problems.append(f"queue {options['queue']!r}: expected a partition name.")
    for key in ("job_extra_directives", "job_script_prologue", "worker_extra_args"):
        value = options.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            problems.append(f"{key}: expected a list of strings.")
    if options.get("scheduler_options") is not None and not isinstance(
        options["scheduler_options"], dict
    ):
        problems.append("scheduler_options: expected a mapping such as {host: 10.0.0.5}.")
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ClusterError(f"{len(problems)} problem(s) with the Slurm settings:\n{listing}")
    options["from"] = where
    return options


def _slurm_command(name: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [name, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def slurm_jobs_named(job_name: str) -> list[str]:
    """Ids of this user's Slurm jobs called ``job_name`` that Slurm still lists."""
    import getpass

    done = _slurm_command("squeue", "-h", "-u", getpass.getuser(), "-n", job_name, "-o", "%i")
    return done.stdout.split() if done.returncode == 0 else []


class SlurmExecutor(DaskExecutor):
    """A SLURMCluster of this run's own (Slurm jobs named ``workbench-<run-id>``), scaled to
    ``options["jobs"]`` jobs of single-threaded workers running this Python, and cancelled
    at the end whatever happens."""

    def __init__(
        self, options: dict[str, Any], run_dir: Path, kernel_name: str, preload, threshold: int
    ):
        if shutil.which("sbatch") is None:
            raise ClusterError(
                "--executor slurm: Slurm's sbatch is not on PATH. Run workbench on a Slurm login "
                "node (or use --executor dask with a scheduler you started)."
            )
        int_handler = signal.getsignal(signal.SIGINT)
        # importing dask_jobqueue makes Ctrl-C a sys.exit() (exit status 0): undone below
        from dask_jobqueue import SLURMCluster

        self.options = options
        self.job_name = f"workbench-{run_dir.name}"
        self.cluster = None
        self.previous_handlers: dict[int, Any] = {}
        self.last_queue_check = 0.0
        log_directory = options.get("log_directory") or str(run_dir / "slurm")
        self.log_directory = log_directory
        scheduler_options = {"dashboard_address": None, **(options.get("scheduler_options") or {})}
        kwargs = {
            "queue": options["queue"],
            "cores": options["cores"],
            "processes": options["processes"],
            "memory": str(options["memory"]),
            "walltime": str(options["walltime"]),
            "job_name": self.job_name,
            # the workers run this very environment (on shared storage)
            "python": options.get("python") or sys.executable,
            "log_directory": log_directory,
            "scheduler_options": scheduler_options,
            # one notebook at a time per worker process: each runs in a kernel of its own anyway
            "worker_extra_args": ["--nthreads", "1", *(options.get("worker_extra_args") or [])],
        }
        for key in SLURM_PASSTHROUGH:
            if key not in kwargs and options.get(key) is not None:
                kwargs[key] = options[key]
        self._catch_signals(int_handler)
        try:
            self.cluster = SLURMCluster(**kwargs)
            self.cluster.scale(jobs=options["jobs"])
            super().__init__(self.cluster, kernel_name, preload, threshold)
            self._wait_for_submission(options["jobs"])
        except BaseException as exc:
            self._release()
            if isinstance(exc, (ClusterError, KeyboardInterrupt, SystemExit)):
                raise
            raise ClusterError(
                f"Could not start the Slurm cluster: {type(exc).__name__}: {exc}"
            ) from exc
        self.messages.append(
            f"Slurm: {options['jobs']} job(s) '{self.job_name}' submitted "
            f"({', '.join(self.slurm_job_ids()) or 'ids pending'}); logs in {log_directory}."
        )

    def _catch_signals(self, int_handler) -> None:
        """Ctrl-C, SIGTERM and SIGHUP (a closed login session) end the run as an interruption
        (exit status 1), so that the clean-up below runs and no Slurm job is left behind.
        ``int_handler`` is the SIGINT handler to restore afterwards."""
        if threading.current_thread() is not threading.main_thread():
            return

        def interrupt(signum, _frame):
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self.previous_handlers[signum] = signal.signal(signum, interrupt)
        self.previous_handlers[signal.SIGINT] = int_handler

    def _wait_for_submission(self, jobs: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.slurm_job_ids()) < jobs:
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"Slurm did not accept the {jobs} job(s) within {timeout:.0f} s; see "
                    f"`squeue` and the logs in {self.log_directory}."
                )
            time.sleep(0.2)

    def slurm_job_ids(self) -> list[str]:
        if self.cluster is None:
            return []
        return [str(job.job_id) for job in self.cluster.workers.values() if job.job_id]

    def results(self, timeout: float) -> list[dict[str, Any]]:
        finished = super().results(timeout)
        now = time.monotonic()
        if self.futures and not self.worker_addresses and now - self.last_queue_check > 5:
            self.last_queue_check = now
            if not slurm_jobs_named(self.job_name):
                # nothing will ever run them: say so instead of waiting for ever
                for future, job in list(self.futures.items()):
                    del self.futures[future]
                    future.cancel()
                    finished.append(
                        _failed(
                            job["job_id"],
                            f"every Slurm job of this run ({self.job_name}) has ended (cancelled, "
                            "failed or out of walltime) before this notebook could run; see the "
                            "Slurm logs, then `workbench run --executor slurm --resume`.",
                            lost_attempts=list(self.lost.get(job["job_id"], ())),
                        )
                    )
        return finished

    def _release(self) -> None:
        """Cancel every Slurm job of the run and wait until Slurm no longer lists them."""
        if self.cluster is not None:
            try:
                self.cluster.close(timeout=30)
            except Exception:
                pass
        # whatever dask-jobqueue missed (a job submitted while closing, a failed scancel)
        if shutil.which("scancel") is not None:
            _slurm_command("scancel", "--name", self.job_name)
            deadline = time.monotonic() + 30
            while slurm_jobs_named(self.job_name) and time.monotonic() < deadline:
                time.sleep(0.3)
            left = slurm_jobs_named(self.job_name)
            if left:
                print(
                    f"warning: Slurm still lists job(s) {', '.join(left)} of this run; cancel "
                    f"them with `scancel --name {self.job_name}`.",
                    file=sys.stderr,
                )
        for signum, handler in self.previous_handlers.items():
            signal.signal(signum, handler)
        self.previous_handlers.clear()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
