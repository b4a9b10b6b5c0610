"""The codebook and coded quotes as .docx and .xlsx, for colleagues without the workbench.

Every writer goes through :mod:`evaluation.files` (a temporary file, fsynced, renamed into
place), so a failed export never leaves a half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from evaluation.files import atomic_write, atomic_write_text
from evaluation.qualitative.store import Store

_EXCEL_CELL_LIMIT = 32_767


def codebook_table(store: Store) -> pd.DataFrame:
    """The codebook with segment counts: path, key, description, colour, segments, documents."""
    codes = store.codes()
    counts = pd.read_sql_query(
        "SELECT code_id AS id, COUNT(*) AS segments, COUNT(DISTINCT document_id) AS documents "
        "FROM segments GROUP BY code_id",
        store.connection,
    )
    table = codes.merge(counts, on="id", how="left").fillna({"segments": 0, "documents": 0})
    table[["segments", "documents"]] = table[["segments", "documents"]].astype("int64")
    return table[["path", "key", "description", "colour", "segments", "documents"]]


def quotes_table(store: Store, *, coder: str | None = None) -> pd.DataFrame:
    """Every coded segment with its text: document, case, code, coder, start, end, text, memo."""
    from evaluation.qualitative.queries import retrieve

    quotes = retrieve(store, coder=coder, context=0)
    return quotes[["document", "case", "code", "coder", "start", "end", "text", "memo"]]


def _clean_for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(
                lambda v: (
                    ILLEGAL_CHARACTERS_RE.sub("", v)[:_EXCEL_CELL_LIMIT]
                    if isinstance(v, str)
                    else v
                )
            )
    return frame


def export_xlsx(store: Store, path: str | os.PathLike, *, coder: str | None = None) -> Path:
    """Sheets: Codebook, Quotes (one row per coded segment), Cases (attributes)."""
    path = Path(path)
    sheets = {
        "Codebook": codebook_table(store),
        "Quotes": quotes_table(store, coder=coder),
        "Cases": store.cases().drop(columns=["case_id", "guid"], errors="ignore"),
    }

    def write(temporary: Path) -> None:
        with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                _clean_for_excel(frame).to_excel(writer, sheet_name=name, index=False)
                sheet = writer.sheets[name]
                for column_cells in sheet.columns:
                    width = min(80, max(10, *(len(str(c.value or "")) for c in column_cells[:200])))
                    sheet.column_dimensions[column_cells[0].column_letter].width = width
                sheet.freeze_panes = "A2"

    return atomic_write(path, write)


def export_docx(
    store: Store, path: str | os.PathLike, *, coder: str | None = None, title: str | None = None
) -> Path:
    """A Word document: the codebook as a table, then every code's quotes with their source."""
    import docx
    from docx.shared import Pt

    path = Path(path)
    codebook = codebook_table(store)
    quotes = quotes_table(store, coder=coder)
    document = docx.Document()
    document.add_heading(title or store.project_info().get("name", "Coded interviews"), level=0)
    document.add_heading("Codebook", level=1)
    table = document.add_table(rows=1, cols=3)
    table.style = "Light Grid Accent 1"
    for cell, label in zip(table.rows[0].cells, ("Code", "Description", "Segments")):
        cell.text = label
    for row in codebook.itertuples(index=False):
        cells = table.add_row().cells
        cells[0].text = row.path
        cells[1].text = row.description or ""
        cells[2].text = str(row.segments)
    document.add_heading("Coded quotes", level=1)
    for code_path in codebook["path"]:
        mine = quotes[quotes["code"] == code_path]
        if mine.empty:
            continue
        document.add_heading(f"{code_path} ({len(mine)})", level=2)
        for quote in mine.itertuples(index=False):
            paragraph = document.add_paragraph(style="Quote")
            paragraph.add_run(" ".join(str(quote.text).split()))
            source = (
                f"{quote.document}"
                + (f", {quote.case}" if isinstance(quote.case, str) else "")
                + f" - coded by {quote.coder}"
            )
            note = document.add_paragraph(source)
            note.runs[0].font.size = Pt(8)
    return atomic_write(path, lambda temporary: document.save(temporary))


