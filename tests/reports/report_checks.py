"""Checks that a run's reports are fit to send, as a reader would find them in Chromium and on A4.

Every function takes a run folder (``outputs/<run-id>``) or a page open in a
:class:`evaluation.reports.pdf.Chromium`, and returns a list of problems (empty when all is well),
so that a test can assert on all of them at once and its failure message says what to fix where:

- :func:`screen_problems` -- at 1280 px: no horizontal overflow of the page; no table cell or
  header with a raw value (``NaN``, ``NaT``, ``None``, ``True``, ``False``, snake_case names,
  more than 4 decimals), except tables of machine facts marked ``data-raw-values="allowed"``;
  "Key findings" is the first section after the title; every image has alt text of at most 300
  characters that describes rather than lists numbers.
- :func:`path_problems` -- no absolute local path in the page's text.
- :func:`print_layout_problems` -- in print media at the A4 content width, no table or figure
  wider than the printable area.
- :func:`pdf_problems` -- a PDF is A4 on every page and its first page holds the key findings.
- :func:`run_problems` -- all of the above over every report of a run and its index.

Used by tests/batch/test_batch_browser.py and test_batch_pdf.py on a tiny run, and meant for the
same checks over a full ``workbench run`` on the synthetic data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

SCREEN_WIDTH = 1280
#: A4 (210 mm) less the stylesheet's left and right @page margins (15 mm each), in CSS px
A4_CONTENT_WIDTH = round((210 - 2 * 15) / 25.4 * 96)
A4_POINTS = (595, 842)
MAX_ALT = 300
KEY_FINDINGS_TITLES = ("Key findings", "Vigtigste resultater")
#: raw values a reader must never meet in a table: name of the problem -> pattern
RAW_PATTERNS = {
    "a missing-value marker": re.compile(r"\b(?:NaN|NaT|nan|None|null|<NA>)(?!\w)"),
    "a Python boolean": re.compile(r"\b(?:True|False)\b"),
    "a snake_case name": re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),
    "more than 4 decimals": re.compile(r"\d[.,]\d{5,}"),
}
LOCAL_ROOTS = ("/work/", "/tmp/", "/home/", "/Users/", "/root/")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def require_chromium() -> None:
    """Skip when Chromium is missing, except under CI (``CI`` set), where that is a failure."""
    from evaluation.reports.pdf import ChromiumMissingError, find_chromium

    try:
        find_chromium()
    except ChromiumMissingError as exc:
        message = f"{exc} (.ci/run installs Debian's chromium)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI must run the browser tests: {message}")
        pytest.skip(message)


def pages_of(run_dir: Path) -> list[Path]:
    """Every report the run's manifest lists, then its index."""
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    reports = [Path(run_dir) / job["report"] for job in manifest["jobs"] if job.get("report")]
    return [*reports, Path(run_dir) / "index.html"]


def _open(browser, page: Path, width: int, media: str = "") -> None:
    browser.reset_emulation()
    browser.set_viewport(width)
    if media:
        browser.emulate_media(media)
    browser.open(page)


def overflow_problems(browser) -> list[str]:
    """Does the open page scroll sideways? Names the widest elements that stick out."""
    found = browser.evaluate(
        """(() => {
          const page = document.documentElement;
          if (page.scrollWidth <= page.clientWidth + 1) return [];
          const out = [];
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > page.clientWidth + 1) {
              const name = `${el.tagName.toLowerCase()}.${el.className}`;
              out.push(`${name} ends at ${Math.round(r.right)} px`);
            }
          }
          return [`the page is ${page.scrollWidth} px wide in a ${page.clientWidth} px window`,
                  ...out.slice(0, 5)];
        })()"""
    )
    return list(found)


def raw_value_problems(browser) -> list[str]:
    """Table cells and headers (outside machine-fact tables) that show a raw value."""
    cells = browser.evaluate(
        """Array.from(document.querySelectorAll('table'))
             .filter(t => !t.closest('[data-raw-values="allowed"]'))
             .flatMap((t, i) => Array.from(t.querySelectorAll('th, td, caption'))
               .map(c => [i + 1, c.tagName.toLowerCase(), c.innerText.trim()]))"""
    )
    problems = []
    for table, tag, text in cells:
        for name, pattern in RAW_PATTERNS.items():
            match = pattern.search(text)
            if match:
                problems.append(f"table {table}, {tag} {text[:60]!r}: {name} ({match.group(0)!r})")
    return problems


def key_findings_problems(browser, required: bool) -> list[str]:
    """ "Key findings" must be the first section after the title (if the page has one, or must)."""
    state = browser.evaluate(
        """(() => {
          const title = document.querySelector('h1.wb-title');
          const boxes = document.querySelectorAll('section.key-findings');
          const headings = Array.from(document.querySelectorAll('h1, h2, h3, h4'));
          const after = title ? headings[headings.indexOf(title) + 1] : null;
          const header = title ? title.closest('header') : null;
          const next = header ? header.nextElementSibling : null;
          return {title: !!title, boxes: boxes.length,
                  heading: after ? after.innerText.trim() : null,
                  next: next ? `${next.tagName.toLowerCase()}.${next.className}` : null};
        })()"""
    )
    if not state["title"]:
        return ["no title (h1.wb-title)"]
    if not state["boxes"]:
        return ["no Key findings box"] if required else []
    problems = []
    if state["heading"] not in KEY_FINDINGS_TITLES:
        problems.append(f"the first heading after the title is {state['heading']!r}")
    if state["next"] != "section.key-findings":
        problems.append(f"the first block after the header is {state['next']!r}")
    return problems


