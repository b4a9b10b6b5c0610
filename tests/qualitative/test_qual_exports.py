"""Exports for colleagues without the workbench (.docx, .xlsx, Markdown, HTML) and the figures."""

from __future__ import annotations

import pytest

from evaluation.qualitative.exports import export_docx, export_report, export_xlsx
from evaluation.qualitative.store import Store


@pytest.fixture(scope="module")
def demo_store(demo_project):
    store = Store.open(demo_project / "coding.sqlite")
    yield store
    store.close()


def test_xlsx_has_codebook_quotes_and_cases(demo_store, tmp_path):
    import pandas as pd

    path = export_xlsx(demo_store, tmp_path / "quotes.xlsx", coder="anna")
    sheets = pd.read_excel(path, sheet_name=None)
    assert set(sheets) == {"Codebook", "Quotes", "Cases"}
    assert len(sheets["Quotes"]) == len(demo_store.segments(coders=["anna"]))
    assert set(sheets["Quotes"]["coder"]) == {"anna"}
    assert sheets["Codebook"]["segments"].sum() == len(demo_store.segments())
    assert len(sheets["Cases"]) == 25 and "cluster_id" in sheets["Cases"].columns
    assert not list(tmp_path.glob(".quotes*"))  # no temporary file left behind


def test_docx_has_codebook_table_and_every_quote(demo_store, tmp_path):
    import docx

    path = export_docx(demo_store, tmp_path / "quotes.docx", coder="bo")
    document = docx.Document(str(path))
    table = document.tables[0]
    assert table.rows[0].cells[0].text == "Code" and len(table.rows) == len(demo_store.codes()) + 1
    quotes = [p.text for p in document.paragraphs if p.style.name == "Quote"]
    expected = demo_store.segments(coders=["bo"], with_text=True)["text"]
    assert len(quotes) == len(expected)
    assert {" ".join(t.split()) for t in expected} == set(quotes)


@pytest.mark.parametrize("suffix", [".md", ".html", ".odt"])
def test_plain_reports(demo_store, tmp_path, suffix):
    if suffix == ".odt":
        from evaluation.qualitative.exports import export_odt
        from evaluation.qualitative.importers import read_transcript

        text = read_transcript(
            export_odt(demo_store, tmp_path / "report.odt")
        ).text  # read back with our reader
    else:
        text = export_report(demo_store, tmp_path / f"report{suffix}").read_text(encoding="utf-8")
    assert "Obtaining data" in text and "coded by anna" in text
    if suffix == ".html":
        assert text.startswith("<!DOCTYPE html>") and "<blockquote>" in text


def test_figures(demo_store):
    import matplotlib

    matplotlib.use("Agg")
    from evaluation.qualitative.figures import cooccurrence_heatmap, theme_frequency_plot
    from evaluation.qualitative.queries import code_frequencies, cooccurrence

    ax = theme_frequency_plot(code_frequencies(demo_store, by="region", coder="anna"))
    assert ax.get_xlabel() == "Number of coded passages" and len(ax.get_yticklabels()) == 16
    ax = cooccurrence_heatmap(cooccurrence(demo_store, coder="anna", distance=300))
    assert ax.get_title() == "Themes that were talked about together"


def test_region_themes_for_the_notebook(demo_store):
    from evaluation.qualitative.store import StoreError
    from evaluation.qualitative.summary import region_themes

    result = region_themes(
        demo_store, region="Nordjylland", coder="anna", second_coder="bo", quotes_per_theme=2
    )
    assert len(result.cases) == 5 and set(result.cases["region"]) == {"Nordjylland"}
    assert list(result.frequencies.columns) == result.cases["case"].tolist()
    assert result.agreement.iloc[-1]["code_key"] == "(all codes)"
    assert (result.quotes.groupby("theme").size() <= 2).all()
    themes_in_order = [
        t
        for t in demo_store.codes().query("depth == 0")["name"]
        if t in set(result.quotes["theme"])
    ]
    assert list(dict.fromkeys(result.quotes["theme"])) == themes_in_order
    # every quote is a passage both coders coded with the same code, from this region's cases
    assert set(result.quotes["case"]) <= set(result.cases["case"])
    with pytest.raises(StoreError, match="no case in region 'Atlantis'"):
        region_themes(demo_store, region="Atlantis", coder="anna")
