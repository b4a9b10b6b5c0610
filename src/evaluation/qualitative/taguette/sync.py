"""Bring a Taguette project's state into the coding store: the heart of pull and offline import.

A :class:`Snapshot` is everything one Taguette project holds (documents as stored HTML, tags,
highlights with UTF-8 byte offsets), read from a live server (:func:`fetch_snapshot`) or from
an export file (:mod:`evaluation.qualitative.taguette.offline`). :func:`apply_snapshot` makes the
store agree with it, in **one store transaction** (all or nothing):

- documents are matched to the store's (by earlier link, else by identical text) or added with
  Taguette's text; a document's text in the store never changes;
- tags become codes: a dotted path ``Theme.Subtheme`` is the code ``Subtheme`` under ``Theme``
  (a ``.`` inside a code's name travels as ``․``, U+2024); renames and new descriptions made in
  Taguette are carried over to the linked code;
- each (highlight, tag) pair becomes one segment of the source's coder, with code-point offsets
  mapped through the stored HTML (:class:`~evaluation.qualitative.taguette.offsets.OffsetMap`);
  highlights moved, re-tagged or deleted in Taguette move, change or delete their segments.

Applying the same snapshot twice changes nothing (the report says so).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from evaluation.errors import EvaluationError
from evaluation.qualitative.importers import find_speaker_turns
from evaluation.qualitative.store import Store, StoreError, now_iso
from evaluation.qualitative.taguette.links import ensure_link_tables, linked, source_id
from evaluation.qualitative.taguette.offsets import OffsetMap, parse_stored_html, taguette_form

TAG_SEPARATOR = "."
DOT_IN_NAME = "\u2024"  # ONE DOT LEADER: a "." inside a code name, so it is not read as a level


class TaguetteSyncError(EvaluationError, ValueError):
    """The snapshot cannot be applied; nothing was written. The message says why."""


@dataclass(frozen=True)
class TaguetteDocument:
    key: str
    name: str
    html: str
    description: str = ""


@dataclass(frozen=True)
class TaguetteTag:
    key: str
    path: str
    description: str = ""


@dataclass(frozen=True)
class TaguetteHighlight:
    key: str
    document_key: str
    start: int  # UTF-8 bytes into the document's text nodes
    end: int
    tag_keys: tuple[str, ...]


@dataclass
class Snapshot:
    """One Taguette project as read at one moment."""

    server: str
    project_id: str
    name: str
    user_login: str
    documents: list[TaguetteDocument]
    tags: list[TaguetteTag]
    highlights: list[TaguetteHighlight]
    description: str = ""


@dataclass
class SyncReport:
    """What a pull or import changed in the store."""

    source: str
    coder: str
    documents_added: int = 0
    documents_linked: int = 0
    codes_added: int = 0
    codes_updated: int = 0
    segments_added: int = 0
    segments_updated: int = 0
    segments_deleted: int = 0
    segments_unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    text_differences: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.documents_added
            or self.documents_linked
            or self.codes_added
            or self.codes_updated
            or self.segments_added
            or self.segments_updated
            or self.segments_deleted
        )

    def __str__(self) -> str:
        lines = [
            f"{self.source} as coder {self.coder!r}: "
            f"{self.segments_added} segments added, {self.segments_updated} updated, "
            f"{self.segments_deleted} deleted, {self.segments_unchanged} unchanged; "
            f"{self.documents_added} documents added, {self.documents_linked} linked; "
            f"{self.codes_added} codes added, {self.codes_updated} updated"
        ]
        lines += [f"  skipped: {reason}" for reason in self.skipped]
        lines += [f"  note: {note}" for note in self.text_differences]
        return "\n".join(lines)


def tag_path_of(names: list[str]) -> str:
    """The Taguette tag path for a code's chain of names (theme first)."""
    return TAG_SEPARATOR.join(name.replace(TAG_SEPARATOR, DOT_IN_NAME) for name in names)


def names_of_tag_path(path: str) -> list[str]:
    return [
        part.strip().replace(DOT_IN_NAME, TAG_SEPARATOR)
        for part in path.split(TAG_SEPARATOR)
        if part.strip()
    ]


