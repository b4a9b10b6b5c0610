"""PDFs of the reports: headless Chromium prints each HTML report on A4.

``workbench run --format html,pdf`` starts one headless Chromium per run, prints every report
with the DevTools protocol's ``Page.printToPDF`` (A4, 8.27 x 11.69 in, backgrounds printed, the
stylesheet's ``@page`` size and margins preferred, page numbers in the footer) and stops it. The
report's own print stylesheet decides the layout (see :mod:`evaluation.reports.html`); collapsed
blocks such as "Run details" are opened first so the PDF holds everything.

Chromium is found as ``$EVALUATION_CHROMIUM``, else ``chromium``, ``chromium-browser``,
``google-chrome`` or ``google-chrome-stable`` on the PATH; on Debian or Ubuntu install it with
``apt-get install chromium``. The browser listens on 127.0.0.1 only, on a port it picks, with a
fresh profile that is deleted afterwards; the reports are local files and fetch nothing.

:class:`Chromium` is a small DevTools client (websocket-client) that the browser tests use too.

Example
-------
>>> with Chromium() as browser:                                        # doctest: +SKIP
...     print_to_pdf(browser, "outputs/latest/reports/01_prescribing_impact--sjaelland.html",
...                  "outputs/latest/reports/01_prescribing_impact--sjaelland.pdf")
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evaluation.errors import EvaluationError
from evaluation.files import atomic_write_bytes

CHROMIUM_ENV = "EVALUATION_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: A4 in inches, as Page.printToPDF takes it (210 x 297 mm)
A4_INCHES = (8.27, 11.69)
_FOOTER = (
    '<div style="font-family: sans-serif; font-size: 8px; color: #57606a; width: 100%; '
    'text-align: center;"><span class="pageNumber"></span> / <span class="totalPages"></span>'
    "</div>"
)


class ChromiumMissingError(EvaluationError, RuntimeError):
    """No Chromium to print PDFs with (or it would not start)."""


class PrintError(EvaluationError, RuntimeError):
    """A report could not be opened or printed."""


def find_chromium(executable: str | os.PathLike | None = None) -> str:
    """The Chromium to use: ``executable``, ``$EVALUATION_CHROMIUM``, or one on the PATH."""
    wanted = executable or os.environ.get(CHROMIUM_ENV, "").strip() or None
    if wanted:
        found = shutil.which(str(wanted))
        if found is None:
            raise ChromiumMissingError(
                f"PDF output needs Chromium, but {wanted} (from "
                f"{'the argument' if executable else '$' + CHROMIUM_ENV}) is not an executable. "
                f"Point {CHROMIUM_ENV} at a Chromium or Chrome binary, or unset it to use the one "
                "on the PATH."
            )
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissingError(
        "PDF output needs Chromium, and none was found (looked for "
        f"{', '.join(CHROMIUM_NAMES)} on the PATH). Install Debian's or Ubuntu's package "
        f"'chromium' (apt-get install chromium), or set {CHROMIUM_ENV} to a Chromium or Chrome "
        "binary; or run without --format pdf."
    )


class Chromium:
    """One headless Chromium with one page, driven over the DevTools protocol.

    Use as a context manager; :meth:`close` stops the browser and deletes its profile.
    """

    def __init__(self, executable: str | os.PathLike | None = None, timeout: float = 60.0):
        try:
            import websocket
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ChromiumMissingError(
                "PDF output needs the websocket-client package (pip install websocket-client)."
            ) from exc
        self.timeout = timeout
        self.executable = find_chromium(executable)
        self.profile = Path(tempfile.mkdtemp(prefix="evaluation-chromium-"))
        self.events: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        self.ws = None
        arguments = [
            self.executable,
            "--headless",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            arguments.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root
        try:
            self.process = subprocess.Popen(
                arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise ChromiumMissingError(
                f"Chromium ({self.executable}) could not be started: {exc}"
            ) from exc
        try:
            port, browser_path = self._wait_for_port()
            browser = websocket.create_connection(
                f"ws://127.0.0.1:{port}{browser_path}", timeout=timeout, suppress_origin=True
            )
            self.ws = browser
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            browser.close()
            self.ws = websocket.create_connection(
                f"ws://127.0.0.1:{port}/devtools/page/{target}",
                timeout=timeout,
                suppress_origin=True,
            )
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self) -> tuple[int, str]:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None:
                raise ChromiumMissingError(
                    f"Chromium ({self.executable}) exited with status {self.process.returncode} "
                    "before it opened its DevTools port. Try running it by hand with --headless to "
                    "see why."
                )
            if time.monotonic() > deadline:
                raise ChromiumMissingError(
                    f"Chromium ({self.executable}) did not open its DevTools port within "
                    f"{self.timeout:.0f} s."
                )
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        return int(port), path

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def call(self, method: str, **params) -> dict[str, Any]:
        """Send one DevTools command and return its result (events met meanwhile are kept)."""
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise PrintError(f"Chromium: {method} failed: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def open(self, path: str | os.PathLike) -> None:
        """Load a local HTML file and wait for its load event."""
        path = Path(path)
        if not path.is_file():
            raise PrintError(f"{path}: no such report to open.")
        self.events.clear()
        result = self.call("Page.navigate", url=path.resolve().as_uri())
        if result.get("errorText"):
            raise PrintError(f"{path}: Chromium could not open it: {result['errorText']}")
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise PrintError(f"{path} did not finish loading within {self.timeout:.0f} s.")
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise PrintError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Script errors, console errors and failed loads since the page was opened."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"script error: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(f"console error: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                found.append(f"log error: {entry.get('text')} {entry.get('url', '')}")
        return found

    def set_viewport(self, width: int, height: int = 900) -> None:
        """Lay the page out at ``width`` CSS pixels (as a window that wide would)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=int(width),
            height=int(height),
            deviceScaleFactor=1,
            mobile=False,
        )

    def emulate_media(self, media: str = "") -> None:
        """Apply ``print`` (or ``screen``; "" for none) style rules to the page."""
        self.call("Emulation.setEmulatedMedia", media=media)

    def reset_emulation(self) -> None:
        self.call("Emulation.clearDeviceMetricsOverride")
        self.emulate_media("")

    def print_pdf(self) -> bytes:
        """The open page printed on A4, as PDF bytes."""
        width, height = A4_INCHES
        result = self.call(
            "Page.printToPDF",
            paperWidth=width,
            paperHeight=height,
            printBackground=True,
            preferCSSPageSize=True,
            displayHeaderFooter=True,
            headerTemplate="<span></span>",
            footerTemplate=_FOOTER,
        )
        return base64.b64decode(result["data"])

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # closing a broken connection must not hide the first error
                pass
            self.ws = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def print_to_pdf(
    browser: Chromium, html_path: str | os.PathLike, pdf_path: str | os.PathLike
) -> Path:
    """Print the report ``html_path`` to ``pdf_path`` (written atomically) with ``browser``."""
    browser.reset_emulation()
    browser.open(html_path)
    browser.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    data = browser.print_pdf()
    if not data.startswith(b"%PDF"):
        raise PrintError(f"{html_path}: Chromium returned something that is not a PDF.")
    return atomic_write_bytes(pdf_path, data)


def print_reports(
    pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]],
    executable: str | os.PathLike | None = None,
) -> list[Path]:
    """Print each (HTML, PDF) pair with one browser, started here and stopped afterwards."""
    pairs = list(pairs)
    if not pairs:
        return []
    with Chromium(executable) as browser:
        return [print_to_pdf(browser, html, pdf) for html, pdf in pairs]
