"""Where the store remembers what it exchanged with Taguette.

Four tables live next to the coding store's own (created on first use, inside the caller's
transaction). They tie one Taguette *source* (a project on a server, or an offline export) to
the store's documents, codes and segments, so that a second pull changes only what changed:

- ``taguette_sources``   one row per server project (``server`` URL + ``project_id``) or offline
  export; the coder its highlights belong to.
- ``taguette_documents`` Taguette document key -> store document.
- ``taguette_tags``      Taguette tag key -> store code, and the tag path last seen.
- ``taguette_segments``  Taguette highlight key (highlight and tag) -> store segment.

Keys are text: a live server's ids (``"17"``), or natural keys for offline exports, whose ids
Taguette renumbers at every export (a document's name, a tag's path, a highlight's document,
offsets and tag). Deleting a store document, code or segment drops its links (ON DELETE CASCADE).
"""

from __future__ import annotations

import sqlite3

LINK_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS taguette_sources (
        id         INTEGER PRIMARY KEY,
        server     TEXT NOT NULL,
        project_id TEXT NOT NULL,
        name       TEXT NOT NULL DEFAULT '',
        coder_id   INTEGER REFERENCES coders(id) ON DELETE SET NULL,
        pushed_at  TEXT,
        pulled_at  TEXT,
        UNIQUE (server, project_id)
    )""",
    """CREATE TABLE IF NOT EXISTS taguette_documents (
        source_id    INTEGER NOT NULL REFERENCES taguette_sources(id) ON DELETE CASCADE,
        taguette_key TEXT NOT NULL,
        document_id  INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        PRIMARY KEY (source_id, taguette_key)
    )""",
    """CREATE TABLE IF NOT EXISTS taguette_tags (
        source_id    INTEGER NOT NULL REFERENCES taguette_sources(id) ON DELETE CASCADE,
        taguette_key TEXT NOT NULL,
        code_id      INTEGER NOT NULL REFERENCES codes(id) ON DELETE CASCADE,
        path         TEXT NOT NULL,
        description  TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (source_id, taguette_key)
    )""",
    """CREATE TABLE IF NOT EXISTS taguette_segments (
        source_id    INTEGER NOT NULL REFERENCES taguette_sources(id) ON DELETE CASCADE,
        taguette_key TEXT NOT NULL,
        segment_id   INTEGER NOT NULL UNIQUE REFERENCES segments(id) ON DELETE CASCADE,
        PRIMARY KEY (source_id, taguette_key)
    )""",
)


def ensure_link_tables(cursor: sqlite3.Cursor) -> None:
    """Create the link tables if absent (plain CREATEs, so they join the open transaction)."""
    for statement in LINK_SCHEMA:
        cursor.execute(statement)


def source_id(
    cursor: sqlite3.Cursor,
    server: str,
    project_id: str | int,
    *,
    name: str = "",
    create: bool = True,
) -> int | None:
    """The link row for a Taguette project, created on first use."""
    row = cursor.execute(
        "SELECT id FROM taguette_sources WHERE server = ? AND project_id = ?",
        (server, str(project_id)),
    ).fetchone()
    if row is not None:
        if name:
            cursor.execute("UPDATE taguette_sources SET name = ? WHERE id = ?", (name, row[0]))
        return row[0]
    if not create:
        return None
    cursor.execute(
        "INSERT INTO taguette_sources (server, project_id, name) VALUES (?, ?, ?)",
        (server, str(project_id), name),
    )
    return cursor.lastrowid


def linked(cursor: sqlite3.Cursor, table: str, source: int) -> dict[str, int]:
    """``{taguette_key: store id}`` of one link table for one source."""
    column = {
        "taguette_documents": "document_id",
        "taguette_tags": "code_id",
        "taguette_segments": "segment_id",
    }[table]
    return dict(
        cursor.execute(f"SELECT taguette_key, {column} FROM {table} WHERE source_id = ?", (source,))
    )
