"""The rendered reports in a real headless Chromium, driven over the DevTools protocol.

Chromium is Debian's package (/usr/bin/chromium; `.ci/run` installs it). The browser is started
by the test on 127.0.0.1 with a fresh profile and stopped afterwards; the pages are local files,
so nothing is fetched from any other address.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from batch_helpers import EVIL_LABEL as EVIL
from batch_helpers import read_manifest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """A headless Chromium and one page, over the Chrome DevTools Protocol (websocket-client)."""

    def __init__(self, profile: Path):
        import websocket

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port within 60 s")
            time.sleep(0.1)
        port, browser_path = port_file.read_text().splitlines()[:2]
        self.port = int(port)
        self.ids = itertools.count(1)
        browser = websocket.create_connection(
            f"ws://127.0.0.1:{port}{browser_path}", timeout=60, suppress_origin=True
        )
        self.ws = browser
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        browser.close()
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/devtools/page/{target}", timeout=60, suppress_origin=True
        )
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params):
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def open(self, path: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not finish loading")
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"script error: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(f"console error: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(
                    f"log error: {params['entry'].get('text')} {params['entry'].get('url', '')}"
                )
        return found

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def rendered_run(grid_run):
    """The shared batch: Hovedstaden's data carry a name with markup in it; Syddanmark failed."""
    return grid_run[1].run_dir


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it), "
            "so the rendered reports cannot be opened in a real browser here."
        )
    pytest.importorskip(
        "websocket", reason="websocket-client (the DevTools client) is a test dependency"
    )
    instance = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield instance
    instance.close()


def test_reports_render_with_images_and_no_script_errors(rendered_run, browser):
    manifest = read_manifest(rendered_run)
    reports = [rendered_run / job["report"] for job in manifest["jobs"] if job["report"]]
    assert len(reports) == 4, "three regions (one failed, still reported) and the summary"
    for report in reports:
        browser.open(report)
        assert browser.evaluate("document.readyState") == "complete"
        assert browser.errors() == [], f"{report.name}: {browser.errors()}"
        assert browser.evaluate("document.querySelector('h1.wb-title').innerText")
        assert browser.evaluate("document.querySelector('main').innerText.length") > 200
        images = browser.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
        )
        for complete, width, alt in images:
            assert complete and width > 0, f"{report.name}: an image did not load"
            assert alt and alt.startswith("Figure")
        links = browser.evaluate(
            "Array.from(document.querySelectorAll('nav.wb-toc a')).map(a => a.hash)"
        )
        for anchor in links:
            assert browser.evaluate(f"document.getElementById({json.dumps(anchor[1:])}) !== null")
    region = next(r for r in reports if r.name == "10_tiny_region--hovedstaden.html")
    browser.open(region)
    assert browser.evaluate("Array.from(document.images).length") == 1


def test_text_from_data_is_escaped(rendered_run, browser):
    for page in (
        rendered_run / "reports" / "10_tiny_region--hovedstaden.html",
        rendered_run / "index.html",
    ):
        browser.open(page)
        assert browser.evaluate("typeof window.__pwned") == "undefined", (
            f"{page.name}: markup from data ran"
        )
        assert browser.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        text = browser.evaluate("document.body.innerText")
        assert "<script>window.__pwned=1</script>" in text, (
            f"{page.name}: the name is not shown as text"
        )
        assert browser.errors() == []
    browser.open(rendered_run / "reports" / "10_tiny_region--hovedstaden.html")
    alt = browser.evaluate("document.images[0].alt")
    assert EVIL in alt, "the figure title with markup is kept as plain alt text"


def test_index_lists_every_run_with_its_status(rendered_run, browser):
    browser.open(rendered_run / "index.html")
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('tbody tr')).map(r => [r.id, r.dataset.status, "
        "r.querySelector('.status').innerText])"
    )
    assert rows == [
        ["job-10_tiny_region--hovedstaden", "ok", "Completed"],
        ["job-10_tiny_region--sjaelland", "ok", "Completed"],
        ["job-10_tiny_region--syddanmark", "failed", "Failed"],
        ["job-00_tiny_summary", "ok", "Completed"],
    ]
    hrefs = browser.evaluate(
        "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
    )
    for href in hrefs:
        assert (rendered_run / href).is_file()
