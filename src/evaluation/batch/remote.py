"""The worker's side of remote jobs: the environment check, and a job that announces its start.

Everything here runs on Dask workers (and is imported there by unpickling), so it imports
little: the client's side is :mod:`evaluation.batch.cluster`, the job itself
:func:`evaluation.batch.execute.execute_job`.

At connect time the client installs :class:`WorkerCheck` on every worker, present and future. A
worker whose Python, evaluation (version and a digest of the package's files: one version
number can hide another checkout), papermill or nbconvert differs from the client's is refused:
it announces why (both versions named) and leaves the cluster, so no job ever runs with other
code than the client's. The others start a spare kernel at once, as local pool workers do.

>>> version_differences({"python": "3.11.7", "papermill": "2.7.0"},
...                     {"python": "3.11.7", "papermill": "2.6.0"})
['papermill 2.6.0 there, 2.7.0 here']
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import threading
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from evaluation.errors import EvaluationError

#: what must match between the client and every worker (besides Python itself)
CHECKED_PACKAGES = ("evaluation", "papermill", "nbconvert")
PLUGIN_NAME = "evaluation-workbench"
#: event topics (worker -> scheduler -> client)
EVENT_STARTED = "evaluation-job-started"
EVENT_REFUSED = "evaluation-worker-refused"


class EnvironmentMismatch(EvaluationError, RuntimeError):
    """Raised on a worker whose environment differs from the client's (it then leaves)."""


@lru_cache(maxsize=1)
def _source_digest() -> str:
    """A short digest of the evaluation package's files: the same version number can hide a
    different checkout."""
    import evaluation

    root = Path(evaluation.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def environment_versions() -> dict[str, str]:
    """Python, evaluation (version and source digest), papermill and nbconvert of this process.

    >>> sorted(environment_versions())
    ['evaluation', 'nbconvert', 'papermill', 'python']
    """
    versions = {"python": platform.python_version()}
    for name in CHECKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["evaluation"] += f" (source {_source_digest()})"
    return versions


def version_differences(client: dict[str, str], worker: dict[str, str]) -> list[str]:
    """Each difference as "NAME WORKER there, CLIENT here".

    >>> version_differences({"python": "3.11.7"}, {"python": "3.12.1"})
    ['Python 3.12.1 there, 3.11.7 here']
    """
    differences = []
    for name in ("python", *CHECKED_PACKAGES):
        if client.get(name) != worker.get(name):
            shown = "Python" if name == "python" else name
            differences.append(
                f"{shown} {worker.get(name, 'unknown')} there, {client.get(name, 'unknown')} here"
            )
    return differences


def refusal(worker: str, host: str, why: str) -> str:
    return (
        f"Refused Dask worker {worker} on host {host}: {why}. Start workers from the project's "
        "environment (the same .venv on shared storage, or a conda env from environment.yml; "
        "README: Running on a cluster)."
    )


def _close_soon(worker, reason: str) -> None:
    worker.loop.add_callback(worker.close, reason=reason, nanny=True)


try:  # the plugin base class; distributed is a dependency, this only keeps imports cheap
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover
    WorkerPlugin = object


class WorkerCheck(WorkerPlugin):
    """Installed on every worker of the run (present and future): refuses a worker whose
    environment differs from the client's, and warms a kernel on the others."""

    name = PLUGIN_NAME

    def __init__(self, expected: dict[str, str], kernel_name: str, preload, threshold: int):
        self.expected = dict(expected)
        self.kernel_name = kernel_name
        self.preload = tuple(preload)
        self.threshold = threshold

    def setup(self, worker) -> None:
        host = socket.gethostname()
        differences = version_differences(self.expected, environment_versions())
        if differences:
            message = refusal(worker.address, host, "; ".join(differences))
            worker.log_event(EVENT_REFUSED, {"worker": worker.address, "message": message})
            # it leaves the cluster: a job must never run with other code than the client's
            _close_soon(worker, "evaluation: the worker's environment differs from the client's")
            raise EnvironmentMismatch(message)
        from evaluation.batch.execute import scratch_root, share_results_between_jobs
        from evaluation.batch.kernels import kernel_source
        from evaluation.reports.disclosure import THRESHOLD_ENV

        os.environ[THRESHOLD_ENV] = str(self.threshold)  # before the first kernel inherits it
        cwd = scratch_root(worker)
        share_results_between_jobs(cwd)
        # in a thread of its own: starting a kernel must not block the worker's event loop
        threading.Thread(
            target=kernel_source(self.preload).prestart,
            args=(self.kernel_name, cwd),
            daemon=True,
            name="evaluation-prestart",
        ).start()


def run_remote_job(job: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """:func:`~evaluation.batch.execute.execute_job` on a Dask worker, announcing the start so
    that the client can tell a job whose worker was lost mid-run from one still queued."""
    from distributed import get_worker

    from evaluation.batch.execute import execute_job, where_am_i

    get_worker().log_event(EVENT_STARTED, {"job_id": job["job_id"], **where_am_i()})
    return execute_job(job, run)
