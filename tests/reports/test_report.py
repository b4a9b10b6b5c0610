"""The HTML report of one executed notebook, rendered in-process (no kernel needed)."""

from __future__ import annotations

import base64

import lxml.html
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from evaluation.batch.record import RECORD_MIME, encode
from evaluation.reports.html import headline, notebook_title, render_report
from evaluation.reports.present import key_findings

# a 1x1 PNG
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()
FINDINGS = [
    "NSAID prescribing fell by 2.0 DDD per 1,000 patients per day (95% CI 0.9 to 3.0). "
    "The fall began within three months.",
    "Attendance stayed high.",
]


def executed_notebook():
    return new_notebook(
        cells=[
            new_markdown_cell("# Title of the *analysis*\n\nIntro."),
            new_markdown_cell(
                "Change the parameters below, then run all cells.",
                metadata={"tags": ["notebook-only"]},
            ),
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
                    new_output(
                        "display_data",
                        data={"text/plain": "only for the notebook's user"},
                        metadata={"tags": ["notebook-only"]},
                    ),
                ],
            ),
            new_code_cell("assignment_without_output = 1"),
            new_markdown_cell("## Conclusions"),
            new_code_cell(
                "key_findings([...])",
                outputs=[
                    new_output(
                        "display_data",
                        data={"text/html": key_findings(FINDINGS).to_html(), "text/plain": "kf"},
                    )
                ],
            ),
        ]
    )


META = {
    "title": "Report <i>title</i>",
    "status": "ok",
    "run_id": "r1",
    "parameters": {"region": "<script>x</script>", "data_dir": "/home/anna/project/data/real"},
    "data_name": "data/real",
    "data_checksums": {"clusters.parquet": "ab" * 32},
    "versions": {"pandas": "2.2"},
    "git_commit": "abc",
    "duration": "1.0 s",
    "threshold": 5,
    "index_href": "../index.html",
    "path_names": {"/home/anna/project/data/real": "data/real", "/home/anna/project": "."},
}


def test_report_layout_code_hidden_alt_text_and_escaping():
    html = render_report(executed_notebook(), META)
    page = lxml.html.fromstring(html)
    text = page.text_content()
    assert "secret_code_line" not in text and "assignment_without_output" not in text
    assert "recorded x = 1" not in text and RECORD_MIME not in html
    assert page.findtext(".//title").startswith("Report <i>title</i>")
    assert page.xpath("//h1[@class='wb-title']")[0].text == "Report <i>title</i>", "shown as text"
    assert [a.text for a in page.xpath("//nav//a")] == [
        "Title of the analysis",
        "Figures",
        "Conclusions",
        "Run details",
    ]
    assert [img.get("alt") for img in page.iter("img")] == [
        'Figure: a "quoted" <title>',
        "Figure in the section 'Figures'",
    ]
    details = page.xpath("//details[@id='run-details']")[0]
    assert "<script>x</script>" in details.text_content() and not page.xpath("//script[text()='x']")
    assert "ab" * 32 in details.text_content()
    assert page.xpath("//a[@href='../index.html']")
    assert page.xpath("//style[contains(., '@page')]"), "the A4 print stylesheet is inline"


def test_key_findings_come_first_after_the_title():
    page = lxml.html.fromstring(render_report(executed_notebook(), META))
    header = page.xpath("//header[@class='wb-header']")[0]
    box = header.getnext()
    assert box.tag == "section" and box.get("class") == "key-findings"
    assert box.findtext("h2") == "Key findings"
    assert [" ".join(li.text_content().split()) for li in box.iter("li")] == FINDINGS
    assert len(page.xpath("//section[@class='key-findings']")) == 1, "moved, not copied"
    # the cell that computed it is gone with it: "Conclusions" now ends the notebook's part
    last_cell = page.xpath("//div[contains(concat(' ', @class, ' '), ' jp-Cell ')]")[-1]
    assert "Conclusions" in last_cell.text_content()
    assert box.getnext().get("class") == "wb-toc", "then the contents"


def test_key_findings_in_two_languages_come_first_in_their_order_then_the_contents():
    nb = executed_notebook()
    danish = key_findings(["Deltagelsen holdt sig høj."], lang="da").to_html()
    nb.cells[-1].outputs.append(
        new_output("display_data", data={"text/html": danish, "text/plain": "kf da"})
    )
    page = lxml.html.fromstring(render_report(nb, META))
    english = page.xpath("//header[@class='wb-header']")[0].getnext()
    second = english.getnext()
    assert (english.get("lang"), second.get("lang")) == ("en", "da")
    assert second.findtext("h2") == "Vigtigste resultater"
    assert [h.get("id") for h in (english.find("h2"), second.find("h2"))] == [
        "key-findings",
        "key-findings-da",
    ]
    assert second.getnext().get("class") == "wb-toc", "the contents follow the last box"
    assert headline(lxml.html.tostring(page, encoding="unicode")).startswith("NSAID prescribing")


