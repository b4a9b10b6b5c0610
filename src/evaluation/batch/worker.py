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


def _leave_parent_event_loop() -> None:
    """Make sure this worker's first kernel call creates an asyncio loop of its own.

    A forked worker inherits the runner's asyncio loop if the runner ever made one (it has if it
    executed a notebook in-process, as a test or a notebook calling ``run_batch`` may have), and
    with it the runner's epoll instance, which the two processes then share. jupyter_client's
    synchronous calls reuse that loop (``jupyter_core.utils.ensure_event_loop``): it wakes for the
    parent's sockets, finds nothing to read and never sees the kernel start, so the worker spins
    at full CPU for good. Closing the inherited loop here (in the child only) makes
    ``ensure_event_loop`` create a fresh one.
    """
    from jupyter_core.utils import ensure_event_loop

    inherited = ensure_event_loop()
    if not inherited.is_running():  # (a loop running at the fork cannot be closed, nor used)
        inherited.close()


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
    _leave_parent_event_loop()  # first: closing a loop also resets the signals it handled
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
