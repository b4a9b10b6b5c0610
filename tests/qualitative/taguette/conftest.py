"""A real Taguette server for the tests, on 127.0.0.1, a free port and a temporary database.

Taguette 1.5.2 pins bleach 5 and SQLAlchemy 1.4, which would downgrade the main environment, so
the server runs from its own virtual environment, .venv-taguette/ at the project root (git
ignores /.venv-*/). It is built with the project's uv from taguette-server.lock beside this file
(exact versions and hashes; needs only PyPI) the first time, and reused while the lock file is
unchanged. The server is started through taguette_offline.py, which turns off Taguette's
start-up request to its news feed: tests touch no address but 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import hashlib
import http.server
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SERVER_VENV = ROOT / ".venv-taguette"
LOCK = HERE / "taguette-server.lock"
LAUNCHER = HERE / "taguette_offline.py"
START_TIMEOUT = 90.0


def _uv() -> str:
    """The uv that `make env` pins into .venv (else one on PATH)."""
    for candidate in (Path(sys.executable).parent / "uv", shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("uv not found: run `make env` (it installs the pinned uv into .venv)")


def server_python() -> Path:
    """Python of .venv-taguette, (re)built from the lock file when it changed. Safe when several
    pytest processes ask at once (a file lock serialises the build)."""
    python = SERVER_VENV / "bin" / "python"
    stamp = SERVER_VENV / ".lock-sha256"
    wanted = hashlib.sha256(LOCK.read_bytes() + b"\n--compile-bytecode").hexdigest()
    SERVER_VENV.mkdir(exist_ok=True)
    with open(SERVER_VENV / ".build.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
            return python
        uv = _uv()
        base = getattr(sys, "_base_executable", sys.executable)
        for command in (
            [uv, "venv", "--quiet", "--allow-existing", "--python", base, str(SERVER_VENV)],
            # with its .pyc files, so no server start compiles Taguette's sources (see Makefile)
            [uv, "pip", "sync", "--quiet", "--compile-bytecode", "--python", str(python)]
            + [str(LOCK)],
        ):
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                pytest.fail(
                    f"building {SERVER_VENV} failed: {' '.join(command)}\n{result.stderr[-3000:]}"
                )
        stamp.write_text(wanted)
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TaguetteServer:
    """One Taguette process. Single user by default; ``multi_user`` runs `taguette server` with a
    config file, an admin password and registration on."""

    def __init__(
        self, workdir: Path, *, multi_user: bool = False, admin_password: str = "admin-Pa55word"
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.multi_user = multi_user
        self.admin_password = admin_password
        self.port = free_port()
        self.database = self.workdir / "taguette.sqlite3"
        self.secret = secrets.token_hex(16)
        self.token: str | None = None
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "server.log"
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        path = self.workdir / "config.py"
        path.write_text(
            f"""NAME = "Test Taguette"
