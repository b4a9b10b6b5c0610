"""The HTML report of one executed notebook, rendered in-process (no kernel needed)."""

from __future__ import annotations

import base64

import lxml.html
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from evaluation.batch.record import RECORD_MIME, encode
from evaluation.reports.html import render_report

# a 1x1 PNG
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def executed_notebook():
    return new_notebook(
        cells=[
            new_markdown_cell("# Title of the analysis\n\nIntro."),
            new_code_cell('region = "x"', metadata={"tags": ["parameters"]}),
            new_code_cell('region = "<b>bold</b>"', metadata={"tags": ["injected-parameters"]}),
            new_markdown_cell("## Figures"),
            new_code_cell(
                "secret_code_line = plot()",
                outputs=[
                    new_output(
                        "display_data",
                        data={"image/png": PIXEL, "text/plain": "<Figure>"},
                        metadata={"image/png": {"alt": 'Figure: a "quoted" <title>'}},
                    ),
                    new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"}),
                    new_output(
                        "display_data",
                        data={RECORD_MIME: encode("x", 1), "text/plain": "recorded x = 1"},
                    ),
                ],
            ),
            new_code_cell("assignment_without_output = 1"),
        ]
    )


META = {
    "title": "Report <i>title</i>",
    "status": "ok",
    "run_id": "r1",
    "parameters": {"region": "<script>x</script>"},
    "data_checksums": {"clusters.parquet": "ab" * 32},
    "versions": {"pandas": "2.2"},
    "git_commit": "abc",
    "duration": "1.0 s",
    "threshold": 5,
    "index_href": "../index.html",
}


def test_report_layout_code_hidden_alt_text_and_escaping():
    html = render_report(executed_notebook(), META)
    page = lxml.html.fromstring(html)
    text = page.text_content()
    assert "secret_code_line" not in text and "assignment_without_output" not in text
    assert "recorded x = 1" not in text and RECORD_MIME not in html
    assert page.findtext(".//title") == "Report <i>title</i>"
    assert page.xpath("//h1[@class='wb-title']")[0].text == "Report <i>title</i>", "shown as text"
    assert [a.text for a in page.xpath("//nav//a")] == ["Title of the analysis", "Figures"]
    assert [img.get("alt") for img in page.iter("img")] == [
        'Figure: a "quoted" <title>',
        "Figure in the section 'Figures'",
    ]
    details = page.xpath("//details[@class='wb-meta']")[0]
    assert "<script>x</script>" in details.text_content() and not page.xpath("//script[text()='x']")
    assert "ab" * 32 in details.text_content()
    assert page.xpath("//a[@href='../index.html']")


def test_show_code_and_the_failing_cell():
    shown = lxml.html.fromstring(
        render_report(executed_notebook(), META, show_code=True)
    ).text_content()
    assert "secret_code_line" in shown and "assignment_without_output" in shown
    failed = render_report(
        executed_notebook(),
        {**META, "status": "failed", "error": "ValueError: boom"},
        failed_cell=5,
    )
    page = lxml.html.fromstring(failed)
    assert "assignment_without_output" in page.text_content(), "the failing cell's code is shown"
    assert "secret_code_line" not in page.text_content()
    assert page.xpath("//div[@role='alert']")[0].text == "ValueError: boom"
