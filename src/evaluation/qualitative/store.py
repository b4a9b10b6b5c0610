"""The coding store: one SQLite file holding a qualitative project.

The data model mirrors what qualitative tools exchange (REFI-QDA) one to one:

- ``coders``     the people (or scripts) who code; every segment names its coder.
- ``documents``  transcripts as plain text; ``n_chars`` is the length in Unicode code points.
  A document's text is immutable once it has a coded segment (a trigger refuses the update),
  because every segment's offsets point into that exact text.
- ``speaker_turns`` the turns recognised at import ("Interviewer:", "Coordinator:").
- ``codes``      the hierarchical codebook (themes, subthemes): ``key`` is the stable identity
  that codebook.yml uses, ``name`` what people read; ``parent_id`` builds the tree.
- ``segments``   a coded span: document, ``start``/``end`` in code points (end exclusive), code,
  coder, time, optional memo. A trigger refuses spans past the end of the document.
- ``memos``      notes on the project, a document, a code, a segment or a case.
- ``cases`` + ``case_attributes`` + ``case_documents``: e.g. one case per cluster with
  region, size and the ``cluster_id`` that joins to the quantitative data.

Offsets are Unicode code points, i.e. Python string indices: ``text[start:end]`` is the quote.

Concurrency: WAL journal, ``busy_timeout`` and ``BEGIN IMMEDIATE`` for every write, so several
processes may code the same store at once without losing a segment.

Example
-------
>>> from evaluation.qualitative.store import Store
>>> store = Store.create(":memory:")
>>> doc = store.add_document("interview 1", "Coordinator: We lacked data.")
>>> code = store.add_code("obtaining_data", "Obtaining data")
>>> seg = store.add_segment(doc, code, 13, 28, coder="anna")
>>> store.segment_text(seg)
'We lacked data.'
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.errors import EvaluationError

SCHEMA_VERSION = 1
DEFAULT_STORE = Path("qualitative") / "coding.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS project (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS coders (
    id   INTEGER PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS documents (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    text        TEXT NOT NULL,
    n_chars     INTEGER NOT NULL CHECK (n_chars >= 0),
    sha256      TEXT NOT NULL,
    source_path TEXT,
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS speaker_turns (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start       INTEGER NOT NULL,
    "end"       INTEGER NOT NULL,
    speaker     TEXT NOT NULL,
    CHECK (0 <= start AND start < "end")
);
CREATE INDEX IF NOT EXISTS speaker_turns_document ON speaker_turns(document_id, start);
CREATE TABLE IF NOT EXISTS codes (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES codes(id) ON DELETE RESTRICT,
    description TEXT NOT NULL DEFAULT '',
    colour      TEXT,
    codable     INTEGER NOT NULL DEFAULT 1,
    position    INTEGER NOT NULL DEFAULT 0,
    CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE TABLE IF NOT EXISTS segments (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE RESTRICT,
    code_id     INTEGER NOT NULL REFERENCES codes(id) ON DELETE RESTRICT,
    coder_id    INTEGER NOT NULL REFERENCES coders(id) ON DELETE RESTRICT,
    start       INTEGER NOT NULL,
    "end"       INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    memo        TEXT,
    CHECK (0 <= start AND start < "end")
);
CREATE INDEX IF NOT EXISTS segments_document ON segments(document_id, start);
CREATE INDEX IF NOT EXISTS segments_code ON segments(code_id);
CREATE INDEX IF NOT EXISTS segments_coder ON segments(coder_id);
CREATE TABLE IF NOT EXISTS cases (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS case_attributes (
    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    value   TEXT,
    PRIMARY KEY (case_id, name)
);
CREATE TABLE IF NOT EXISTS case_documents (
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    PRIMARY KEY (case_id, document_id)
);
CREATE TABLE IF NOT EXISTS memos (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    target      TEXT NOT NULL CHECK (target IN ('project', 'document', 'code', 'segment', 'case')),
    document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
    code_id     INTEGER REFERENCES codes(id) ON DELETE CASCADE,
    segment_id  INTEGER REFERENCES segments(id) ON DELETE CASCADE,
    case_id     INTEGER REFERENCES cases(id) ON DELETE CASCADE,
    coder_id    INTEGER REFERENCES coders(id),
    title       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    CHECK ((target = 'project') = (document_id IS NULL AND code_id IS NULL
                                   AND segment_id IS NULL AND case_id IS NULL)),
    CHECK (target <> 'document' OR document_id IS NOT NULL),
    CHECK (target <> 'code' OR code_id IS NOT NULL),
    CHECK (target <> 'segment' OR segment_id IS NOT NULL),
    CHECK (target <> 'case' OR case_id IS NOT NULL)
);
CREATE TRIGGER IF NOT EXISTS segment_within_document_insert
BEFORE INSERT ON segments
WHEN NEW."end" > (SELECT n_chars FROM documents WHERE id = NEW.document_id)
BEGIN
    SELECT RAISE(ABORT, 'segment ends past the end of its document');
END;
CREATE TRIGGER IF NOT EXISTS segment_within_document_update
BEFORE UPDATE OF start, "end", document_id ON segments
WHEN NEW."end" > (SELECT n_chars FROM documents WHERE id = NEW.document_id)
BEGIN
    SELECT RAISE(ABORT, 'segment ends past the end of its document');
END;
CREATE TRIGGER IF NOT EXISTS document_text_immutable_once_coded
BEFORE UPDATE OF text, n_chars ON documents
WHEN EXISTS (SELECT 1 FROM segments WHERE document_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'document text is immutable once coded');
END;
"""


