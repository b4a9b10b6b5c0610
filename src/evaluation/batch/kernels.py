"""Fresh Jupyter kernels, started ahead of time and retried when start-up races.

Every notebook runs in a kernel of its own that nothing else has used: no variable, import side
effect or matplotlib setting can leak from one region to the next. What *is* shared is the
waiting: each worker process keeps one spare kernel, started in the background while the
current notebook runs, with the heavy libraries (pandas, matplotlib, statsmodels, ...) already
imported. (The spare's process is launched at once and imports while the current notebook runs;
nbclient later talks to it through its own asynchronous client, exactly as to a kernel it had
started itself.) Importing a library defines no name in the notebook's namespace; the warm-up runs
silently and outside the history, so a notebook that forgets ``import pandas as pd`` still fails
in the batch exactly as it would in JupyterLab.

Start-up races: jupyter_client picks free ports, then the kernel binds them; another process can
take a port in between ("Address already in use") and the kernel dies at birth. :func:`start_kernel`
then starts a new kernel with new ports, up to ``attempts`` times, before giving up with a clear
error.

Why fresh kernels forked from a zygote, not one kernel per worker or a cold start per notebook:
docs/decisions/0002-kernels-forked-from-a-zygote.md.
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

from jupyter_core.utils import run_sync

from evaluation.errors import EvaluationError

log = logging.getLogger(__name__)

#: imported in every spare kernel before a notebook is given to it
PRELOAD_MODULES = (
    "numpy",
    "pandas",
    "scipy.stats",
    "statsmodels.api",
    "matplotlib.pyplot",
    "seaborn",
    "pyarrow.parquet",
    "duckdb",
    "evaluation.data",
    # the data's validation, imported at a notebook's first load() otherwise (seconds)
    "pandera.pandas",
    "evaluation.batch.record",
    "evaluation.reports.disclosure",
)


class KernelStartError(EvaluationError, RuntimeError):
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
    return (
        f"__import__('evaluation.batch.kernels', fromlist=['warm_up']).warm_up({list(modules)!r})"
    )


def _shutdown(km) -> None:
    try:
        run_sync(km.shutdown_kernel)(now=True)  # also removes the connection file
    except Exception:
        pass


class _Launched:
    """A kernel process launched (not yet answering), with the warm-up queued on its shell."""

    def __init__(
        self,
        kernel_name: str,
        cwd: str,
        modules: tuple[str, ...],
        km_factory=None,
        attempt: int = 1,
    ):
        from jupyter_client.manager import AsyncKernelManager

        self.key = (kernel_name, cwd, modules, os.environ.get("EVALUATION_DISCLOSURE_THRESHOLD"))
        # nbclient drives kernels asynchronously: hand it an AsyncKernelManager, as it would
        # make itself
        self.km = km_factory(attempt) if km_factory else AsyncKernelManager(kernel_name=kernel_name)
        # The kernel's own chatter (e.g. ipykernel's TCP warning) would garble the progress bar;
        # what a notebook prints arrives through the Jupyter protocol, not these pipes.
        run_sync(self.km.start_kernel)(
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        if modules:
            # queued now, run by the kernel as soon as it is up; answered before kernel_info
            self.kc.execute(_warm_up_code(modules), silent=True, store_history=False)

    def ready(self, timeout: float):
        """Wait until the kernel answers (so the warm-up is done); return its manager."""
        try:
            self.kc.wait_for_ready(timeout=timeout)
        finally:
            self.kc.stop_channels()
        return self.km

    def discard(self) -> None:
        self.kc.stop_channels()
        _shutdown(self.km)


def start_kernel(
    kernel_name: str,
    cwd: str | os.PathLike,
    modules: tuple[str, ...] = (),
    attempts: int = 3,
    startup_timeout: float = 120,
    km_factory: Callable[[int], object] | None = None,
    first: _Launched | None = None,
):
    """A kernel that answers; if one dies at start-up (e.g. its port was taken), start another.

    ``km_factory(attempt)`` builds the AsyncKernelManager (tests use it to provoke a port clash);
    ``first`` is an already launched spare to try first. Returns the kernel manager.
    """
    errors = []
    launched = first
    for attempt in range(1, attempts + 1):
        try:
            if launched is None:
                launched = _Launched(kernel_name, str(cwd), modules, km_factory, attempt)
            return launched.ready(startup_timeout)
        except (
            Exception
        ) as exc:  # RuntimeError("Kernel died before replying"), TimeoutError, zmq errors
            errors.append(f"attempt {attempt}: {type(exc).__name__}: {exc}")
            log.warning("kernel start-up failed (attempt %d of %d): %s", attempt, attempts, exc)
            if launched is not None:
                launched.discard()
            launched = None
            time.sleep(0.2 * attempt)
    raise KernelStartError(
        f"Could not start the Jupyter kernel '{kernel_name}' after {attempts} attempts:\n  "
        + "\n  ".join(errors)
        + "\nCheck that it is installed (`jupyter kernelspec list`; `make env` installs it)."
    )


def _forkable(kernel_name: str) -> bool:
    """True if the kernel is this Python's ipykernel (so a zygote of this Python can fork it)."""
    if os.environ.get("EVALUATION_FORK_KERNELS", "1") == "0" or not hasattr(os, "fork"):
        return False
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except Exception:
        return False
    import sys

    same_python = Path(argv[0]).resolve() == Path(sys.executable).resolve() or argv[0] in (
        "python",
        "python3",
    )
    return same_python and "ipykernel_launcher" in argv


