"""Render an executed notebook as one self-contained HTML report.

The report is what a cluster coordinator opens from an e-mail, offline: JupyterLab's styling
with everything inline (figures as data URIs, CSS in the page, no script or font fetched from
the network), code hidden by default, a table of contents built from the notebook's headings,
alt text on every figure (see :mod:`evaluation.reports.figures`), and a "Run details" section
with the parameters, data checksums, git commit, package versions and duration.

:func:`render_report` returns the HTML text; writing it (atomically) and the disclosure check are
the batch runner's job. The nbconvert exporter is built once per process and reused, which is
most of the speed difference from calling ``jupyter nbconvert`` once per notebook.

Example
-------
>>> from nbformat.v4 import new_markdown_cell, new_notebook
>>> executed = new_notebook(cells=[new_markdown_cell("# NSAID prescribing in Hovedstaden")])
>>> html = render_report(executed, {"title": "Hovedstaden", "status": "ok"})
>>> "NSAID prescribing in Hovedstaden" in html, "<script src=" in html
(True, False)
"""

from __future__ import annotations

import copy
import html as html_lib
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_ALT = "No description has been provided for this image"
REMOVED_TAGS = ("injected-parameters", "parameters", "remove-cell")


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="evaluation", extra_template_basedirs=[str(TEMPLATE_DIR)])
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True  # markdown images become data URIs too
    return exporter


def _prepare(nb, show_code: bool, failed_cell: int | None):
    """A copy of ``nb`` as the report shows it: records and parameter cells out, code hidden."""
    from evaluation.records import RECORD_MIME

    nb = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.get("outputs", []) if RECORD_MIME not in o.get("data", {})
            ]
            if tags & set(REMOVED_TAGS) and not show_code and index != failed_cell:
                continue
            if not show_code and index != failed_cell:
                cell.metadata.setdefault("transient", {})["remove_source"] = True
            if not show_code and index != failed_cell and not cell.outputs:
                continue
        cells.append(cell)
    nb.cells = cells
    return nb


def _slug(text: str, used: set[str]) -> str:
    base = "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-") or "section"
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    used.add(slug)
    return slug


def _el(tag: str, text: str | None = None, **attrs: str):
    from lxml import html as lh

    element = lh.Element(tag, **{k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text  # lxml escapes: data never becomes markup
    return element


def _table(rows: list[tuple[str, Any]], header: tuple[str, str] | None = None):
    table = _el("table")
    table.set("data-disclosure", "exempt")  # checksums and versions are not counts of persons
    if header:
        tr = _el("tr")
        for h in header:
            tr.append(_el("th", h))
        table.append(tr)
    for key, value in rows:
        tr = _el("tr")
        tr.append(_el("th", str(key)))
        td = _el("td")
        td.append(_el("code", "" if value is None else str(value)))
        tr.append(td)
        table.append(tr)
    return table


def _header(meta: dict[str, Any], headings: list[tuple[int, str, str]]):
    """The report's top: title, status, contents, and the run details."""
    header = _el("header", class_="wb-header")
    if meta.get("index_href"):
        back = _el("p")
        back.append(_el("a", "← All reports of this run", href=meta["index_href"]))
        header.append(back)
    header.append(_el("h1", meta.get("title", "Report"), class_="wb-title"))
    status = meta.get("status", "ok")
    line = _el("p")
    line.append(
        _el(
            "span",
            {"ok": "Completed", "failed": "Failed", "blocked": "Blocked"}.get(status, status),
            class_=f"wb-status wb-status-{status}",
        )
    )
    line[-1].tail = f"  Run {meta.get('run_id', '')}, {meta.get('finished', '')}"
    header.append(line)
    if meta.get("error"):
        header.append(_el("div", meta["error"], class_="wb-error", role="alert"))
    if headings:
        nav = _el("nav", class_="wb-toc")
        nav.set("aria-label", "Contents")
        nav.append(_el("strong", "Contents"))
        stack = [_el("ul")]
        nav.append(stack[0])
        levels = [headings[0][0]]
        for level, text, anchor in headings:
            while level > levels[-1] and len(stack) < 3:
                sub = _el("ul")
                (stack[-1][-1] if len(stack[-1]) else stack[-1]).append(sub)
                stack.append(sub)
                levels.append(level)
            while level < levels[-1] and len(stack) > 1:
                stack.pop()
                levels.pop()
            item = _el("li")
            item.append(_el("a", text, href=f"#{anchor}"))
            stack[-1].append(item)
        header.append(nav)
    details = _el("details", class_="wb-meta")
    details.append(_el("summary", "Run details: parameters, data, software"))
    details.append(_el("h2", "Parameters", id="run-parameters"))
    details.append(_table(sorted((meta.get("parameters") or {}).items())))
    run_rows = [
        ("notebook", meta.get("notebook")),
        ("git commit", meta.get("git_commit")),
        ("started", meta.get("started")),
        ("duration", meta.get("duration")),
        ("disclosure threshold", meta.get("threshold")),
    ]
    details.append(_el("h2", "Run", id="run-facts"))
    details.append(_table([r for r in run_rows if r[1] is not None]))
    details.append(_el("h2", "Data checksums (sha256)", id="run-data"))
    details.append(_table(sorted((meta.get("data_checksums") or {}).items())))
    details.append(_el("h2", "Package versions", id="run-packages"))
    details.append(_table(sorted((meta.get("versions") or {}).items())))
    header.append(details)
    return header


def _postprocess(html: str, meta: dict[str, Any]) -> str:
    from lxml import html as lh

    document = lh.document_fromstring(html)
    main = document.find(".//main")
    if main is None:
        main = document.body
    used: set[str] = set()
    headings = []
    for heading in main.iter("h1", "h2", "h3"):
        text = " ".join(heading.text_content().replace("¶", "").split())
        if not text:
            continue
        anchor = heading.get("id") or _slug(text, used)
        used.add(anchor)
        heading.set("id", anchor)
        headings.append((int(heading.tag[1]), text, anchor))
    # a figure without its own description is described by the section it sits in
    section = meta.get("title", "the report")
    for element in main.iter("h1", "h2", "h3", "img"):
        if element.tag != "img":
            section = " ".join(element.text_content().replace("¶", "").split()) or section
        elif not element.get("alt") or element.get("alt") == DEFAULT_ALT:
            element.set("alt", f"Figure in the section '{section}'")
    main.insert(0, _header(meta, headings))
    title = document.find(".//title")
    if title is not None:
        title.text = meta.get("title", title.text)
    return "<!DOCTYPE html>\n" + lh.tostring(document, encoding="unicode", method="html")


def render_report(
    nb, meta: dict[str, Any], show_code: bool = False, failed_cell: int | None = None
) -> str:
    """The report's HTML for the executed notebook node ``nb``.

    ``meta`` holds what the header shows: title, status, error, run_id, finished, started,
    duration, notebook, parameters, data_checksums, versions, git_commit, threshold, index_href.
    ``failed_cell`` (index) keeps that cell's code visible so the reader sees what failed.
    """
    prepared = _prepare(nb, show_code, failed_cell)
    body, _ = _exporter().from_notebook_node(
        prepared, resources={"metadata": {"name": meta.get("title", "report")}}
    )
    return _postprocess(body, meta)


def escape(text: str) -> str:
    """HTML-escape ``text`` (for callers composing small snippets)."""
    return html_lib.escape(str(text))