def export_report(store: Store, path: str | os.PathLike, *, coder: str | None = None) -> Path:
    """The codebook and quotes as Markdown (.md, .txt) or HTML (.html)."""
    from html import escape

    path = Path(path)
    codebook = codebook_table(store)
    quotes = quotes_table(store, coder=coder)
    title = store.project_info().get("name", "Coded interviews")
    lines = [f"# {title}", "", "## Codebook", ""]
    for row in codebook.itertuples(index=False):
        indent = "  " * row.path.count("/")
        lines.append(
            f"{indent}- **{row.path.split('/')[-1]}** ({row.segments} "
            f"segments){': ' + row.description if row.description else ''}"
        )
    lines += ["", "## Coded quotes", ""]
    for code_path in codebook["path"]:
        mine = quotes[quotes["code"] == code_path]
        if mine.empty:
            continue
        lines += [f"### {code_path} ({len(mine)})", ""]
        for quote in mine.itertuples(index=False):
            case = f", {quote.case}" if isinstance(quote.case, str) else ""
            lines += [
                f"> {' '.join(str(quote.text).split())}",
                f"> — {quote.document}{case}, coded by {quote.coder}",
                "",
            ]
    markdown = "\n".join(lines) + "\n"
    if path.suffix.lower() == ".html":
        body = []
        for line in lines:
            if line.startswith("### "):
                body.append(f"<h3>{escape(line[4:])}</h3>")
            elif line.startswith("## "):
                body.append(f"<h2>{escape(line[3:])}</h2>")
            elif line.startswith("# "):
                body.append(f"<h1>{escape(line[2:])}</h1>")
            elif line.startswith("> "):
                body.append(f"<blockquote>{escape(line[2:])}</blockquote>")
            elif line.strip().startswith("- "):
                margin = line.index("-")
                item = escape(line.strip()[2:]).replace("**", "")
                body.append(f'<p style="margin-left:{margin}em">{item}</p>')
        markdown = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
            + escape(title)
            + "</title></head><body>\n"
            + "\n".join(body)
            + "\n</body></html>\n"
        )
    return atomic_write_text(path, markdown)


def export_odt(store: Store, path: str | os.PathLike, *, coder: str | None = None) -> Path:
    """An OpenDocument text (LibreOffice): the codebook, then each code's quotes and sources."""
    from odf.opendocument import OpenDocumentText
    from odf.style import ParagraphProperties, Style, TextProperties
    from odf.text import H, P

    path = Path(path)
    codebook = codebook_table(store)
    quotes = quotes_table(store, coder=coder)
    document = OpenDocumentText()
    quote_style = Style(name="Quote", family="paragraph")
    quote_style.addElement(ParagraphProperties(marginleft="1cm"))
    quote_style.addElement(TextProperties(fontstyle="italic"))
    source_style = Style(name="Source", family="paragraph")
    source_style.addElement(TextProperties(fontsize="8pt"))
    document.styles.addElement(quote_style)
    document.styles.addElement(source_style)
    document.text.addElement(
        H(outlinelevel=1, text=store.project_info().get("name", "Coded interviews"))
    )
    document.text.addElement(H(outlinelevel=2, text="Codebook"))
    for row in codebook.itertuples(index=False):
        line = f"{row.path} ({row.segments} segments)" + (
            f": {row.description}" if row.description else ""
        )
        document.text.addElement(P(text=line))
    document.text.addElement(H(outlinelevel=2, text="Coded quotes"))
    for code_path in codebook["path"]:
        mine = quotes[quotes["code"] == code_path]
        if mine.empty:
            continue
        document.text.addElement(H(outlinelevel=3, text=f"{code_path} ({len(mine)})"))
        for quote in mine.itertuples(index=False):
            document.text.addElement(
                P(stylename=quote_style, text=" ".join(str(quote.text).split()))
            )
            case = f", {quote.case}" if isinstance(quote.case, str) else ""
            document.text.addElement(
                P(stylename=source_style, text=f"{quote.document}{case} - coded by {quote.coder}")
            )
    return atomic_write(path, lambda temporary: document.save(temporary))
