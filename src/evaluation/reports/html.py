"""Render an executed notebook as one self-contained HTML report, findings first.

The report is what a cluster coordinator opens from an e-mail, offline, or prints: everything
inline (figures as data URIs, CSS in the page, no script or font fetched from the network), code
hidden by default, and laid out for its reader in this order:

1. a "synthetic demo data" banner when the data are the workbench's synthetic set;
2. the title (the notebook's first heading) and what it covers (region, indicator, topic);
3. **Key findings**: the notebook's ``<section class="key-findings">`` (made by
   :func:`evaluation.reports.present.key_findings`), moved here from wherever the notebook
   computes it;
4. a table of contents, then the notebook's sections: evidence and method;
5. **Run details** at the end: parameters, the data folder (named relative to the project, never
   as an absolute local path) with its checksums, git commit, package versions and duration.

What stays in the notebook but out of the report: the parameters cell, and any cell tagged
:data:`NOTEBOOK_ONLY_TAG` (``notebook-only``: instructions for the notebook's user, such as
"change the parameters above and run all cells"). A single output can be kept out the same way
by displaying it with ``metadata={"tags": ["notebook-only"]}``. ``remove-cell`` (Jupyter Book's
tag) is honoured too.

Print and PDF: the stylesheet (``templates/evaluation/report.css``) sets A4 pages, wraps wide
tables inside the printable width, keeps headings with what follows them and figures and table
rows whole; :mod:`evaluation.reports.pdf` prints it with headless Chromium.

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
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from evaluation.i18n import LANGUAGES, N_, translate
from evaluation.reports.redact import redact_tree

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STYLESHEET = TEMPLATE_DIR / "evaluation" / "report.css"
DEFAULT_ALT = "No description has been provided for this image"
#: cells with this tag are for the notebook's user only and never appear in a report
NOTEBOOK_ONLY_TAG = "notebook-only"
#: cells left out of every report (unless it is the cell that failed)
ALWAYS_REMOVED_TAGS = ("parameters", NOTEBOOK_ONLY_TAG, "remove-cell")
#: cells left out unless the report shows code (``--show-code``)
REMOVED_WITHOUT_CODE = ("injected-parameters",)
#: attribute marking tables of machine facts (versions, checksums, parameters, the job log):
#: raw values are right there, and the reader checks of the browser tests skip them
RAW_VALUES_ATTRIBUTE = "data-raw-values"
KEY_FINDINGS_CLASS = "key-findings"
# On A4 (180 mm printable) table text of 8.5 pt fits about 105 average characters in a line;
# a table whose columns' longest words add up to more must break words to fit (see report.css).
PRINT_WIDTH_CHARS = 95
PRINT_CELL_PADDING_CHARS = 2
STATUS_WORDS = {
    "ok": N_("Completed"),
    "failed": N_("Failed"),
    "blocked": N_("Blocked"),
    "pending": N_("Not run"),
}
_NUMERIC_CELL = re.compile(r"^[<>≤≥]?\s*[-+\u2212]?[\d.,\u00a0 ]+\s*%?(\s*\(.*\))?$|^\u2013$")


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The CSS every report and the index inline (screen and A4 print)."""
    return STYLESHEET.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="evaluation", extra_template_basedirs=[str(TEMPLATE_DIR)])
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True  # markdown images become data URIs too
    return exporter


def _plain_heading(markdown_line: str) -> str:
    text = re.sub(r"^#+\s*", "", markdown_line).strip()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [words](link) -> words
    return re.sub(r"[*_`]", "", text).strip()


def notebook_title(nb_or_path) -> str | None:
    """The notebook's title: its first level-1 heading (else its first heading), as plain text.

    >>> from nbformat.v4 import new_notebook, new_markdown_cell
    >>> notebook_title(new_notebook(cells=[new_markdown_cell("# Meeting *attendance*\\n\\nText")]))
    'Meeting attendance'
    """
    if isinstance(nb_or_path, str | Path):
        import nbformat

        try:
            nb = nbformat.read(str(nb_or_path), as_version=4)
        except (OSError, ValueError):
            return None
    else:
        nb = nb_or_path
    first_any = None
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if NOTEBOOK_ONLY_TAG in cell.metadata.get("tags", []):
            continue
        for line in cell.source.splitlines():
            if re.match(r"^#\s", line):
                return _plain_heading(line) or None
            if first_any is None and re.match(r"^#{2,6}\s", line):
                first_any = _plain_heading(line) or None
    return first_any


