"""Import Taguette's export files without a server.

- :func:`import_project_export` reads a project export (``project.sqlite3``, from
  "Export project" in Taguette): documents as stored HTML, tags, highlights with their byte
  offsets. It is applied like a pull (one transaction; importing the same export again adds
  nothing; a newer export of the same project updates and deletes what changed). Taguette
  renumbers ids in every export, so the export's documents, tags and highlights are tracked by
  name, path and position instead of id. The export names every author "admin": say whose
  coding it is with ``coder``.
- :func:`import_codebook_csv` reads ``codebook.csv`` (tag, description, ...) into the codebook.
- :func:`import_highlights_csv` reads ``highlights/….csv`` (id, document, tag, content). The CSV
  has no offsets and Taguette flattens the quote's white space, so each quote is located in its
  document's text (already in the store, by name) ignoring white space; a quote that occurs more
  than once in its document is refused unless ``first_match`` (prefer the .sqlite3 export, which
  has exact offsets).
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

from evaluation.errors import EvaluationError
from evaluation.qualitative.store import Store
from evaluation.qualitative.taguette.offsets import OffsetMap, taguette_form, text_to_html
from evaluation.qualitative.taguette.sync import (
    Snapshot,
    SyncReport,
    TaguetteDocument,
    TaguetteHighlight,
    TaguetteSyncError,
    TaguetteTag,
    _Codebook,
    apply_snapshot,
)

EXPORT_SERVER = "taguette-export"
CSV_SERVER = "taguette-csv"


class TaguetteExportError(EvaluationError, ValueError):
    """An export file that cannot be read; names the file and what is wrong."""


def read_project_export(path: str | os.PathLike, *, project: int | None = None) -> Snapshot:
    """A :class:`~evaluation.qualitative.taguette.sync.Snapshot` of one project in an export."""
    path = Path(path)
    if not path.is_file():
        raise TaguetteExportError(
            f"{path}: no such file (expected a Taguette project export, .sqlite3)"
        )
    with open(path, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise TaguetteExportError(
                f"{path}: not an SQLite database; export the project from Taguette as .sqlite3"
            )
    # read-only and immutable: the export is never changed, even by a journal
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        tables = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        missing = {"projects", "documents", "tags", "highlights", "highlight_tags"} - tables
        if missing:
            raise TaguetteExportError(
                f"{path}: not a Taguette project export (no table {', '.join(sorted(missing))})"
            )
        projects = connection.execute(
            "SELECT id, name, description, created FROM projects ORDER BY id"
        ).fetchall()
        if not projects:
            raise TaguetteExportError(f"{path}: the export holds no project")
        if project is None:
            if len(projects) > 1:
                listing = ", ".join(f"{p[0]} ({p[1]})" for p in projects)
                raise TaguetteExportError(
                    f"{path} holds several projects ({listing}); say which with --project"
                )
            chosen = projects[0]
        else:
            matches = [p for p in projects if p[0] == project]
            if not matches:
                raise TaguetteExportError(
                    f"{path}: no project {project}; it holds "
                    f"{', '.join(str(p[0]) for p in projects)}"
                )
            chosen = matches[0]
        project_id, name, description, created = chosen
        documents_rows = connection.execute(
            "SELECT id, name, description, contents FROM documents WHERE project_id = ? ORDER "
            "BY id",
            (project_id,),
        ).fetchall()
        tag_rows = connection.execute(
            "SELECT id, path, description FROM tags WHERE project_id = ? ORDER BY id", (project_id,)
        ).fetchall()
        highlight_rows = connection.execute(
            "SELECT h.id, h.document_id, h.start_offset, h.end_offset FROM highlights h "
            "JOIN documents d ON d.id = h.document_id WHERE d.project_id = ? ORDER BY h.id",
            (project_id,),
        ).fetchall()
        highlight_tags = defaultdict(list)
        for highlight_id, tag_id in connection.execute(
            "SELECT highlight_id, tag_id FROM highlight_tags"
        ):
            highlight_tags[highlight_id].append(tag_id)
    except sqlite3.DatabaseError as error:
        raise TaguetteExportError(f"{path}: cannot read the export ({error})") from None
    finally:
        connection.close()

    # Natural keys: ids change at every export. Documents may share a name; number repeats.
    document_keys: dict[int, str] = {}
    seen: dict[str, int] = defaultdict(int)
    documents = []
    for document_id, doc_name, doc_description, contents in documents_rows:
        seen[doc_name] += 1
        key = "name:" + doc_name + ("" if seen[doc_name] == 1 else f"#{seen[doc_name]}")
        document_keys[document_id] = key
        documents.append(TaguetteDocument(key, doc_name, contents, doc_description or ""))
    tag_keys = {tag_id: "path:" + tag_path for tag_id, tag_path, _ in tag_rows}
    tags = [TaguetteTag(tag_keys[t], p, d or "") for t, p, d in tag_rows]
    highlights = []
    for highlight_id, document_id, start, end in highlight_rows:
        document_key = document_keys[document_id]
        highlights.append(
            TaguetteHighlight(
                key=f"{document_key}@{start}-{end}",
                document_key=document_key,
                start=int(start),
                end=int(end),
                tag_keys=tuple(
                    sorted(
                        tag_keys[t] for t in highlight_tags.get(highlight_id, []) if t in tag_keys
                    )
                ),
            )
        )
    # Two highlights over the same span merge into one (their tags are what counts).
    merged: dict[str, TaguetteHighlight] = {}
    for highlight in highlights:
        if highlight.key in merged:
            both = tuple(sorted(set(merged[highlight.key].tag_keys) | set(highlight.tag_keys)))
            highlight = TaguetteHighlight(
                highlight.key, highlight.document_key, highlight.start, highlight.end, both
            )
        merged[highlight.key] = highlight
    return Snapshot(
        server=EXPORT_SERVER,
        project_id=f"{name} (created {created})",
        name=name,
        user_login="admin",
        documents=documents,
        tags=tags,
        highlights=list(merged.values()),
        description=description or "",
    )


def import_project_export(
    store: Store, path: str | os.PathLike, *, coder: str | None = None, project: int | None = None
) -> SyncReport:
    """Import a Taguette project export (.sqlite3) as ``coder``'s coding; one transaction."""
    return apply_snapshot(store, read_project_export(path, project=project), coder=coder)