class StoreError(EvaluationError, ValueError):
    """A request the store refuses; the message says what was wrong and what to do."""


def now_iso() -> str:
    """The current UTC time as ISO 8601 with a 'Z' (the form REFI-QDA uses)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_guid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Code:
    id: int
    key: str
    name: str
    parent_id: int | None
    description: str
    colour: str | None
    guid: str


class Store:
    """A qualitative project in one SQLite file (see the module docstring for the model)."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self.connection = connection
        self.path = path

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(
        cls, path: str | os.PathLike = DEFAULT_STORE, *, name: str = "qualitative project"
    ) -> Store:
        """Create (or open, if it exists) a store at ``path``."""
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls._connect(path)
        # executescript runs a transaction per statement batch; IF NOT EXISTS makes it idempotent
        store.connection.executescript(_SCHEMA)
        with store.transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO project VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            cur.execute("INSERT OR IGNORE INTO project VALUES ('name', ?)", (name,))
            cur.execute("INSERT OR IGNORE INTO project VALUES ('guid', ?)", (new_guid(),))
            cur.execute("INSERT OR IGNORE INTO project VALUES ('created_at', ?)", (now_iso(),))
        return store

    @classmethod
    def open(cls, path: str | os.PathLike = DEFAULT_STORE) -> Store:
        """Open an existing store; a clear error if there is none at ``path``."""
        if str(path) != ":memory:" and not Path(path).is_file():
            raise StoreError(
                f"no coding store at {path}: create one with `workbench qual init --store {path}`"
            )
        store = cls._connect(str(path))
        try:
            version = store.connection.execute(
                "SELECT value FROM project WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path} is not a coding store ({error})") from None
        if version is None or int(version[0]) != SCHEMA_VERSION:
            raise StoreError(f"{path}: unsupported store schema version {version}")
        return store

    @classmethod
    def _connect(cls, path: str) -> Store:
        connection = sqlite3.connect(
            path, isolation_level=None, timeout=60.0, check_same_thread=False
        )
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 60000")
        if path != ":memory:":
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
        return cls(connection, path)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front so that two
        processes never both read-then-write; all or nothing. Nested calls join the outer one."""
        cur = self.connection.cursor()
        if self.connection.in_transaction:
            yield cur
            return
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")

    # ------------------------------------------------------------------ project
    def project_info(self) -> dict[str, str]:
        return dict(self.connection.execute("SELECT key, value FROM project").fetchall())

    # ------------------------------------------------------------------ coders
    def coder_id(self, name: str, *, create: bool = True, guid: str | None = None) -> int:
        """The id of coder ``name``, created on first use unless ``create`` is False."""
        row = self.connection.execute("SELECT id FROM coders WHERE name = ?", (name,)).fetchone()
        if row:
            return row[0]
        if not create:
            raise StoreError(
                f"no coder named {name!r}; known coders: {', '.join(self.coders()) or 'none'}"
            )
        with self.transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO coders (guid, name) VALUES (?, ?)",
                (guid or new_guid(), name),
            )
            return cur.execute("SELECT id FROM coders WHERE name = ?", (name,)).fetchone()[0]

    def coders(self) -> list[str]:
        return [r[0] for r in self.connection.execute("SELECT name FROM coders ORDER BY name")]

    # ------------------------------------------------------------------ documents
    def add_document(
        self,
        name: str,
        text: str,
        *,
        source_path: str | None = None,
        turns: Iterable[tuple[int, int, str]] = (),
        guid: str | None = None,
    ) -> int:
        """Add a document (its text as given); returns its id. Names are unique."""
        if self.connection.execute("SELECT 1 FROM documents WHERE name = ?", (name,)).fetchone():
            raise StoreError(
                f"a document named {name!r} is already in the store; rename the file or remove the "
                "old document first"
            )
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO documents (guid, name, text, n_chars, sha256, source_path, "
                "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (guid or new_guid(), name, text, len(text), digest, source_path, now_iso()),
            )
            document_id = cur.lastrowid
            cur.executemany(
                'INSERT INTO speaker_turns (document_id, start, "end", speaker) VALUES (?, ?, '
                "?, ?)",
                [(document_id, s, e, sp) for s, e, sp in turns],
            )
        return document_id

    def replace_document_text(self, document: int | str, text: str) -> None:
        """Replace an uncoded document's text (refused by the store once it has segments)."""
        document_id = self.document_id(document)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        try:
            with self.transaction() as cur:
                cur.execute(
                    "UPDATE documents SET text = ?, n_chars = ?, sha256 = ? WHERE id = ?",
                    (text, len(text), digest, document_id),
                )
        except sqlite3.IntegrityError as error:
            raise StoreError(
                f"document {document!r}: {error}; import the new version as a new document"
            ) from None

    def document_id(self, document: int | str) -> int:
        if isinstance(document, int):
            row = self.connection.execute(
                "SELECT id FROM documents WHERE id = ?", (document,)
            ).fetchone()
        else:
            row = self.connection.execute(
                "SELECT id FROM documents WHERE name = ?", (document,)
            ).fetchone()
        if row is None:
            raise StoreError(
                f"no document {document!r} in the store (see `workbench qual documents`)"
            )
        return row[0]

    def document_text(self, document: int | str) -> str:
        return self.connection.execute(
            "SELECT text FROM documents WHERE id = ?", (self.document_id(document),)
        ).fetchone()[0]

    def documents(self, *, with_text: bool = False) -> pd.DataFrame:
        columns = "id, guid, name, n_chars, sha256, source_path, imported_at" + (
            ", text" if with_text else ""
        )
        return pd.read_sql_query(f"SELECT {columns} FROM documents ORDER BY id", self.connection)

    def speaker_turns(self, document: int | str | None = None) -> pd.DataFrame:
        query = 'SELECT document_id, start, "end", speaker FROM speaker_turns'
        params: tuple = ()
        if document is not None:
            query += " WHERE document_id = ?"
            params = (self.document_id(document),)
        return pd.read_sql_query(
            query + " ORDER BY document_id, start", self.connection, params=params
        )

    # ------------------------------------------------------------------ codes
    def add_code(
        self,
        key: str,
        name: str | None = None,
        *,
        parent: int | str | None = None,
        description: str = "",
        colour: str | None = None,
        codable: bool = True,
        guid: str | None = None,
        position: int = 0,
    ) -> int:
        """Add a code; ``parent`` (id or key) makes it a subtheme. Returns its id."""
        parent_id = None if parent is None else self.code_id(parent)
        try:
            with self.transaction() as cur:
                cur.execute(
                    "INSERT INTO codes (guid, key, name, parent_id, description, colour, codable, "
                    "position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        guid or new_guid(),
                        key,
                        name or key,
                        parent_id,
                        description,
                        colour,
                        int(codable),
                        position,
                    ),
                )
                return cur.lastrowid
        except sqlite3.IntegrityError as error:
            raise StoreError(f"cannot add code {key!r}: {error}") from None

    def code_id(self, code: int | str) -> int:
        """A code's id from its id, key, or path of names ("Obtaining data/Challenges")."""
        if isinstance(code, int):
            row = self.connection.execute("SELECT id FROM codes WHERE id = ?", (code,)).fetchone()
        else:
            row = self.connection.execute("SELECT id FROM codes WHERE key = ?", (code,)).fetchone()
            if row is None:
                paths = self.code_paths()
                matches = [i for i, p in paths.items() if p == code]
                row = (matches[0],) if len(matches) == 1 else None
        if row is None:
            raise StoreError(
                f"no code {code!r} in the codebook (see `workbench qual codebook show`)"
            )
        return row[0]

    def codes(self) -> pd.DataFrame:
        """The codebook as a frame: id, key, name, parent_id, path, depth, description, colour,
        guid."""
        frame = pd.read_sql_query(
            "SELECT id, guid, key, name, parent_id, description, colour, codable, position "
            "FROM codes ORDER BY position, id",
            self.connection,
        )
        paths = self.code_paths()
        frame["path"] = frame["id"].map(paths)
        frame["depth"] = frame["path"].str.count("/")
        frame["parent_id"] = frame["parent_id"].astype("Int64")
        return frame

    def code_paths(self) -> dict[int, str]:
        rows = self.connection.execute("SELECT id, name, parent_id FROM codes").fetchall()
        by_id = {r[0]: (r[1], r[2]) for r in rows}
        paths: dict[int, str] = {}
        for code_id in by_id:
            names, seen, current = [], set(), code_id
            while current is not None:
                if current in seen:
                    raise StoreError(f"the codebook has a cycle through code id {current}")
                seen.add(current)
                name, parent = by_id[current]
                names.append(name)
                current = parent
            paths[code_id] = "/".join(reversed(names))
        return paths

    def code_theme(self) -> dict[int, int]:
        """Each code's top-level ancestor (its theme)."""
        rows = dict(self.connection.execute("SELECT id, parent_id FROM codes").fetchall())
        theme = {}
        for code_id in rows:
            current = code_id
            while rows[current] is not None:
                current = rows[current]
            theme[code_id] = current
        return theme

    # ------------------------------------------------------------------ segments
    def add_segment(
        self,
        document: int | str,
        code: int | str,
        start: int,
        end: int,
        *,
        coder: str,
        memo: str | None = None,
        guid: str | None = None,
        created_at: str | None = None,
    ) -> int:
        """Code ``text[start:end]`` of ``document`` with ``code``; offsets in code points."""
        return self.add_segments(
            [(self.document_id(document), self.code_id(code), start, end, memo, guid, created_at)],
            coder=coder,
        )[0]

    def add_segments(self, rows: Iterable[tuple], *, coder: str) -> list[int]:
        """Add many segments in one transaction: rows of (document_id, code_id, start, end[, memo,
        guid, created_at]). All or nothing: one bad span rolls back the whole batch."""
        coder_id = self.coder_id(coder)
        stamp = now_iso()
        prepared = []
        for row in rows:
            document_id, code_id, start, end, *rest = row
            memo, guid, created_at = (list(rest) + [None, None, None])[:3]
            if not (isinstance(start, int) and isinstance(end, int)) or start < 0 or end <= start:
                raise StoreError(
                    f"segment {start}-{end} in document {document_id}: expected 0 <= start < "
                    "end (code points)"
                )
            prepared.append(
                (
                    guid or new_guid(),
                    document_id,
                    code_id,
                    coder_id,
                    start,
                    end,
                    created_at or stamp,
                    memo,
                )
            )
        try:
            with self.transaction() as cur:
                first = cur.execute("SELECT COALESCE(MAX(id), 0) FROM segments").fetchone()[0]
                cur.executemany(
                    "INSERT INTO segments "
                    '(guid, document_id, code_id, coder_id, start, "end", created_at, memo)'
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    prepared,
                )
        except sqlite3.IntegrityError as error:
            raise StoreError(f"segments refused, nothing written: {error}") from None
        # ids are assigned in order inside our exclusive write transaction
        return list(range(first + 1, first + 1 + len(prepared)))

    def delete_segment(self, segment_id: int) -> None:
        self.delete_segments([segment_id])

    def delete_segments(self, segment_ids: Iterable[int]) -> int:
        """Delete segments (and their memos) in one transaction; returns how many were deleted."""
        ids = [(int(i),) for i in segment_ids]
        with self.transaction() as cur:
            cur.executemany("DELETE FROM segments WHERE id = ?", ids)
            return cur.rowcount if len(ids) == 1 else len(ids)

    def segment_ids_by_guid(self, guids: Iterable[str]) -> dict[str, int]:
        """{guid: id} for the segments with these GUIDs (unknown GUIDs are left out)."""
        guids = list(guids)
        found: dict[str, int] = {}
        for offset in range(0, len(guids), 900):  # SQLite's limit on bound parameters
            chunk = guids[offset : offset + 900]
            found.update(
                self.connection.execute(
                    f"SELECT guid, id FROM segments WHERE guid IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        return found

    def delete_document(self, document: int | str, *, with_segments: bool = False) -> None:
        """Delete a document; refused while it has segments unless ``with_segments=True``."""
        document_id = self.document_id(document)
        with self.transaction() as cur:
            coded = cur.execute(
                "SELECT COUNT(*) FROM segments WHERE document_id = ?", (document_id,)
            ).fetchone()[0]
            if coded and not with_segments:
                raise StoreError(
                    f"document {document!r} has {coded} segment(s); pass with_segments=True to "
                    "delete them too"
                )
            cur.execute("DELETE FROM segments WHERE document_id = ?", (document_id,))
            cur.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    def segment_text(self, segment_id: int) -> str:
        row = self.connection.execute(
            'SELECT substr(d.text, s.start + 1, s."end" - s.start) FROM segments s '
            "JOIN documents d ON d.id = s.document_id WHERE s.id = ?",
            (segment_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no segment {segment_id}")
        return row[0]

    def segments(
        self, *, with_text: bool = False, coders: Iterable[str] | None = None, details: bool = True
    ) -> pd.DataFrame:
        """All segments, ordered by document and position: id, guid, document_id, document,
        code_id, code_key, coder, start, end, created_at, memo (and ``text`` if asked).
        ``details=False`` leaves out guid, created_at and memo, which analyses of positions,
        codes and coders (agreement, co-occurrence) do not need
        (docs/decisions/0022-segment-frames-built-by-column.md)."""
        text = ', substr(d.text, s.start + 1, s."end" - s.start)' if with_text else ""
        join = " JOIN documents d ON d.id = s.document_id" if with_text else ""
        extra = ", s.guid, s.created_at, s.memo" if details else ""
        query = (
            f'SELECT s.id, s.document_id, s.code_id, s.coder_id, s.start, s."end"{extra}{text} '
            f"FROM segments s{join}"
        )
        params: list = []
        coder_names = dict(self.connection.execute("SELECT id, name FROM coders").fetchall())
        if coders is not None:
            wanted = [i for i, name in coder_names.items() if name in set(coders)]
            query += f" WHERE s.coder_id IN ({','.join('?' * len(wanted)) or 'NULL'})"
            params = wanted
        rows = self.connection.execute(query, params).fetchall()
        names = ["id", "document_id", "code_id", "coder_id", "start", "end"]
        names += (["guid", "created_at", "memo"] if details else []) + (
            ["text"] if with_text else []
        )
        # typed columns, not row tuples (docs/decisions/0022-segment-frames-built-by-column.md)
        columns = list(zip(*rows)) if rows else [[] for _ in names]
        frame = pd.DataFrame(
            {
                name: np.asarray(values, dtype=np.int64)
                if name in ("id", "document_id", "code_id", "coder_id", "start", "end")
                else np.asarray(values, dtype=object)
                for name, values in zip(names, columns)
            }
        )
        document_names = dict(self.connection.execute("SELECT id, name FROM documents").fetchall())
        code_keys = dict(self.connection.execute("SELECT id, key FROM codes").fetchall())
        frame["document"] = frame["document_id"].map(document_names).astype(object)
        frame["code_key"] = frame["code_id"].map(code_keys).astype(object)
        frame["coder"] = frame.pop("coder_id").map(coder_names).astype(object)
        order = np.lexsort(
            (frame["id"].to_numpy(), frame["start"].to_numpy(), frame["document_id"].to_numpy())
        )
        leading = [
            "id",
            "guid",
            "document_id",
            "document",
            "code_id",
            "code_key",
            "coder",
            "start",
            "end",
            "created_at",
            "memo",
            "text",
        ]
        return frame.iloc[order][[c for c in leading if c in frame.columns]].reset_index(drop=True)

    # ------------------------------------------------------------------ memos
    def add_memo(
        self,
        text: str,
        *,
        target: str = "project",
        target_id: int | str | None = None,
        coder: str | None = None,
        title: str = "",
        guid: str | None = None,
    ) -> int:
        """A memo on the project, a document, a code, a segment or a case."""
        columns = {
            "document": "document_id",
            "code": "code_id",
            "segment": "segment_id",
            "case": "case_id",
        }
        if target not in ("project", *columns):
            raise StoreError(
                f"memo target {target!r}: expected project, document, code, segment or case"
            )
        values = {c: None for c in columns.values()}
        if target != "project":
            if target_id is None:
                raise StoreError(f"a memo on a {target} needs the {target}'s id or name")
            resolve = {
                "document": self.document_id,
                "code": self.code_id,
                "segment": lambda s: int(s),
                "case": self.case_id,
            }[target]
            values[columns[target]] = resolve(target_id)
        coder_id = self.coder_id(coder) if coder else None
        try:
            with self.transaction() as cur:
                cur.execute(
                    "INSERT INTO memos (guid, target, document_id, code_id, segment_id, case_id, "
                    "coder_id, title, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        guid or new_guid(),
                        target,
                        *values.values(),
                        coder_id,
                        title,
                        text,
                        now_iso(),
                    ),
                )
                return cur.lastrowid
        except sqlite3.IntegrityError as error:
            raise StoreError(f"memo refused: {error} (does the {target} exist?)") from None

    def memos(self) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT m.id, m.guid, m.target, m.document_id, m.code_id, m.segment_id, m.case_id, "
            "k.name AS coder, m.title, m.text, m.created_at FROM memos m "
            "LEFT JOIN coders k ON k.id = m.coder_id ORDER BY m.id",
            self.connection,
        )

    # ------------------------------------------------------------------ cases
    def add_case(
        self,
        name: str,
        *,
        attributes: dict[str, object] | None = None,
        documents: Iterable[int | str] = (),
        description: str = "",
        guid: str | None = None,
    ) -> int:
        """Add (or update) a case with attributes and linked documents; returns its id."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO cases (guid, name, description) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET description = excluded.description",
                (guid or new_guid(), name, description),
            )
            case_id = cur.execute("SELECT id FROM cases WHERE name = ?", (name,)).fetchone()[0]
            for key, value in (attributes or {}).items():
                cur.execute(
                    "INSERT INTO case_attributes VALUES (?, ?, ?) "
                    "ON CONFLICT(case_id, name) DO UPDATE SET value = excluded.value",
                    (case_id, key, None if value is None else str(value)),
                )
            for document in documents:
                cur.execute(
                    "INSERT OR IGNORE INTO case_documents VALUES (?, ?)",
                    (case_id, self.document_id(document)),
                )
        return case_id

    def case_id(self, case: int | str) -> int:
        column = "id" if isinstance(case, int) else "name"
        row = self.connection.execute(
            f"SELECT id FROM cases WHERE {column} = ?", (case,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no case {case!r} in the store (see `workbench qual cases`)")
        return row[0]

    def cases(self) -> pd.DataFrame:
        """One row per case: case_id, case, guid, description, then one column per attribute."""
        cases = pd.read_sql_query(
            'SELECT id AS case_id, name AS "case", guid, description FROM cases ORDER BY id',
            self.connection,
        )
        attributes = pd.read_sql_query(
            "SELECT case_id, name, value FROM case_attributes", self.connection
        )
        if len(attributes):
            wide = attributes.pivot(index="case_id", columns="name", values="value").reset_index()
            wide.columns.name = None
            cases = cases.merge(wide, on="case_id", how="left")
        return cases

    def case_documents(self) -> pd.DataFrame:
        return pd.read_sql_query(
            'SELECT cd.case_id, c.name AS "case", cd.document_id FROM case_documents cd '
            "JOIN cases c ON c.id = cd.case_id ORDER BY cd.case_id, cd.document_id",
            self.connection,
        )

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict[str, int]:
        counts = {}
        for table in ("documents", "codes", "segments", "coders", "memos", "cases"):
            counts[table] = self.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return counts
