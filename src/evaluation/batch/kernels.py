"""Fresh Jupyter kernels, started ahead of time and retried when start-up races.

Every notebook runs in a kernel of its own that nothing else has used: no variable, import side
effect or matplotlib setting can leak from one region to the next. What *is* shared is the
waiting: each worker process keeps one spare kernel, started in the background while the
current notebook runs, with the heavy libraries (pandas, matplotlib, statsmodels, ...) already
imported. Importing a library defines no name in the notebook's namespace; the warm-up runs
silently and outside the history, so a notebook that forgets ``import pandas as pd`` still fails
in the batch exactly as it would in JupyterLab.

Start-up races: jupyter_client picks free ports, then the kernel binds them; another process can
take a port in between ("Address already in use") and the kernel dies at birth. :func:`start_kernel`
then starts a new kernel with new ports, up to ``attempts`` times, before giving up with a clear
error.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: imported in every spare kernel before a notebook is given to it
PRELOAD_MODULES = (
    "numpy", "pandas", "scipy.stats", "statsmodels.api", "matplotlib.pyplot", "seaborn",
    "pyarrow.parquet", "duckdb", "evaluation.data", "evaluation.batch.record",
    "evaluation.reports.disclosure",
)


class KernelStartError(RuntimeError):
    """The kernel could not be started after several attempts."""


def warm_up(modules: list[str]) -> list[str]:
    """Run *inside* the kernel: import ``modules`` and add figure alt text; returns failures."""
    import importlib

    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional library only costs time later
            failed.append(name)
    try:
        from evaluation.reports.figures import install

        install()
    except Exception:
        failed.append("evaluation.reports.figures")
    return failed


def _warm_up_code(modules: tuple[str, ...]) -> str:
    # One expression, so nothing is bound in the user's namespace.
    return f"__import__('evaluation.batch.kernels', fromlist=['warm_up']).warm_up({list(modules)!r})"


def start_kernel(
    kernel_name: str,
    cwd: str | os.PathLike,
    attempts: int = 3,
    startup_timeout: float = 120,
    km_factory: Callable[[int], object] | None = None,
):
    """Start a kernel and wait until it answers; retry with new ports if it dies at start-up.

    ``km_factory(attempt)`` builds the KernelManager (tests use it to provoke a port clash).
    Returns ``(km, kc)``: the manager and a started client.
    """
    from jupyter_client.manager import KernelManager

    errors = []
    for attempt in range(1, attempts + 1):
        km = km_factory(attempt) if km_factory else KernelManager(kernel_name=kernel_name)
        kc = None
        try:
            # The kernel's own chatter (e.g. ipykernel's TCP warning) would garble the progress
            # bar; what a notebook prints arrives through the Jupyter protocol, not these pipes.
            km.start_kernel(cwd=str(cwd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=startup_timeout)
            return km, kc
        except Exception as exc:  # RuntimeError("Kernel died ..."), TimeoutError, zmq errors
            errors.append(f"attempt {attempt}: {type(exc).__name__}: {exc}")
            log.warning("kernel start-up failed (attempt %d of %d): %s", attempt, attempts, exc)
            if kc is not None:
                kc.stop_channels()
            try:
                km.shutdown_kernel(now=True)
            except Exception:
                pass
            km.cleanup_resources() if hasattr(km, "cleanup_resources") else None
            time.sleep(0.2 * attempt)
    raise KernelStartError(
        f"Could not start the Jupyter kernel '{kernel_name}' after {attempts} attempts:\n  "
        + "\n  ".join(errors)
        + "\nCheck that it is installed (`jupyter kernelspec list`; `make env` installs it)."
    )


class _Spare:
    def __init__(self, kernel_name: str, cwd: str, modules: tuple[str, ...]):
        self.key = (kernel_name, cwd, modules, os.environ.get("EVALUATION_DISCLOSURE_THRESHOLD"))
        self.ready = threading.Event()
        self.km = self.kc = self.msg_id = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._start, args=(kernel_name, cwd, modules), daemon=True)
        self.thread.start()

    def _start(self, kernel_name, cwd, modules):
        try:
            self.km, self.kc = start_kernel(kernel_name, cwd)
            if modules:
                self.msg_id = self.kc.execute(_warm_up_code(modules), silent=True, store_history=False)
        except BaseException as exc:
            self.error = exc
        finally:
            self.ready.set()

    def take(self, timeout: float = 300):
        """Wait for start-up and warm-up; hand over the manager (the caller shuts it down)."""
        self.ready.wait()
        if self.error is not None:
            raise self.error
        if self.msg_id is not None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    reply = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
                except Exception:
                    if not self.km.is_alive():
                        break
                    continue
                if reply.get("parent_header", {}).get("msg_id") == self.msg_id:
                    break
        self.kc.stop_channels()
        return self.km

    def discard(self):
        self.ready.wait()
        if self.km is not None:
            try:
                self.kc.stop_channels()
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass


class KernelSource:
    """Hands out fresh, pre-warmed kernels; one spare is kept starting in the background."""

    def __init__(self, modules: tuple[str, ...] = PRELOAD_MODULES):
        self.modules = tuple(modules)
        self.spare: _Spare | None = None
        self.lock = threading.Lock()
        self.in_use: set = set()

    def prestart(self, kernel_name: str, cwd: str | os.PathLike) -> None:
        """Start the spare now (a pool worker does this as soon as it is born)."""
        with self.lock:
            if self.spare is None:
                self.spare = _Spare(kernel_name, str(Path(cwd).resolve()), self.modules)

    def take(self, kernel_name: str, cwd: str | os.PathLike):
        cwd = str(Path(cwd).resolve())
        with self.lock:
            spare, self.spare = self.spare, None
            key = (kernel_name, cwd, self.modules, os.environ.get("EVALUATION_DISCLOSURE_THRESHOLD"))
            if spare is not None and spare.key != key:
                spare.discard()
                spare = None
            if spare is None:
                spare = _Spare(kernel_name, cwd, self.modules)
            self.spare = _Spare(kernel_name, cwd, self.modules)  # the next notebook's kernel
        try:
            km = spare.take()
        except BaseException:
            # the spare died (e.g. a port clash three times): try once more from scratch
            km = _Spare(kernel_name, cwd, self.modules).take()
        if not km.is_alive():
            km = _Spare(kernel_name, cwd, self.modules).take()
        self.in_use.add(km)
        return km

    def release(self, km) -> None:
        self.in_use.discard(km)
        try:
            km.shutdown_kernel(now=True)
        except Exception:
            pass
        try:
            km.cleanup_resources()
        except Exception:
            pass

    def close(self) -> None:
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is not None:
            spare.discard()
        for km in list(self.in_use):
            self.release(km)

    def kill_all_now(self) -> None:
        """Last resort when the batch runner is gone: kill kernel processes without ceremony."""
        kms = list(self.in_use)
        if self.spare is not None and self.spare.km is not None:
            kms.append(self.spare.km)
        for km in kms:
            try:
                km.provisioner.process.kill()
            except Exception:
                pass


_SOURCE: KernelSource | None = None


def kernel_source(modules: tuple[str, ...] | None = None) -> KernelSource:
    """This process's kernel source (created on first use, closed at exit)."""
    global _SOURCE
    if _SOURCE is None:
        _SOURCE = KernelSource(PRELOAD_MODULES if modules is None else modules)
        atexit.register(_SOURCE.close)
        # multiprocessing workers leave through os._exit, which skips atexit
        from multiprocessing import util

        util.Finalize(_SOURCE, _SOURCE.close, exitpriority=10)
    return _SOURCE