def code_tag_paths(store: Store) -> dict[int, str]:
    """Every code's Taguette tag path (dotted names from the theme down)."""
    rows = store.connection.execute("SELECT id, name, parent_id FROM codes").fetchall()
    by_id = {r[0]: (r[1], r[2]) for r in rows}
    paths = {}
    for code_id in by_id:
        names, current, seen = [], code_id, set()
        while current is not None and current not in seen:
            seen.add(current)
            name, current = by_id[current]
            names.append(name)
        paths[code_id] = tag_path_of(list(reversed(names)))
    return paths


_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})


def code_key_for(path: str, taken: set[str]) -> str:
    """A codebook key from a tag path (ASCII, as codebook.yml wants), unique among ``taken``."""
    folded = unicodedata.normalize("NFKD", path.translate(_FOLD)).encode("ascii", "ignore").decode()
    base = (
        re.sub(r"[^A-Za-z0-9_.\-]+", "_", folded.lower().replace(DOT_IN_NAME, "_")).strip("_.-")
        or "tag"
    )
    if not re.match(r"[A-Za-z0-9_]", base):
        base = "tag_" + base
    key, suffix = base, 2
    while key in taken:
        key, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(key)
    return key


class _Codebook:
    """Find or create codes by tag path inside the pull's transaction."""

    def __init__(self, store: Store, report: SyncReport) -> None:
        self.store = store
        self.report = report
        self.keys = {r[0] for r in store.connection.execute("SELECT key FROM codes")}

    def child(self, name: str, parent_id: int | None) -> int | None:
        row = self.store.connection.execute(
            "SELECT id FROM codes WHERE name = ? AND parent_id IS ? ORDER BY id LIMIT 1",
            (name, parent_id),
        ).fetchone()
        return row[0] if row else None

    def resolve(self, path: str, description: str = "", *, create: bool = True) -> int | None:
        """The code for ``path``: by its key, else by its chain of names; created if absent."""
        row = self.store.connection.execute(
            "SELECT id FROM codes WHERE key = ?", (path,)
        ).fetchone()
        if row:
            return row[0]
        names = names_of_tag_path(path)
        if not names:
            raise TaguetteSyncError(f"tag path {path!r} has no name in it")
        parent_id: int | None = None
        for depth, name in enumerate(names):
            code_id = self.child(name, parent_id)
            if code_id is None:
                if not create:
                    return None
                prefix = tag_path_of(names[: depth + 1])
                code_id = self.store.add_code(
                    code_key_for(prefix, self.keys),
                    name,
                    parent=parent_id,
                    description=description if depth == len(names) - 1 else "",
                )
                self.report.codes_added += 1
            parent_id = code_id
        return parent_id

    def move(self, code_id: int, path: str) -> None:
        """Rename and re-parent a linked code after its tag was renamed in Taguette."""
        names = names_of_tag_path(path)
        parent_id = self.resolve(tag_path_of(names[:-1])) if len(names) > 1 else None
        ancestor = parent_id
        while ancestor is not None:
            if ancestor == code_id:
                raise TaguetteSyncError(
                    f"tag renamed to {path!r} in Taguette would put its code under itself; rename "
                    "it there to a path outside its own subtree and pull again"
                )
            ancestor = self.store.connection.execute(
                "SELECT parent_id FROM codes WHERE id = ?", (ancestor,)
            ).fetchone()[0]
        self.store.connection.execute(
            "UPDATE codes SET name = ?, parent_id = ? WHERE id = ?", (names[-1], parent_id, code_id)
        )