def describe_parameters(parameters: dict[str, Any] | None, lang: str | None = None) -> str:
    """What a run covers, in words: "Hovedstaden · NSAID prescribing" (the topic is named only
    when it is not the indicator's own).

    >>> describe_parameters({"region": "sjaelland", "indicator": "eye_antibiotics",
    ...                      "topic": "conjunctivitis"})
    'Sjælland · eye antibiotic prescribing'
    >>> describe_parameters({"region": "midtjylland", "indicator": "nsaid", "topic": "copd"})
    'Midtjylland · NSAID prescribing · meetings on COPD'
    >>> describe_parameters({"region": "sjaelland", "cluster_id": "C021", "lang": "da"})
    'Sjælland · klynge C021'
    """
    from evaluation.data.catalogue import INDICATOR_BY_KEY, REGION_NAMES, TOPICS

    parameters = parameters or {}
    lang = lang or report_lang({"parameters": parameters})
    parts = []
    if parameters.get("region"):
        parts.append(REGION_NAMES.get(parameters["region"], str(parameters["region"])))
    if parameters.get("cluster_id"):  # a cluster's feedback report (notebook 05)
        cluster_word = translate(N_("cluster"), lang)
        parts.append(f"{cluster_word} {parameters['cluster_id']}")
    indicator = INDICATOR_BY_KEY.get(str(parameters.get("indicator")))
    if indicator is not None:
        parts.append(f"{indicator.label} prescribing")
    topic = parameters.get("topic")
    if topic and (indicator is None or indicator.topic != topic):
        name = TOPICS.get(topic, str(topic))
        # "Diabetes" reads "diabetes" mid-sentence; an acronym ("COPD") stays as it is
        parts.append(f"meetings on {name if name[:2].isupper() else name[:1].lower() + name[1:]}")
    return " · ".join(parts)


def _prepare(nb, show_code: bool, failed_cell: int | None):
    """A copy of ``nb`` as the report shows it: records, parameters and notebook-only cells out,
    code hidden."""
    from evaluation.records import RECORD_MIME

    nb = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        keep_anyway = index == failed_cell
        if tags & set(ALWAYS_REMOVED_TAGS) and not keep_anyway:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if RECORD_MIME not in o.get("data", {})
                and NOTEBOOK_ONLY_TAG not in (o.get("metadata") or {}).get("tags", [])
            ]
            hide_code = not show_code and not keep_anyway
            if tags & set(REMOVED_WITHOUT_CODE) and hide_code:
                continue
            if hide_code:
                cell.metadata.setdefault("transient", {})["remove_source"] = True
                if not cell.outputs:
                    continue
        cells.append(cell)
    nb.cells = cells
    return nb


def _slug(text: str, used: set[str]) -> str:
    base = "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-") or "section"
    base = re.sub(r"-{2,}", "-", base)
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    used.add(slug)
    return slug