def test_a_notebook_without_key_findings_starts_with_its_contents():
    nb = executed_notebook()
    nb.cells = nb.cells[:-1]
    page = lxml.html.fromstring(render_report(nb, META))
    assert not page.xpath("//section[@class='key-findings']")
    assert page.xpath("//header[@class='wb-header']")[0].getnext().get("class") == "wb-toc"


def test_notebook_only_cells_and_outputs_and_the_parameters_cell_stay_out():
    for show_code in (False, True):
        html = render_report(executed_notebook(), META, show_code=show_code)
        text = lxml.html.fromstring(html).text_content()
        assert "Change the parameters below" not in text
        assert "only for the notebook's user" not in text
        assert 'region = "x"' not in text, "the notebook's defaults are not what ran"
    shown = lxml.html.fromstring(render_report(executed_notebook(), META, show_code=True))
    assert "<b>bold</b>" in shown.text_content(), "with code shown, the values that ran are shown"


def test_title_comes_from_the_notebook_and_is_not_doubled():
    meta = {k: v for k, v in META.items() if k != "title"}
    page = lxml.html.fromstring(render_report(executed_notebook(), meta))
    assert page.xpath("//h1[@class='wb-title']")[0].text == "Title of the analysis"
    assert [h.text_content() for h in page.iter("h1")] == ["Title of the analysis"]
    assert notebook_title(executed_notebook()) == "Title of the analysis"


def test_subtitle_in_words_and_the_synthetic_banner():
    meta = {
        **META,
        "parameters": {"region": "sjaelland", "indicator": "nsaid", "topic": "nsaid"},
        "synthetic": {"seed": 2026, "scale": "national"},
    }
    page = lxml.html.fromstring(render_report(executed_notebook(), meta))
    assert page.xpath("//p[@class='wb-subtitle']")[0].text == "Sjælland · NSAID prescribing"
    banner = page.xpath("//div[@class='wb-banner']")[0].text_content()
    assert "Synthetic demo data" in banner and "seed 2026" in banner
    assert "synthetic" not in render_report(executed_notebook(), META).lower().split("<style")[0]


def test_no_absolute_local_path_in_the_report():
    nb = executed_notebook()
    nb.cells.append(
        new_code_cell(
            "print(path)",
            outputs=[
                new_output(
                    "stream",
                    name="stdout",
                    text="Read /home/anna/project/data/real/clinics.parquet and "
                    "/tmp/scratch/coding.sqlite\n",
                )
            ],
        )
    )
    html = render_report(nb, {**META, "error": "FileNotFoundError: /home/anna/x.csv"})
    assert "/home/" not in html and "/tmp/" not in html
    text = lxml.html.fromstring(html).text_content()
    assert "Read data/real/clinics.parquet and coding.sqlite" in text
    assert "data_dirdata/real" in "".join(text.split()), "parameters name the folder relatively"


def test_show_code_and_the_failing_cell():
    shown = lxml.html.fromstring(
        render_report(executed_notebook(), META, show_code=True)
    ).text_content()
    assert "secret_code_line" in shown and "assignment_without_output" in shown
    failed = render_report(
        executed_notebook(),
        {**META, "status": "failed", "error": "ValueError: boom"},
        failed_cell=6,
    )
    page = lxml.html.fromstring(failed)
    assert "assignment_without_output" in page.text_content(), "the failing cell's code is shown"
    assert "secret_code_line" not in page.text_content()
    assert page.xpath("//div[@role='alert']")[0].text == "ValueError: boom"
    assert page.xpath("//span[contains(@class, 'wb-status-failed')]")[0].text == "Failed"


def test_headline_is_the_first_sentence_of_the_key_findings():
    html = render_report(executed_notebook(), META)
    assert headline(html) == FINDINGS[0].split(" The fall")[0]
    nb = executed_notebook()
    nb.cells = nb.cells[:-1]
    assert headline(render_report(nb, META)) is None


def test_wide_tables_scroll_on_screen_and_break_words_on_paper():
    wide = "<table><tr>" + "".join(f"<td>{'x' * 14}</td>" for _ in range(9)) + "</tr></table>"
    narrow = "<table><tr><td>Region</td><td>0.90 (0.87 to 0.93)</td></tr></table>"
    nb = new_notebook(
        cells=[
            new_code_cell(
                "tables",
                outputs=[
                    new_output("display_data", data={"text/html": table, "text/plain": "t"})
                    for table in (wide, narrow)
                ],
            )
        ]
    )
    page = lxml.html.fromstring(render_report(nb, META))
    tables = page.xpath("//main//table[not(ancestor::details)]")
    assert [t.getparent().get("class") for t in tables] == ["wb-table-scroll"] * 2
    assert ["wb-wide-table" in (t.get("class") or "") for t in tables] == [True, False]
