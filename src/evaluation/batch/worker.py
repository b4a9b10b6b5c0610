"""Set-up of a local pool worker: warm a kernel at once, and die with the batch runner.

If the runner is killed (even with SIGKILL), its pool workers notice their parent is gone,
kill their kernels and exit, so no orphan keeps writing into the run folder.
"""

from __future__ import annotations

import os
import signal
import threading
import time


def _leave_now() -> None:
    """Kill this worker's kernels, remove its scratch folder and exit at once."""
    from evaluation.batch.execute import remove_scratch
    from evaluation.batch.kernels import kernel_source

    kernel_source().kill_all_now()
    remove_scratch()
    os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            _leave_now()


def _stop_quietly(signum, frame) -> None:  # pragma: no cover - runs in the pool worker
    """Ctrl-C reaches every process of the terminal's group: a worker stops its kernels and
    exits at once, without a traceback; the runner says, once, what happened and how to resume."""
    _leave_now()


def initialize(
    parent_pid: int,
    kernel_name: str,
    cwd: str,
    preload: tuple[str, ...],
    threshold: int,
    data_dir: str | None = None,
) -> None:
    """``data_dir``: the run's data folder, read once by the kernel zygote before it forks
    kernels (:func:`evaluation.batch.zygote._preload_data`)."""
    signal.signal(signal.SIGINT, _stop_quietly)
    if data_dir:
        from evaluation.batch.zygote import PRELOAD_DATA_ENV

        os.environ[PRELOAD_DATA_ENV] = data_dir  # the zygote, started below, inherits it
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), daemon=True, name="watch-runner"
    ).start()
    from evaluation.reports.disclosure import THRESHOLD_ENV

    os.environ[THRESHOLD_ENV] = str(threshold)  # before the first kernel, which inherits it
    from evaluation.batch.execute import scratch_root, share_results_between_jobs

    share_results_between_jobs(scratch_root())
    from evaluation.batch import kernels

    kernels.kernel_source(tuple(preload)).prestart(kernel_name, cwd)
    # import the report machinery now, while the first kernel starts
    import papermill  # noqa: F401

    import evaluation.reports.html  # noqa: F401
    from evaluation.reports.html import _exporter

    _exporter()