def _read_csv(path: Path, required: list[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise TaguetteExportError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TaguetteExportError(
            f"{path}: not UTF-8 ({error}); use the CSV exactly as Taguette exported it"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise TaguetteExportError(
            f"{path}: expected Taguette's columns {', '.join(required)}; missing "
            f"{', '.join(missing)} (found: {', '.join(header) or 'nothing'})"
        )
    return list(reader)


def import_codebook_csv(store: Store, path: str | os.PathLike) -> dict[str, int]:
    """Add the tags of Taguette's ``codebook.csv`` as codes (dotted paths as hierarchy) and take
    over their descriptions. Returns counts of codes added and updated. One transaction."""
    path = Path(path)
    rows = _read_csv(path, ["tag", "description"])
    report = SyncReport(source=str(path), coder="")
    updated = 0
    with store.transaction() as cur:
        codebook = _Codebook(store, report)
        for line, row in enumerate(rows, start=2):
            tag_path = (row.get("tag") or "").strip()
            if not tag_path:
                raise TaguetteExportError(f"{path}, row {line}: empty tag path")
            description = row.get("description") or ""
            before = report.codes_added
            code_id = codebook.resolve(tag_path, description)
            if report.codes_added == before and description:
                current = cur.execute(
                    "SELECT description FROM codes WHERE id = ?", (code_id,)
                ).fetchone()[0]
                if current != description:
                    cur.execute(
                        "UPDATE codes SET description = ? WHERE id = ?", (description, code_id)
                    )
                    updated += 1
    return {"codes_added": report.codes_added, "codes_updated": updated}


def _without_space(text: str) -> tuple[str, list[int]]:
    kept, where = [], []
    for index, character in enumerate(text):
        if not character.isspace():
            kept.append(character)
            where.append(index)
    return "".join(kept), where


def _store_document_for(store: Store, name: str, path: Path) -> int:
    row = store.connection.execute("SELECT id FROM documents WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    if name.endswith("…"):  # shortened by push to Taguette's 50 characters
        rows = store.connection.execute(
            "SELECT id FROM documents WHERE substr(name, 1, ?) = ?", (len(name) - 1, name[:-1])
        ).fetchall()
        if len(rows) == 1:
            return rows[0][0]
    raise TaguetteExportError(
        f"{path}: document {name!r} is not in the store; import the transcripts (or the project "
        "export, .sqlite3) first, then the highlights"
    )


def import_highlights_csv(
    store: Store,
    path: str | os.PathLike,
    *,
    coder: str,
    source: str | None = None,
    first_match: bool = False,
) -> SyncReport:
    """Import Taguette's highlights CSV as ``coder``'s segments (documents must be in the store).

    ``source`` names the Taguette project the CSV came from (default: the file's name without
    extension); importing a newer CSV under the same source updates and deletes segments.
    """
    path = Path(path)
    rows = _read_csv(path, ["id", "document", "tag", "content"])
    by_document: dict[int, list[dict]] = defaultdict(list)
    for line, row in enumerate(rows, start=2):
        if not (row.get("id") or "").strip():
            raise TaguetteExportError(f"{path}, row {line}: empty highlight id")
        row["_line"] = line
        by_document[_store_document_for(store, row["document"], path)].append(row)
    documents, highlights, tags = [], {}, {}
    problems = []
    for document_id, document_rows in by_document.items():
        text = store.document_text(document_id)
        bare, where = _without_space(text)
        offsets = OffsetMap(taguette_form(text), text)
        key = f"store:{document_id}"
        documents.append(TaguetteDocument(key, document_rows[0]["document"], text_to_html(text)))
        for row in document_rows:
            quote, _ = _without_space(row["content"])
            if not quote:
                problems.append(f"row {row['_line']}: empty quote")
                continue
            found = [m.start() for m in re.finditer(re.escape(quote), bare)]
            if not found:
                problems.append(
                    f"row {row['_line']}: quote not found in {row['document']!r}: "
                    f"{row['content'][:60]!r}"
                )
                continue
            if len(found) > 1 and not first_match:
                problems.append(
                    f"row {row['_line']}: quote occurs {len(found)} times in {row['document']!r}: "
                    f"{row['content'][:60]!r} (use the .sqlite3 export, or --first-match)"
                )
                continue
            start, end = where[found[0]], where[found[0] + len(quote) - 1] + 1
            start_byte, end_byte = offsets.to_taguette(start, end)
            tag_path = (row["tag"] or "").strip()
            highlight_key = row["id"].strip()
            previous = highlights.get(highlight_key)
            tag_keys = (() if previous is None else previous.tag_keys) + (
                (f"path:{tag_path}",) if tag_path else ()
            )
            if tag_path:
                tags[f"path:{tag_path}"] = TaguetteTag(f"path:{tag_path}", tag_path)
            highlights[highlight_key] = TaguetteHighlight(
                highlight_key, key, start_byte, end_byte, tag_keys
            )
    if problems:
        raise TaguetteExportError(f"{path}: nothing imported; " + "; ".join(problems))
    snapshot = Snapshot(
        server=CSV_SERVER,
        project_id=source or path.stem,
        name=source or path.stem,
        user_login=coder,
        documents=documents,
        tags=list(tags.values()),
        highlights=list(highlights.values()),
    )
    try:
        return apply_snapshot(store, snapshot, coder=coder)
    except TaguetteSyncError as error:
        raise TaguetteExportError(f"{path}: {error}") from None