class KernelSource:
    """Hands out fresh, pre-warmed kernels; one spare is always importing in the background.

    Where it can, it forks kernels from a zygote (:mod:`evaluation.batch.zygote`) that imported
    the modules once, instead of starting each kernel from scratch and importing them again.
    """

    def __init__(self, modules: tuple[str, ...] = PRELOAD_MODULES):
        self.modules = tuple(modules)
        self.spare: _Launched | None = None
        self.lock = threading.Lock()
        self.in_use: set = set()
        self.zygote = None

    def _factory(self, kernel_name: str):
        """A KernelManager factory: forked from the zygote if possible, else None (the usual
        way)."""
        if not _forkable(kernel_name):
            return None
        from evaluation.batch.zygote import ForkedKernelManager, Zygote

        if self.zygote is None or not self.zygote.alive or self.zygote.modules != self.modules:
            if self.zygote is not None:
                self.zygote.close()
            try:
                self.zygote = Zygote(self.modules)
            except Exception as exc:
                log.warning("no kernel zygote (%s); starting kernels the usual way", exc)
                return None
        zygote = self.zygote

        def make(attempt: int):
            if attempt > 1:  # a forked kernel failed to come up: fall back to a plain one
                from jupyter_client.manager import AsyncKernelManager

                return AsyncKernelManager(kernel_name=kernel_name)
            km = ForkedKernelManager(kernel_name=kernel_name)
            km.zygote = zygote
            return km

        return make

    def _key(self, kernel_name: str, cwd: str):
        return (kernel_name, cwd, self.modules, os.environ.get("EVALUATION_DISCLOSURE_THRESHOLD"))

    def prestart(self, kernel_name: str, cwd: str | os.PathLike) -> None:
        """Launch the spare now (a pool worker does this as soon as it is born)."""
        with self.lock:
            if self.spare is None:
                try:
                    self.spare = _Launched(
                        kernel_name,
                        str(Path(cwd).resolve()),
                        self.modules,
                        self._factory(kernel_name),
                    )
                except Exception as exc:  # take() will retry and report
                    log.warning("could not launch a spare kernel: %s", exc)

    def take(self, kernel_name: str, cwd: str | os.PathLike, spare: bool = True):
        """A fresh kernel for one notebook (the caller gives it back with :meth:`release`).

        ``spare=False`` neither uses nor launches a spare: the kernel starts now, with this
        process's environment as it is now (for callers that change it between notebooks; a
        spare carries the environment of the moment it was launched)."""
        cwd = str(Path(cwd).resolve())
        launched = None
        if spare:
            with self.lock:
                launched, self.spare = self.spare, None
            if launched is not None and launched.key != self._key(kernel_name, cwd):
                launched.discard()
                launched = None
        km = start_kernel(
            kernel_name, cwd, self.modules, first=launched, km_factory=self._factory(kernel_name)
        )
        self.in_use.add(km)
        if spare:
            self.prestart(kernel_name, cwd)  # the next notebook's kernel imports meanwhile
        return km

    def release(self, km) -> None:
        self.in_use.discard(km)
        _shutdown(km)

    def close(self) -> None:
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is not None:
            spare.discard()
        for km in list(self.in_use):
            self.release(km)
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None

    def kill_all_now(self) -> None:
        """Last resort when the batch runner is gone: kill kernel processes without ceremony."""
        kms = list(self.in_use)
        if self.spare is not None:
            kms.append(self.spare.km)
        for km in kms:
            try:
                km.provisioner.process.kill()
            except Exception:
                pass
        if self.zygote is not None:
            self.zygote.process.kill()


_SOURCE: KernelSource | None = None


def kernel_source(modules: tuple[str, ...] | None = None) -> KernelSource:
    """This process's kernel source (created on first use, closed at exit)."""
    global _SOURCE
    wanted = PRELOAD_MODULES if modules is None else tuple(modules)
    if _SOURCE is not None and _SOURCE.modules != wanted:
        _SOURCE.modules = wanted  # the spare (keyed by modules) is replaced at the next take
    if _SOURCE is None:
        _SOURCE = KernelSource(wanted)
        atexit.register(_SOURCE.close)
        # multiprocessing workers leave through os._exit, which skips atexit
        from multiprocessing import util

        util.Finalize(_SOURCE, _SOURCE.close, exitpriority=10)
    return _SOURCE