def _el(tag: str, text: str | None = None, **attrs: str):
    from lxml import html as lh

    element = lh.Element(tag, **{k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text  # lxml escapes: data never becomes markup
    return element


def _text(element) -> str:
    return " ".join(element.text_content().replace("¶", "").split())


def facts_table(rows: list[tuple[str, Any]], header: tuple[str, ...] | None = None):
    """A small table of machine facts (exempt from the disclosure and reader checks)."""
    table = _el("table", class_="wb-facts")
    table.set("data-disclosure", "exempt")  # checksums and versions are not counts of persons
    table.set(RAW_VALUES_ATTRIBUTE, "allowed")
    if header:
        tr = _el("tr")
        for h in header:
            tr.append(_el("th", h, scope="col"))
        table.append(_el("thead"))
        table[-1].append(tr)
    body = _el("tbody")
    for key, value in rows:
        tr = _el("tr")
        tr.append(_el("th", str(key), scope="row"))
        td = _el("td")
        td.append(_el("code", "" if value is None else str(value)))
        tr.append(td)
        body.append(tr)
    table.append(body)
    return table


def reader_time(stamp: str | None) -> str:
    """An ISO time stamp as a reader writes it: "30 Nov 2026, 20:25"."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def report_lang(meta: dict[str, Any]) -> str:
    """The report's language: ``meta["lang"]``, else the notebook's ``lang`` parameter, else
    English (a language the reports are not written in falls back to English too).

    >>> report_lang({"parameters": {"lang": "da"}}), report_lang({})
    ('da', 'en')
    """
    lang = meta.get("lang") or (meta.get("parameters") or {}).get("lang") or "en"
    return lang if lang in LANGUAGES else "en"


def synthetic_banner(synthetic: Any, what: str = "report", lang: str = "en"):
    """The "synthetic demo data" banner (``synthetic``: True or a dict with seed/scale)."""
    banner = _el("div", class_="wb-banner", role="note")
    title = translate(N_("Synthetic demo data"), lang)
    banner.set("aria-label", title)
    banner.append(_el("strong", title))
    seed = synthetic.get("seed") if isinstance(synthetic, dict) else None
    if what == "report":
        text = translate(
            N_(
                "Every number in this report comes from data made up by the workbench's own "
                "generator, not from real clinics, GPs, patients or interviews. It shows what "
                "the analysis looks like; do not quote it as a result."
            ),
            lang,
        )
    else:
        made = "made up by the workbench's own generator"
        text = (
            f"Every number in this {what} comes from data {made}, not from real clinics, GPs, "
            "patients or interviews. It shows what the analysis looks like; do not quote it as a "
            "result."
        )
    if seed:
        seed_word = translate(N_("seed"), lang)
        text += f" ({seed_word} {seed})"
    banner.append(_el("span", text))
    return banner


def _header(meta: dict[str, Any], title: str):
    """The report's top: back link, banner, title, what it covers, status, error."""
    lang = report_lang(meta)
    header = _el("header", class_="wb-header")
    if meta.get("index_href"):
        back = _el("p", class_="wb-back")
        words = translate(N_("All reports of this run"), lang)
        back.append(_el("a", f"← {words}", href=meta["index_href"]))
        header.append(back)
    if meta.get("synthetic"):
        header.append(synthetic_banner(meta["synthetic"], lang=lang))
    header.append(_el("h1", title, class_="wb-title"))
    subtitle = meta.get("subtitle")
    if subtitle is None:
        subtitle = describe_parameters(meta.get("parameters"), lang=lang)
    if subtitle:
        header.append(_el("p", subtitle, class_="wb-subtitle"))
    status = meta.get("status", "ok")
    line = _el("p", class_="wb-runline")
    if status != "ok":
        line.append(
            _el(
                "span",
                translate(STATUS_WORDS[status], lang) if status in STATUS_WORDS else status,
                class_=f"wb-status wb-status-{status}",
            )
        )
        line[-1].tail = " "
    when = reader_time(meta.get("finished"))
    run_word = translate(N_("Run"), lang)
    line.append(_el("span", f"{run_word} {meta.get('run_id', '')}" + (f", {when}" if when else "")))
    header.append(line)
    if meta.get("error"):
        header.append(_el("div", meta["error"], class_="wb-error", role="alert"))
    return header


def _contents(headings: list[tuple[int, str, str]], lang: str = "en"):
    nav = _el("nav", class_="wb-toc")
    words = translate(N_("Contents"), lang)
    nav.set("aria-label", words)
    nav.append(_el("strong", words))
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
    return nav


def _data_rows(meta: dict[str, Any]) -> list[tuple[str, Any]]:
    rows = []
    if meta.get("data_name"):
        rows.append(("data folder", meta["data_name"]))
    if meta.get("synthetic"):
        synthetic = meta["synthetic"]
        detail = (
            ", ".join(f"{k} {v}" for k, v in synthetic.items() if k in ("scale", "seed"))
            if isinstance(synthetic, dict)
            else ""
        )
        rows.append(("synthetic demo data", detail or "yes"))
    return rows


def run_details(meta: dict[str, Any]):
    """The "Run details" block at the end: machine facts for whoever reproduces the report."""
    lang = report_lang(meta)

    def _(message: str) -> str:
        return translate(message, lang)

    details = _el("details", class_="wb-run-details", id="run-details")
    summary = _el("summary")
    summary.append(_el("h2", _(N_("Run details"))))
    summary[-1].tail = " " + _(N_("parameters, data, software"))
    details.append(summary)
    details.append(_el("h3", _(N_("Parameters")), id="run-parameters"))
    details.append(facts_table(sorted((meta.get("parameters") or {}).items())))
    run_rows = [
        ("notebook", meta.get("notebook")),
        ("run", meta.get("run_id")),
        ("git commit", meta.get("git_commit")),
        ("started", meta.get("started")),
        ("finished", meta.get("finished")),
        ("duration", meta.get("duration")),
        ("disclosure threshold", meta.get("threshold")),
    ]
    details.append(_el("h3", _(N_("Run")), id="run-facts"))
    details.append(facts_table([r for r in run_rows if r[1] is not None]))
    details.append(_el("h3", _(N_("Data")), id="run-data"))
    data_rows = _data_rows(meta)
    if data_rows:
        details.append(facts_table(data_rows))
    details.append(_el("p", _(N_("Checksums (sha256) of every file in the data folder:"))))
    details.append(facts_table(sorted((meta.get("data_checksums") or {}).items())))
    details.append(_el("h3", _(N_("Package versions")), id="run-packages"))
    details.append(facts_table(sorted((meta.get("versions") or {}).items())))
    return details


def _is_blank(element) -> bool:
    return not _text(element) and not element.xpath(".//img | .//svg | .//table | .//canvas")


def _move_key_findings(main, anchor):
    """Move the notebook's key-findings boxes to just after ``anchor``, in their order; the last
    box moved, or None if there is none. A region report may carry its findings in both
    languages: the report's own language first, then a box in the other (its ``lang`` attribute
    says which)."""
    found = main.xpath(f".//section[contains(concat(' ', @class, ' '), ' {KEY_FINDINGS_CLASS} ')]")
    if not found:
        return None
    for number, box in enumerate(found):

        def ancestor(css_class: str, box=box):
            return next(
                (a for a in box.iterancestors() if css_class in (a.get("class") or "").split()),
                None,
            )

        child, cell = ancestor("jp-OutputArea-child"), ancestor("jp-Cell")
        box.getparent().remove(box)
        for wrapper in (child, cell):
            if wrapper is not None and wrapper.getparent() is not None and _is_blank(wrapper):
                wrapper.getparent().remove(wrapper)
        box.tail = None
        anchor.addnext(box)
        anchor = box
        heading = box.find(".//h2")
        if heading is not None and not heading.get("id"):
            suffix = "" if number == 0 else f"-{box.get('lang') or number + 1}"
            heading.set("id", f"key-findings{suffix}")
    return anchor


def _longest_words(table) -> int:
    """About how many characters wide ``table`` is at its narrowest: per column, the longest
    word in any of its cells (plus padding), summed."""
    widths: dict[int, int] = {}
    for row in table.xpath("./thead/tr | ./tbody/tr | ./tr | ./tfoot/tr"):
        for position, cell in enumerate(row.xpath("./th | ./td")):
            if int(cell.get("colspan", "1") or 1) > 1:
                continue
            longest = max((len(word) for word in cell.text_content().split()), default=0)
            widths[position] = max(widths.get(position, 0), longest + PRINT_CELL_PADDING_CHARS)
    return sum(widths.values())


def _tidy_tables(main) -> None:
    """Wide tables scroll inside their own box on screen; on paper, a table whose longest words
    alone would not fit the printable width is marked to break words anywhere (class
    ``wb-wide-table``), the others wrap between words only. Reader tables align numbers right."""
    for table in main.iter("table"):
        if _longest_words(table) > PRINT_WIDTH_CHARS:
            table.set("class", ((table.get("class") or "") + " wb-wide-table").strip())
        parent = table.getparent()
        classes = (parent.get("class") or "").split() if parent is not None else []
        if "reader-table-wrap" not in classes and "wb-table-scroll" not in classes:
            wrap = _el("div", class_="wb-table-scroll")
            table.addprevious(wrap)
            wrap.append(table)
        if "reader-table" in (table.get("class") or "").split():
            for row in table.xpath("./tbody/tr"):
                for cell in row.xpath("./td"):
                    if _NUMERIC_CELL.match(_text(cell)) and _text(cell):
                        cell.set("class", ((cell.get("class") or "") + " num").strip())


def _mark_heading_ends(main) -> None:
    """A markdown cell that ends with a heading must not end a page (CSS break-after)."""
    for cell in main.xpath(".//div[contains(@class, 'jp-MarkdownCell')]"):
        content = cell.xpath(".//div[contains(@class, 'jp-RenderedMarkdown')]")
        if content and len(content[0]) and content[0][-1].tag in ("h1", "h2", "h3", "h4"):
            cell.set("class", cell.get("class") + " wb-ends-with-heading")


def _postprocess(html: str, meta: dict[str, Any], notebook_heading: str | None) -> str:
    from lxml import html as lh

    document = lh.document_fromstring(html)
    main = document.find(".//main")
    if main is None:
        main = document.body
    main.set("class", ((main.get("class") or "") + " wb-report").strip())
    lang = report_lang(meta)
    # a notebook that writes its title from code (in the report's language) has no markdown
    # title: its first level-1 heading among the outputs is the title then
    first_h1 = next((_text(h) for h in main.iter("h1") if _text(h)), None)
    title = meta.get("title") or notebook_heading or first_h1 or translate(N_("Report"), lang)
    # the notebook's own title becomes the report's title, not a second one below it
    for heading in main.iter("h1"):
        if _text(heading) == title:
            heading.getparent().remove(heading)
        break
    used: set[str] = {"key-findings", "run-details"}
    headings = []
    for heading in main.iter("h1", "h2", "h3"):
        if heading.xpath(f"ancestor::section[contains(@class, '{KEY_FINDINGS_CLASS}')]"):
            continue
        text = _text(heading)
        if not text:
            continue
        anchor = heading.get("id") or _slug(text, used)
        used.add(anchor)
        heading.set("id", anchor)
        headings.append((int(heading.tag[1]), text, anchor))
    # a figure without its own description is described by the section it sits in
    section = title
    for element in main.iter("h1", "h2", "h3", "img"):
        if element.tag != "img":
            section = _text(element) or section
        elif not element.get("alt") or element.get("alt") == DEFAULT_ALT:
            words = translate(N_("Figure in the section"), lang)
            element.set("alt", f"{words} '{section}'")
    _tidy_tables(main)
    _mark_heading_ends(main)
    header = _header(meta, title)
    main.insert(0, header)
    moved = _move_key_findings(main, header)  # (an lxml element's truth is its child count)
    last = header if moved is None else moved
    if headings:
        details_words = translate(N_("Run details"), lang)
        contents = _contents([*headings, (headings[0][0], details_words, "run-details")], lang)
        last.addnext(contents)
    main.append(run_details(meta))
    head = document.find(".//head")
    if head is not None:
        style = _el("style", stylesheet())
        head.append(style)
        page_title = document.find(".//title")
        if page_title is None:
            page_title = _el("title")
            head.append(page_title)
        subtitle = meta.get("subtitle") or describe_parameters(meta.get("parameters"), lang=lang)
        page_title.text = f"{title} · {subtitle}" if subtitle else title
    html_element = document if document.tag == "html" else document.getroottree().getroot()
    html_element.set("lang", lang)
    redact_tree(document, meta.get("path_names") or {})
    return "<!DOCTYPE html>\n" + lh.tostring(document, encoding="unicode", method="html")


def render_report(
    nb, meta: dict[str, Any], show_code: bool = False, failed_cell: int | None = None
) -> str:
    """The report's HTML for the executed notebook node ``nb``.

    ``meta`` holds what the report shows around the notebook: title (default: the notebook's
    first heading), subtitle (default: from parameters, e.g. "Hovedstaden · NSAID
    prescribing"), status, error, run_id, started, finished, duration, notebook, parameters,
    data_name, data_checksums, synthetic (True or {seed, scale}: shows the banner), versions,
    git_commit, threshold, index_href, lang, and path_names ({absolute path: shown name}, see
    :mod:`evaluation.reports.redact`; any other local path is shortened too).
    ``failed_cell`` (index) keeps that cell's code visible so the reader sees what failed.
    """
    prepared = _prepare(nb, show_code, failed_cell)
    heading = notebook_title(nb)
    body, _ = _exporter().from_notebook_node(
        prepared, resources={"metadata": {"name": meta.get("title") or heading or "report"}}
    )
    return _postprocess(body, meta, heading)


def headline(html: str) -> str | None:
    """The first sentence of a report's key-findings box, or None if it has none.

    >>> headline('<main><section class="key-findings"><h2>Key findings</h2><ul>'
    ...          '<li>Prescribing fell by 2.0 DDD (95% CI 0.9 to 3.0). More text.</li>'
    ...          '</ul></section></main>')
    'Prescribing fell by 2.0 DDD (95% CI 0.9 to 3.0).'
    """
    from lxml import html as lh

    document = lh.fromstring(html)
    boxes = document.xpath(
        f"//section[contains(concat(' ', @class, ' '), ' {KEY_FINDINGS_CLASS} ')]"
    )
    if not boxes:
        return None
    items = boxes[0].xpath(".//li | .//p")
    text = _text(items[0]) if items else ""
    if not text:
        return None
    first = re.split(r"(?<=[.!?])\s+(?=[A-ZÆØÅ])", text, maxsplit=1)[0]
    return first


def escape(text: str) -> str:
    """HTML-escape ``text`` (for callers composing small snippets)."""
    return html_lib.escape(str(text))