BIND_ADDRESS = "127.0.0.1"
PORT = {self.port}
BASE_PATH = "/"
DOMAIN = "127.0.0.1"
SECRET_KEY = {self.secret!r}
DATABASE = "sqlite:///{self.database}"
EMAIL = "Test <taguette@example.invalid>"
TOS_FILE = None
DEFAULT_LANGUAGE = "en_US"
MAIL_SERVER = {{"ssl": False, "host": "127.0.0.1", "port": 25}}
COOKIES_PROMPT = False
REGISTRATION_ENABLED = True
SQLITE3_IMPORT_ENABLED = True
X_HEADERS = False
"""
        )
        return path

    def start(self) -> TaguetteServer:
        python = server_python()
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_DATA_HOME": str(home),
            "TMPDIR": str(home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONWARNINGS": "ignore",
            "TORNADO_SHUTDOWN_TIME": "0",  # stop at once on SIGTERM (default: a 1 s grace period)
        }
        if self.multi_user:
            command = [str(python), str(LAUNCHER), "server", str(self._config())]
        else:
            command = [
                str(python),
                str(LAUNCHER),
                "--no-browser",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--database",
                str(self.database),
            ]
        self.starts += 1
        log = open(self.log_path, "a")
        log.write(f"\n=== start {self.starts}\n")
        log.flush()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.workdir,
        )
        log.close()
        if self.multi_user:
            # with no terminal, Taguette reads the new admin password from standard input
            self.process.stdin.write((self.admin_password + "\n").encode())
        self.process.stdin.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Taguette exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                healthy = requests.get(self.url + "/health", timeout=2).text.strip() == "Ok"
            except requests.RequestException:
                healthy = False
            # /health answers while the admin account is still being created, so wait for the
            # "now running" banner too (printed once the server is fully set up)
            log = self.log_path.read_text(errors="replace")
            if healthy and log.count("is now running") >= self.starts:
                if not self.multi_user:
                    self.token = re.findall(r"\?token=([0-9a-f]+)", log)[-1]
                return
            time.sleep(0.1)
        raise RuntimeError(f"Taguette did not start within {START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self, *, new_secret: bool = False) -> None:
        """Stop and start on the same port and database (a single-user server makes a new token)."""
        self.stop()
        if new_secret:
            self.secret = secrets.token_hex(16)
        self.start()

    def register(self, login: str, password: str) -> None:
        """Register a user through the web form, as a person would (multi-user servers)."""
        with requests.Session() as session:
            session.get(self.url + "/register", timeout=10)
            answer = session.post(
                self.url + "/register",
                data={
                    "login": login,
                    "password1": password,
                    "password2": password,
                    "email": "",
                    "_xsrf": session.cookies.get("_xsrf", ""),
                },
                allow_redirects=False,
                timeout=30,
            )
            assert answer.status_code in (302, 303), answer.text[:500]


@pytest.fixture(scope="session")
def taguette_server(tmp_path_factory):
    """A single-user Taguette server shared by the tests (each test makes its own project)."""
    server = TaguetteServer(tmp_path_factory.mktemp("taguette-single")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def taguette_multiuser(tmp_path_factory):
    """A multi-user Taguette server with users anna and bo (passwords in ``server.passwords``)."""
    server = TaguetteServer(tmp_path_factory.mktemp("taguette-multi"), multi_user=True).start()
    server.passwords = {
        "admin": server.admin_password,
        "anna": "anna-Pa55word",
        "bo": "bo-Pa55word",
    }
    for login in ("anna", "bo"):
        server.register(login, server.passwords[login])
    yield server
    server.stop()


@pytest.fixture
def private_server(tmp_path):
    """A single-user server of the test's own (for restarts)."""
    server = TaguetteServer(tmp_path / "taguette").start()
    yield server
    server.stop()


@pytest.fixture
def private_multiuser(tmp_path):
    server = TaguetteServer(tmp_path / "taguette", multi_user=True).start()
    yield server
    server.stop()


class FaultProxy:
    """A forwarding proxy on 127.0.0.1 in front of a real server that can answer some requests
    with an error status instead: ``rules`` maps a regular expression on "METHOD /path" to a list
    of statuses to answer in turn (then the request passes through)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.rules: dict[str, list[int]] = {}
        self.seen: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep the test output quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                line = f"{self.command} {self.path.split('?')[0]}"
                proxy.seen.append(line)
                for pattern, statuses in proxy.rules.items():
                    if statuses and re.fullmatch(pattern, line):
                        status = statuses.pop(0)
                        payload = b'{"error": "injected fault"}'
                        self.send_response(status)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                answer = requests.request(
                    self.command,
                    proxy.target + self.path,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=30,
                )
                self.send_response(answer.status_code)
                for key, value in answer.raw.headers.items():
                    if key.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = do_PATCH = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fault_proxy(taguette_server):
    proxy = FaultProxy(taguette_server.url)
    yield proxy
    proxy.close()
