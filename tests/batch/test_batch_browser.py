"""The rendered reports and the index of a real run in a real headless Chromium.

Chromium is Debian's package (/usr/bin/chromium; `.ci/run` installs it), driven over the
DevTools protocol by the same client that prints the PDFs (:class:`evaluation.reports.pdf.
Chromium`). The browser listens on 127.0.0.1 with a fresh profile and is stopped afterwards; the
pages are local files, so nothing is fetched from any other address. Without Chromium the tests
skip, except under CI, where they fail.

The reader checks (tests/reports/report_checks.py) are the ones meant for a full run on the
synthetic data; here they run over the shared tiny run (grid_run): three regions, one with
markup in a name from the data, one that fails, and the summary.
"""

from __future__ import annotations

import json

import pytest
from batch_helpers import EVIL_LABEL as EVIL
from batch_helpers import read_manifest
from report_checks import key_findings_of, require_chromium, run_problems

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered_run(grid_run):
    return grid_run[1].run_dir


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from evaluation.reports.pdf import Chromium

    with Chromium() as instance:
        yield instance


def test_reports_render_with_images_and_no_script_errors(rendered_run, browser):
    manifest = read_manifest(rendered_run)
    reports = [rendered_run / job["report"] for job in manifest["jobs"] if job["report"]]
    assert len(reports) == 4, "three regions (one failed, still reported) and the summary"
    for report in reports:
        browser.reset_emulation()
        browser.open(report)
        assert browser.evaluate("document.readyState") == "complete"
        assert browser.errors() == [], f"{report.name}: {browser.errors()}"
        assert browser.evaluate("document.querySelector('h1.wb-title').innerText")
        assert browser.evaluate("document.querySelector('main').innerText.length") > 200
        images = browser.evaluate(
            "Array.from(document.images).map(i => "
            "[i.complete, i.naturalWidth, Number(i.getAttribute('width')), i.width, i.alt])"
        )
        for complete, natural, size, shown, alt in images:
            assert complete and natural > 0, f"{report.name}: an image did not load"
            assert natural // 2 == size, "figures at 2x resolution, laid out at their size"
            assert shown <= size, "or narrower, to fit the page"
            assert alt and alt.startswith("Figure")
        links = browser.evaluate(
            "Array.from(document.querySelectorAll('nav.wb-toc a')).map(a => a.hash)"
        )
        for anchor in links:
            assert browser.evaluate(f"document.getElementById({json.dumps(anchor[1:])}) !== null")
    region = next(r for r in reports if r.name == "10_tiny_region--hovedstaden.html")
    browser.open(region)
    assert browser.evaluate("Array.from(document.images).length") == 1


def test_reports_and_index_are_fit_to_send(rendered_run, grid_run, browser):
    """No sideways scrolling at 1280 px, no raw values in tables, key findings first (in every
    report of a notebook that got that far), short alt text, no local path, and tables that fit
    the printable width of A4."""
    from evaluation.paths import project_root

    settings = grid_run[0]
    manifest = read_manifest(rendered_run)
    finished = {rendered_run / j["report"] for j in manifest["jobs"] if j["status"] == "ok"}
    problems = run_problems(
        rendered_run,
        browser,
        forbidden=[str(project_root()), str(settings.data_dir.resolve())],
        require_key_findings=lambda page: page in finished,
    )
    assert problems == {}
    assert key_findings_of(rendered_run / "reports" / "10_tiny_region--sjaelland.html") == [
        "The tiny rate around Klynge Nord changed by -0.1 per 1,000 (95% CI -0.3 to 0.1): "
        "we cannot tell this from no change.",
        "The table of patients per cluster hides counts below 5.",
    ]


def test_text_from_data_is_escaped(rendered_run, browser):
    for page in (
        rendered_run / "reports" / "10_tiny_region--hovedstaden.html",
        rendered_run / "index.html",
    ):
        browser.reset_emulation()
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
    browser.reset_emulation()
    browser.open(rendered_run / "index.html")
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('table.wb-job-log tbody tr')).map(r => [r.id, "
        "r.dataset.status, r.querySelector('.status').innerText])"
    )
    assert rows == [
        ["job-10_tiny_region--hovedstaden", "ok", "Completed"],
        ["job-10_tiny_region--sjaelland", "ok", "Completed"],
        ["job-10_tiny_region--syddanmark", "failed", "Failed"],
        ["job-00_tiny_summary", "ok", "Completed"],
    ]
    cards = browser.evaluate(
        "Array.from(document.querySelectorAll('#notebook-10-tiny-region article')).map(c => "
        "[c.querySelector('h3').innerText, (c.querySelector('.wb-headline') || {}).innerText])"
    )
    assert cards == [
        ["Hovedstaden", f"The tiny rate around {EVIL} fell by 0.3 per 1,000 (95% CI 0.1 to 0.5)."],
        [
            "Sjælland",
            "The tiny rate around Klynge Nord changed by -0.1 per 1,000 (95% CI -0.3 to 0.1): "
            "we cannot tell this from no change.",
        ],
        ["Syddanmark", None],
    ]
    hrefs = browser.evaluate(
        "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
    )
    for href in hrefs:
        if not href.startswith("#"):
            assert (rendered_run / href).is_file()
