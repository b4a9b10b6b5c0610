"""Fresh kernels forked from a process that has already imported the heavy libraries.

Starting a Python kernel and importing pandas, matplotlib, statsmodels and the workbench costs
several CPU-seconds, the same seconds for every notebook. A *zygote* pays them once per worker:
it imports the notebooks' modules, then waits on a Unix socket. For each new kernel it forks a
child, which becomes an ordinary IPython kernel on the connection file jupyter_client wrote.

Each notebook still gets a process of its own that no notebook has used: the child starts from
the zygote's state (modules imported, nothing executed in any user namespace), exactly like the
pre-warmed kernels of :mod:`evaluation.batch.kernels`, only without paying for the imports again.

The kernel manager sees the child through :class:`ForkedProcess` (poll, wait, signals by pid and
process group), so interrupting, shutting down and detecting a dead kernel work as usual. The
zygote reaps its children, exits when the worker that started it goes away, and a forked kernel
exits when that worker goes away too. Where fork is unavailable or the zygote cannot start, the
batch falls back to launching kernels the usual way.

Why a zygote (the start-up costs measured, the options weighed):
docs/decisions/0002-kernels-forked-from-a-zygote.md; what else it pays once for ~114 cluster
reports: docs/decisions/0004-cluster-reports-in-one-batch.md.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

MPL_INLINE = "module://matplotlib_inline.backend_inline"
#: a data folder the zygote reads and validates before forking kernels
#: (:func:`evaluation.data.io.preload_tables`): every kernel then finds its tables read
PRELOAD_DATA_ENV = "EVALUATION_PRELOAD_DATA"
#: what an IPython kernel imports while it initializes (the shell, its history in SQLite, the
#: debugger ipykernel wires up, tornado's asyncio loop, the inline backend): imported once here,
#: a forked kernel answers in a fraction of a second instead of two (measured: 2.1 s -> 0.4 s)
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.history",
    "IPython.core.completer",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "sqlite3",
    "psutil",
    "tornado.platform.asyncio",
    "matplotlib_inline.backend_inline",
)


# --- the zygote process ------------------------------------------------------------------------


def _reap(*_args) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _watch(pid: int) -> None:
    """Exit this process when process ``pid`` is gone."""

    def loop():
        while True:
            time.sleep(0.5)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=loop, daemon=True).start()


def _become_kernel(request: dict) -> None:
    """In the forked child: turn into an IPython kernel on the given connection file."""
    os.setpgrp()  # its own process group: interrupts and kills reach the kernel and its children
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel's own subprocesses are its business
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ.setdefault("MPLBACKEND", MPL_INLINE)
    _watch(int(request["owner_pid"]))
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", request["connection_file"]])
    app.start()


def _preload_data(data_dir: str | None) -> None:
    """Read and validate the run's data folder once, here, so that no forked kernel pays for it
    again (a kernel reading a file that changed since reads it anew). Kernels are forked from
    this state and never write back to it, so nothing passes from one report to another."""
    if not data_dir:
        return
    try:
        from evaluation.data.io import preload_tables

        preload_tables(data_dir)
    except Exception:  # only a cost: the kernels read the files themselves
        pass


def _warm_caches() -> None:
    """Fill, once, the caches every report fills on its first sentence and first figure: the
    compiled message catalogues and Babel's locale data (immutable once built), and what
    matplotlib loads when it first draws and saves a PNG (the Agg canvas, fonts, PIL's image
    plugins). Drawn on a Figure of its own, outside pyplot: no figure, style or setting is left
    for a kernel to find."""
    try:
        from datetime import date

        from babel.dates import format_date
        from babel.numbers import format_decimal

        from evaluation.i18n import LANGUAGES, locale_for, translations

        for lang in LANGUAGES:
            translations(lang)
            format_decimal(1234.5, locale=locale_for(lang))
            format_date(date(2019, 4, 1), "MMM y", locale=locale_for(lang))
    except Exception:  # only a cost: each kernel builds them itself
        pass
    try:
        from io import BytesIO

        from matplotlib.figure import Figure

        figure = Figure(figsize=(2, 1), dpi=100)
        axes = figure.add_subplot()
        axes.plot([0, 1], [0, 1])
        axes.set_title("Æ 1.234,5 %")
        figure.savefig(BytesIO(), format="png")
    except Exception:
        pass


def serve(socket_path: str, owner_pid: int, modules: list[str]) -> None:
    """The zygote's main loop:
    ``python -m evaluation.batch.zygote SOCKET OWNER_PID MODULES...``."""
    import importlib

    os.environ.setdefault("MPLBACKEND", MPL_INLINE)  # what ipykernel sets before a notebook runs
    for name in [*KERNEL_MODULES, *modules]:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    _warm_caches()
    _preload_data(os.environ.get(PRELOAD_DATA_ENV))
    signal.signal(signal.SIGCHLD, _reap)
    _watch(owner_pid)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(8)
    while True:
        try:
            conn, _ = server.accept()
        except InterruptedError:
            continue
        with conn:
            stream = conn.makefile("rwb")
            for line in stream:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    try:
                        server.close()
                        conn.close()
                        _become_kernel(request)
                    finally:
                        os._exit(0)
                stream.write(json.dumps({"pid": pid}).encode() + b"\n")
                stream.flush()


# --- the worker's side -------------------------------------------------------------------------


class ForkedProcess:
    """What jupyter_client needs of a Popen, for a kernel that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().split(")")[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            state = "gone"
        if state in ("Z", "X", "gone"):
            self.returncode = -signal.SIGKILL if state == "gone" else 0
            return self.returncode
        return None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Zygote:
    """A running zygote process and the socket to ask it for kernels."""

    def __init__(self, modules: tuple[str, ...], startup_timeout: float = 120):
        self.modules = tuple(modules)
        self.folder = tempfile.mkdtemp(prefix="evaluation-zygote-")
        self.socket_path = os.path.join(self.folder, "zygote.sock")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evaluation.batch.zygote",
                self.socket_path,
                str(os.getpid()),
                *self.modules,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.lock = threading.Lock()
        self.conn = None
        self.startup_timeout = startup_timeout

    def _connect(self):
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the kernel zygote exited with status {self.process.returncode}"
                )
            try:
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.connect(self.socket_path)
                return conn, conn.makefile("rwb")
            except (FileNotFoundError, ConnectionRefusedError):
                conn.close()
                if time.monotonic() > deadline:
                    raise RuntimeError("the kernel zygote did not start in time") from None
                time.sleep(0.05)

    def spawn(self, connection_file: str, cwd: str, env: dict[str, str]) -> int:
        """Fork a kernel child; return its pid."""
        with self.lock:
            if self.conn is None:
                self.conn = self._connect()
            sock, stream = self.conn
            request = {
                "connection_file": connection_file,
                "cwd": cwd,
                "env": env,
                "owner_pid": os.getpid(),
            }
            stream.write(json.dumps(request).encode() + b"\n")
            stream.flush()
            reply = stream.readline()
            if not reply:
                self.conn = None
                raise RuntimeError("the kernel zygote closed the connection")
            return int(json.loads(reply)["pid"])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn[0].close()
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        try:
            os.unlink(self.socket_path)
            os.rmdir(self.folder)
        except OSError:
            pass


class ForkedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel process comes from a :class:`Zygote`."""

    zygote: Zygote | None = None

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        connection_file = kernel_cmd[kernel_cmd.index("-f") + 1]
        env = {k: str(v) for k, v in (kw.get("env") or os.environ).items()}
        cwd = str(kw.get("cwd") or os.getcwd())
        pid = self.zygote.spawn(connection_file, cwd, env)
        provisioner = self.provisioner
        provisioner.process = ForkedProcess(pid)
        provisioner.pid = pid
        provisioner.pgid = pid
        provisioner.cwd = cwd
        self._reconcile_connection_info(provisioner.connection_info)


if __name__ == "__main__":  # pragma: no cover - run as the zygote process
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