def fetch_snapshot(
    client,
    project_id: int,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> Snapshot:
    """Read a whole project from a live server (documents, tags, highlights); no store writes.

    ``progress(done, total, document_name)`` is called after each document.
    """
    listing = client.project(project_id)
    documents, highlights = [], []
    total = len(listing.documents)
    for done, (document_id, meta) in enumerate(sorted(listing.documents.items()), start=1):
        html = client.document_html(project_id, document_id)
        documents.append(
            TaguetteDocument(
                str(document_id),
                meta.get("name", f"document {document_id}"),
                html,
                meta.get("description", ""),
            )
        )
        for highlight in client.document_highlights(project_id, document_id):
            highlights.append(
                TaguetteHighlight(
                    key=str(highlight["id"]),
                    document_key=str(document_id),
                    start=int(highlight["start_offset"]),
                    end=int(highlight["end_offset"]),
                    tag_keys=tuple(str(t) for t in highlight.get("tags", [])),
                )
            )
        if progress is not None:
            progress(done, total, documents[-1].name)
    tags = [
        TaguetteTag(str(tag_id), tag["path"], tag.get("description", ""))
        for tag_id, tag in sorted(listing.tags.items())
    ]
    return Snapshot(
        server=client.base_url,
        project_id=str(project_id),
        name=listing.name,
        user_login=listing.user_login or "",
        documents=documents,
        tags=tags,
        highlights=highlights,
        description=listing.description,
    )


def _source_label(snapshot: Snapshot) -> str:
    if snapshot.server.startswith(("http://", "https://")):
        return f"Taguette project {snapshot.project_id} at {snapshot.server}"
    return f"Taguette {snapshot.server} {snapshot.project_id!r}"


def apply_snapshot(store: Store, snapshot: Snapshot, *, coder: str | None = None) -> SyncReport:
    """Make the store agree with ``snapshot`` (see the module docstring); one transaction.

    ``coder``: whose coding the project holds (one Taguette project per coder for blind
    parallel coding). Default: the coder of an earlier pull of this project, else the Taguette
    login. Pulling a project as a different coder than before is refused.
    """
    with store.transaction() as cur:
        ensure_link_tables(cur)
        source = source_id(cur, snapshot.server, snapshot.project_id, name=snapshot.name)
        coder = _coder_for(store, cur, source, coder, snapshot)
        report = SyncReport(source=_source_label(snapshot), coder=coder)
        coder_id = store.coder_id(coder)
        cur.execute("UPDATE taguette_sources SET coder_id = ? WHERE id = ?", (coder_id, source))

        documents, maps = _apply_documents(store, cur, source, snapshot, report)
        used_tags = {key for highlight in snapshot.highlights for key in highlight.tag_keys}
        codes = _apply_tags(store, cur, source, snapshot, used_tags, report)
        _apply_highlights(
            store, cur, source, snapshot, documents, maps, codes, coder, coder_id, report
        )
        cur.execute("UPDATE taguette_sources SET pulled_at = ? WHERE id = ?", (now_iso(), source))
    return report


def _coder_for(store: Store, cur, source: int, coder: str | None, snapshot: Snapshot) -> str:
    row = cur.execute(
        "SELECT k.name FROM taguette_sources t JOIN coders k ON k.id = t.coder_id WHERE t.id = ?",
        (source,),
    ).fetchone()
    earlier = row[0] if row else None
    if coder and earlier and coder != earlier:
        has_segments = cur.execute(
            "SELECT COUNT(*) FROM taguette_segments WHERE source_id = ?", (source,)
        ).fetchone()[0]
        if has_segments:
            raise TaguetteSyncError(
                f"{_source_label(snapshot)} was pulled as coder {earlier!r} before; pull it as "
                f"{earlier!r} again (one Taguette project holds one coder's work), or pull another "
                f"project for coder {coder!r}"
            )
    return coder or earlier or snapshot.user_login or "taguette"


def _unique_document_name(store: Store, name: str, snapshot: Snapshot, key: str) -> str:
    taken = lambda candidate: store.connection.execute(  # noqa: E731
        "SELECT 1 FROM documents WHERE name = ?", (candidate,)
    ).fetchone()
    if not taken(name):
        return name
    base = f"{name} (Taguette {snapshot.project_id}, document {key})"
    candidate, suffix = base, 2
    while taken(candidate):
        candidate, suffix = f"{base} {suffix}", suffix + 1
    return candidate


def _apply_documents(store: Store, cur, source: int, snapshot: Snapshot, report: SyncReport):
    links = linked(cur, "taguette_documents", source)
    by_normal_text: dict[str, int] | None = None
    documents: dict[str, int] = {}
    maps: dict[str, OffsetMap] = {}
    for document in snapshot.documents:
        text, readable, partner = parse_stored_html(document.html)
        store_id = links.get(document.key)
        if store_id is None:
            # same name and same text first (what a push leaves), then any document with the text
            row = cur.execute(
                "SELECT id, text FROM documents WHERE name = ?", (document.name,)
            ).fetchone()
            if row is not None and taguette_form(row[1]) in (text, readable):
                store_id = row[0]
            else:
                if by_normal_text is None:
                    by_normal_text = {}
                    for doc_id, doc_text in cur.execute(
                        "SELECT id, text FROM documents ORDER BY id"
                    ):
                        by_normal_text.setdefault(taguette_form(doc_text), doc_id)
                store_id = by_normal_text.get(text) or by_normal_text.get(readable)
            if store_id is None:
                name = _unique_document_name(store, document.name, snapshot, document.key)
                source_path = (
                    f"{snapshot.server}/project/{snapshot.project_id}/document/{document.key}"
                    if snapshot.server.startswith(("http://", "https://"))
                    else f"taguette:{snapshot.server}:{snapshot.project_id}:{document.key}"
                )
                # born in Taguette: keep its text, with line breaks where its blocks meet
                store_id = store.add_document(
                    name, readable, source_path=source_path, turns=find_speaker_turns(readable)
                )
                report.documents_added += 1
            else:
                report.documents_linked += 1
            cur.execute(
                "INSERT INTO taguette_documents (source_id, taguette_key, document_id) VALUES "
                "(?, ?, ?)",
                (source, document.key, store_id),
            )
        documents[document.key] = store_id
        store_text = cur.execute("SELECT text FROM documents WHERE id = ?", (store_id,)).fetchone()[
            0
        ]
        if taguette_form(store_text) != text and store_text == readable:
            offsets = OffsetMap(text, store_text, partner=partner)  # only line breaks were added
        else:
            offsets = OffsetMap(text, store_text)
        if offsets.alignment.unmatched_taguette:
            report.text_differences.append(
                f"document {document.name!r}: Taguette's text differs from the store's in "
                f"{offsets.alignment.unmatched_taguette} characters (e.g. characters its sanitiser "
                "dropped); highlights were aligned to the store's text"
            )
        maps[document.key] = offsets
    gone = set(links) - {d.key for d in snapshot.documents}
    cur.executemany(
        "DELETE FROM taguette_documents WHERE source_id = ? AND taguette_key = ?",
        [(source, k) for k in gone],
    )
    return documents, maps


def _apply_tags(
    store: Store, cur, source: int, snapshot: Snapshot, used: set[str], report: SyncReport
) -> dict[str, int]:
    rows = cur.execute(
        "SELECT taguette_key, code_id, path, description FROM taguette_tags WHERE source_id = ?",
        (source,),
    ).fetchall()
    links = {r[0]: (r[1], r[2], r[3]) for r in rows}
    codebook = _Codebook(store, report)
    codes: dict[str, int] = {}
    for tag in snapshot.tags:
        if tag.key in links:
            code_id, old_path, old_description = links[tag.key]
            changed = False
            if tag.path != old_path:
                codebook.move(code_id, tag.path)
                changed = True
            if tag.description != old_description:
                cur.execute(
                    "UPDATE codes SET description = ? WHERE id = ?", (tag.description, code_id)
                )
                changed = True
            if changed:
                report.codes_updated += 1
                cur.execute(
                    "UPDATE taguette_tags SET path = ?, description = ? WHERE source_id = ? "
                    "AND taguette_key = ?",
                    (tag.path, tag.description, source, tag.key),
                )
        elif tag.key in used:
            # A tag nobody used (like the "interesting" every new project gets) adds no code.
            code_id = codebook.resolve(tag.path, tag.description)
            cur.execute(
                "INSERT INTO taguette_tags (source_id, taguette_key, code_id, path, "
                "description) VALUES (?, ?, ?, ?, ?)",
                (source, tag.key, code_id, tag.path, tag.description),
            )
        else:
            continue
        codes[tag.key] = code_id
    gone = set(links) - {t.key for t in snapshot.tags}
    cur.executemany(
        "DELETE FROM taguette_tags WHERE source_id = ? AND taguette_key = ?",
        [(source, k) for k in gone],
    )
    return codes


def _apply_highlights(
    store, cur, source, snapshot, documents, maps, codes, coder, coder_id, report
) -> None:
    names = {d.key: d.name for d in snapshot.documents}
    wanted: dict[str, tuple[int, int, int, int]] = {}
    for highlight in snapshot.highlights:
        if highlight.document_key not in documents:
            report.skipped.append(
                f"highlight {highlight.key}: its document {highlight.document_key} is not in "
                "the project"
            )
            continue
        offsets = maps[highlight.document_key]
        try:
            start, end = offsets.to_store(highlight.start, highlight.end)
        except ValueError as error:
            raise TaguetteSyncError(
                f"highlight {highlight.key} in {names[highlight.document_key]!r}: {error}"
            ) from None
        if start >= end:
            report.skipped.append(
                f"highlight {highlight.key} in {names[highlight.document_key]!r}: covers no "
                "text of the store's document"
            )
            continue
        if not highlight.tag_keys:
            report.skipped.append(
                f"highlight {highlight.key} in {names[highlight.document_key]!r}: has no tag"
            )
            continue
        if offsets.alignment.unmatched_taguette:
            stored = taguette_form(offsets.store[start:end])
            shown = offsets.taguette_span(highlight.start, highlight.end)
            if stored != shown:
                report.text_differences.append(
                    f"highlight {highlight.key} in {names[highlight.document_key]!r}: Taguette "
                    f"shows {shown!r}, the store's text is {stored!r}"
                )
        for tag_key in highlight.tag_keys:
            if tag_key not in codes:
                raise TaguetteSyncError(
                    f"highlight {highlight.key} names tag {tag_key}, which the project does not "
                    "list; the project changed while it was read: pull again"
                )
            wanted[f"{highlight.key}|{tag_key}"] = (
                documents[highlight.document_key],
                codes[tag_key],
                start,
                end,
            )

    links = linked(cur, "taguette_segments", source)
    current = {}
    if links:
        placeholders = ",".join("?" * len(links))
        for row in cur.execute(
            'SELECT id, document_id, code_id, start, "end", coder_id FROM segments WHERE id '
            f"IN ({placeholders})",
            list(links.values()),
        ):
            current[row[0]] = row[1:]
    new_keys, new_rows = [], []
    for key, (document_id, code_id, start, end) in wanted.items():
        segment_id = links.get(key)
        if segment_id is None or segment_id not in current:
            new_keys.append(key)
            new_rows.append((document_id, code_id, start, end))
            continue
        if current[segment_id] == (document_id, code_id, start, end, coder_id):
            report.segments_unchanged += 1
        else:
            cur.execute(
                'UPDATE segments SET document_id = ?, code_id = ?, start = ?, "end" = ?, '
                "coder_id = ? WHERE id = ?",
                (document_id, code_id, start, end, coder_id, segment_id),
            )
            report.segments_updated += 1
    for key, segment_id in links.items():
        if key not in wanted or segment_id not in current:
            if segment_id in current:
                cur.execute("DELETE FROM segments WHERE id = ?", (segment_id,))
                report.segments_deleted += 1
            cur.execute(
                "DELETE FROM taguette_segments WHERE source_id = ? AND taguette_key = ?",
                (source, key),
            )
    if new_rows:
        try:
            segment_ids = store.add_segments(new_rows, coder=coder)
        except StoreError as error:
            raise TaguetteSyncError(f"the store refused the pulled segments: {error}") from None
        cur.executemany(
            "INSERT INTO taguette_segments (source_id, taguette_key, segment_id) VALUES (?, ?, ?)",
            [(source, key, segment_id) for key, segment_id in zip(new_keys, segment_ids)],
        )
        report.segments_added += len(new_rows)
