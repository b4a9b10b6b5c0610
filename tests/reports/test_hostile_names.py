"""Issue 14, item 1: names from data, a coding store or parameters never become markup.

A coding store (as it might arrive from another tool's .qdpx) whose theme names, sub-code names,
case names and coder names are classic injection strings is run through the notebooks that show
such names (03, 04 and 05, under papermill on the small synthetic data, as tests/notebooks/ do) and
the run's index; the HTML the reports renderer makes is parsed with lxml and searched for
anything the template does not produce itself: a <script>, an on* attribute, a javascript: URL,
an <img> that is not an inline data: figure, an iframe/object/embed/form. The hostile strings
must still be there, as text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import lxml.html
import nbformat
import pytest

from notebook_kernels import execute_notebook

ROOT = Path(__file__).resolve().parents[2]
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
QUOTE = '" onmouseover=alert(1) x="'
LINK = "[x](javascript:alert(1))"
IMAGE = "![x](http://evil)"
HOSTILE = (IMG, SCRIPT, QUOTE, LINK, IMAGE)
#: elements a report or the index never contains (figures are <img> with a data: URI)
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "form", "frame", "frameset", "base"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster"}


def live_markup(html: str) -> list[str]:
    """Everything in ``html`` that the report and index templates never produce."""
    document = lxml.html.document_fromstring(html)
    found = []
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions
        tag = element.tag.lower()
        if tag in FORBIDDEN_TAGS:
            found.append(f"<{tag}> {lxml.html.tostring(element)[:80]!r}")
        if tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh":
            found.append("<meta http-equiv=refresh>")
        for name, value in element.attrib.items():
            name = name.lower()
            plain = "".join(value.split()).lower()
            if name.startswith("on"):
                found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and plain.startswith(("javascript:", "vbscript:")):
                found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and plain.startswith("data:text/html"):
                found.append(f"<{tag} {name}={value[:40]!r}>")
        if tag == "img" and not (element.get("src") or "").startswith("data:image/"):
            found.append(f"<img src={element.get('src')!r}>")
    return found


def test_the_check_finds_live_markup():
    # the checker itself: every hostile string as raw HTML is caught, as escaped text none is
    raw = f'<html><body><main>{IMG}{SCRIPT}<p title="{QUOTE}">x</p><a href="javascript:x">y</a>'
    found = " ".join(live_markup(raw + "</main></body></html>"))
    for what in ("onerror", "<img src='x'>", "<script>", "onmouseover", "javascript:"):
        assert what in found, what
    from evaluation.reports.present import escape_text

    escaped = "<html><body><main>" + "".join(f"<p>{escape_text(h)}</p>" for h in HOSTILE)
    assert live_markup(escaped + "</main></body></html>") == []


def test_escape_markdown_shows_every_hostile_string_as_text():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from evaluation.reports.present import escape_markdown

    for text in HOSTILE:
        html = markdown2html_mistune(f"### {escape_markdown(text)}\n\nSee {escape_markdown(text)}")
        page = f"<html><body><main>{html}</main></body></html>"
        assert live_markup(page) == [], text
        document = lxml.html.document_fromstring(page)
        assert document.find(".//h3").text_content().startswith(text)
        assert text in document.find(".//p").text_content()
        assert not document.xpath("//a[not(starts-with(@href, '#'))]"), text


def make_hostile(store_path: Path) -> dict[str, str]:
    """Rename the store's themes, sub-codes, cases (and their cluster names) and coders to
    hostile strings (as an import from another tool could name them); returns {old coder name:
    new} for the parameters."""
    from evaluation.qualitative.demo import CODERS
    from evaluation.qualitative.store import Store

    with Store.open(store_path) as store, store.transaction() as cursor:
        themes = cursor.execute(
            "SELECT id FROM codes WHERE parent_id IS NULL ORDER BY position, id"
        ).fetchall()
        for n, (code_id,) in enumerate(themes):
            # unique per theme, so that themes stay apart in every table
            cursor.execute(
                "UPDATE codes SET name = ? WHERE id = ?", (f"{HOSTILE[n % 5]} {n}", code_id)
            )
        children = cursor.execute(
            "SELECT id FROM codes WHERE parent_id IS NOT NULL ORDER BY id"
        ).fetchall()
        for n, (code_id,) in enumerate(children):
            cursor.execute(
                "UPDATE codes SET name = ? WHERE id = ?", (HOSTILE[(n + 1) % 5], code_id)
            )
        cases = cursor.execute("SELECT id FROM cases ORDER BY id").fetchall()
        for n, (case_id,) in enumerate(cases):
            # the case's description holds the cluster's name (qualitative.cases)
            cursor.execute(
                "UPDATE cases SET name = ?, description = ? WHERE id = ?",
                (f"{HOSTILE[n % 5]} #{n}", HOSTILE[(n + 2) % 5], case_id),
            )
        coders = {CODERS[0]: LINK, CODERS[1]: IMAGE}
        for old, new in coders.items():
            cursor.execute("UPDATE coders SET name = ? WHERE name = ?", (new, old))
    return coders


@pytest.fixture(scope="module")
def hostile_project(synthetic_small, tmp_path_factory) -> Path:
    from evaluation.qualitative.demo import build_demo

    project = tmp_path_factory.mktemp("hostile-project")
    build_demo(synthetic_small, project / "qualitative" / "demo", per_region=4, progress=False)
    (project / "notebooks").mkdir()
    make_hostile(project / "qualitative" / "demo" / "coding.sqlite")
    return project


def _execute(notebook: str, project: Path, out: Path, parameters: dict):
    execute_notebook(
        str(ROOT / "notebooks" / notebook),
        str(out),
        parameters=parameters,
        cwd=str(project / "notebooks"),
    )
    return nbformat.read(out, as_version=4)


def _render(executed, title: str) -> str:
    from evaluation.reports.html import render_report

    return render_report(
        executed,
        {"title": title, "status": "ok", "parameters": {"coder": LINK, "region": IMG}},
    )


def _assert_safe(html: str) -> None:
    assert live_markup(html) == []
    text = lxml.html.document_fromstring(html).text_content()
    for hostile in (IMG, SCRIPT, LINK, IMAGE):  # shown, as text
        assert hostile in text, hostile


@pytest.mark.slow
def test_notebook_03_shows_hostile_theme_code_case_and_coder_names_as_text(
    hostile_project, synthetic_small, tmp_path
):
    executed = _execute(
        "03_interview_themes.ipynb",
        hostile_project,
        tmp_path / "03.ipynb",
        {
            "region": "sjaelland",
            "data_dir": str(synthetic_small),
            "coder": LINK,
            "second_coder": IMAGE,
        },
    )
    html = _render(executed, "Interview themes")
    _assert_safe(html)
    document = lxml.html.document_fromstring(html)
    # the quotes' theme headings carry the hostile theme names as plain text
    headings = [h.text_content() for h in document.iter("h3")]
    assert any(heading.startswith(IMG) for heading in headings), headings


@pytest.mark.slow
def test_notebook_04_shows_hostile_names_as_text(hostile_project, synthetic_small, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(hostile_project, project)
    executed = _execute(
        "04_mixed_methods.ipynb",
        project,
        tmp_path / "04.ipynb",
        {"data_dir": str(synthetic_small), "results_dir": str(tmp_path / "run")},
    )
    html = _render(executed, "Mixed methods")
    assert live_markup(html) == []
    text = lxml.html.document_fromstring(html).text_content()
    assert IMG in text and LINK in text  # the consensus coders and the themes, as text


@pytest.mark.slow
def test_notebook_05_shows_a_hostile_cluster_name_as_text(synthetic_small, tmp_path):
    import pandas as pd

    from evaluation.reports.feedback import report_title

    data = tmp_path / "data"
    shutil.copytree(synthetic_small, data)
    clusters = pd.read_parquet(data / "clusters.parquet")
    clusters.loc[clusters["cluster_id"] == "C002", "cluster_name"] = f"{IMG} {LINK}"
    clusters.to_parquet(data / "clusters.parquet", index=False)
    (tmp_path / "notebooks").mkdir()
    executed = _execute(
        "05_cluster_feedback.ipynb",
        tmp_path,
        tmp_path / "05.ipynb",
        {"data_dir": str(data), "region": "hovedstaden", "cluster_id": "C002", "lang": "en"},
    )
    html = _render(executed, "Feedback report")
    assert live_markup(html) == []
    text = lxml.html.document_fromstring(html).text_content()
    assert IMG in text and LINK in text  # the cluster's name, shown at a glance as text
    # an id that spells markup (the title is Markdown) is escaped as well
    page = f"<html><body><main>{_markdown_html('# ' + report_title(IMG))}</main></body></html>"
    assert live_markup(page) == [] and IMG in lxml.html.document_fromstring(page).text_content()


def _markdown_html(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


def test_index_shows_hostile_titles_parameters_messages_and_headlines_as_text():
    from evaluation.reports.index import render_index

    def job(job_id: str, status: str, **extra) -> dict:
        return {
            "job_id": job_id,
            "notebook": f"/home/anna/evaluation/notebooks/{job_id}.ipynb",
            "title": f"{IMG} themes",
            "parameters": {"region": SCRIPT, "coder": LINK, "indicator": QUOTE},
            "kind": "region",
            "label": IMAGE,
            "status": status,
            "error": None,
            "duration_s": 1.0,
            "report": f"reports/{job_id}.html",
            "pdf": None,
            "headline": f"The theme {IMG} came up most; {LINK}.",
            "notebook_out": f"notebooks/{job_id}.ipynb",
            "reused": False,
            **extra,
        }

    manifest = {
        "run_id": "r1",
        "status": "finished",
        "started": "2026-11-30T20:25:38+00:00",
        "finished": "2026-11-30T20:27:02+00:00",
        "data_name": f"data/{IMG}",
        "synthetic": None,
        "path_names": {},
        "data_checksums": {f"{SCRIPT}.csv": "ab" * 32},
        "versions": {IMAGE: "1.0"},
        "git": {"commit": QUOTE, "dirty": False},
        "counts": {"ok": 1, "failed": 1, "blocked": 0, "pending": 0},
        "jobs": [
            job("03_interview_themes--sjaelland", "ok"),
            job("03_interview_themes--hovedstaden", "failed", error=f"{SCRIPT} in cell 3"),
        ],
    }
    html = render_index(manifest)
    assert live_markup(html) == []
    text = lxml.html.document_fromstring(html).text_content()
    for hostile in (IMG, SCRIPT, LINK):
        assert hostile in text, hostile