def alt_text_problems(browser) -> list[str]:
    """Images without alt text, with more than 300 characters, or listing numbers."""
    alts = browser.evaluate("Array.from(document.images).map(i => i.getAttribute('alt'))")
    problems = []
    for number, alt in enumerate(alts, start=1):
        if not alt or not alt.strip():
            problems.append(f"image {number} has no alt text")
        elif len(alt) > MAX_ALT:
            problems.append(f"image {number}: alt text of {len(alt)} characters: {alt[:80]}...")
        elif len(re.findall(r"\d+(?:[.,]\d+)?", alt)) > 12:
            problems.append(f"image {number}: the alt text lists numbers: {alt[:80]}...")
    return problems


def screen_problems(browser, page: Path, require_key_findings: bool = False) -> list[str]:
    """The on-screen checks for one page at 1280 px."""
    _open(browser, page, SCREEN_WIDTH)
    problems = [f"error: {e}" for e in browser.errors()]
    problems += overflow_problems(browser)
    problems += raw_value_problems(browser)
    if page.name != "index.html":
        problems += key_findings_problems(browser, require_key_findings)
    problems += alt_text_problems(browser)
    return problems


def path_problems(page: Path, forbidden: Iterable[str] = ()) -> list[str]:
    """Absolute local paths in the page (images' data left out: base64 may spell anything)."""
    text = _DATA_URI.sub("data:", Path(page).read_text(encoding="utf-8"))
    problems = []
    for needle in (*LOCAL_ROOTS, *(str(f) for f in forbidden if f)):
        at = text.find(needle)
        if at >= 0:
            problems.append(
                f"shows the local path {needle!r}: ...{text[max(0, at - 40) : at + 60]}..."
            )
    return problems


def print_layout_problems(browser, page: Path) -> list[str]:
    """Tables and figures wider than the printable width, laid out with print styles on A4."""
    _open(browser, page, A4_CONTENT_WIDTH, media="print")
    found = browser.evaluate(
        """(() => {
          const width = document.documentElement.clientWidth;
          const out = [];
          document.querySelectorAll('table, img').forEach((el, i) => {
            const r = el.getBoundingClientRect();
            const box = el.parentElement.getBoundingClientRect();
            const what = el.tagName === 'TABLE'
              ? `table "${el.innerText.trim().slice(0, 40)}"` : `image ${el.alt.slice(0, 40)}`;
            if (r.right > width + 1 || r.left < -1)
              out.push(`${what} spans ${Math.round(r.left)}-${Math.round(r.right)} px of ${width}`);
            else if (el.scrollWidth > Math.ceil(r.width) + 1 || r.right > box.right + 1)
              out.push(`${what} is ${el.scrollWidth} px wide in a ${Math.round(box.width)} px box`);
          });
          return out;
        })()"""
    )
    browser.reset_emulation()
    return list(found)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return " ".join(text.split())


def pdf_problems(pdf: Path, key_findings: Iterable[str] = ()) -> list[str]:
    """A4 on every page (pypdf), and the key findings in page 1's text (pdftotext)."""
    from pypdf import PdfReader

    problems = []
    reader = PdfReader(str(pdf))
    for number, sheet in enumerate(reader.pages, start=1):
        size = (round(float(sheet.mediabox.width)), round(float(sheet.mediabox.height)))
        if size != A4_POINTS:
            problems.append(f"{pdf.name} page {number} is {size[0]}x{size[1]} pt, not A4")
    findings = [_normalise(f) for f in key_findings]
    if findings:
        tool = shutil.which("pdftotext")
        if tool is None:
            message = "pdftotext (Debian's poppler-utils) is not installed"
            if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
                pytest.fail(message)
            pytest.skip(message)
        first = subprocess.run(
            [tool, "-f", "1", "-l", "1", "-enc", "UTF-8", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        page_one = _normalise(first)
        for finding in findings:
            if finding not in page_one:
                problems.append(f"{pdf.name}: page 1 lacks the key finding {finding[:70]!r}")
    return problems


def key_findings_of(page: Path) -> list[str]:
    """The sentences of a report's first key-findings box, in its own language (empty if it has
    none); a region report's Danish box follows it and may run onto page 2 of the PDF."""
    import lxml.html

    document = lxml.html.fromstring(Path(page).read_text(encoding="utf-8"))
    return [
        " ".join(li.text_content().split())
        for li in document.xpath("(//section[contains(@class, 'key-findings')])[1]//li")
    ]


def run_problems(
    run_dir: Path,
    browser,
    forbidden: Iterable[str] = (),
    require_key_findings: bool | Callable[[Path], bool] = False,
    pdfs: bool = False,
) -> dict[str, list[str]]:
    """Every check over every page of a run: {page name: problems}, only pages with problems.

    ``forbidden``: more strings no page may contain (the project root, the data folder's
    absolute path). ``require_key_findings``: True for every report, or a function of the
    report's path. ``pdfs``: also check each report's PDF (A4, key findings on page 1).
    """
    found: dict[str, list[str]] = {}
    forbidden = list(forbidden)
    for page in pages_of(run_dir):
        required = (
            require_key_findings(page) if callable(require_key_findings) else require_key_findings
        )
        problems = screen_problems(browser, page, required)
        problems += path_problems(page, forbidden)
        problems += print_layout_problems(browser, page)
        if page.name != "index.html":
            if pdfs:
                pdf = page.with_suffix(".pdf")
                if not pdf.is_file():
                    problems.append(f"no PDF beside {page.name}")
                else:
                    problems += pdf_problems(pdf, key_findings_of(page))
        if problems:
            found[page.name] = problems
    return found
