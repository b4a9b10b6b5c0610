"""Push a coding store's transcripts and codebook to a Taguette project.

:func:`push` creates the project (or fills an existing one), uploads each transcript as UTF-8
HTML that Taguette converts in-process (no Calibre) and stores without loss apart from line
ends (see :mod:`~evaluation.qualitative.taguette.offsets`), and creates one tag per code: the
hierarchy as a dotted path (``Obtaining data.Challenges``) and the code's description.
``coder`` says whose project it is (blind parallel coding: one project per coder), so a later
pull files its highlights under that coder; with ``with_segments`` the coder's existing segments
are placed as highlights too, so a team can carry on coding in Taguette.

Everything pushed is linked in the store at once (document, tag and highlight ids), so pushing
again only adds what is new, and a later :func:`~evaluation.qualitative.taguette.download.pull`
recognises the project's documents and tags. Push writes nothing but these links to the store.

Example (needs a running server)::

    client = TaguetteClient("http://127.0.0.1:7465", credentials_from_env())
    report = push(client, store, project_name="Coordinator interviews (anna)", coder="anna")
    print(report)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from evaluation.errors import InputError
from evaluation.qualitative.store import Store, now_iso
from evaluation.qualitative.taguette.client import (
    DOCUMENT_NAME_MAX,
    PROJECT_NAME_MAX,
    TaguetteClient,
    TaguetteConflict,
)
from evaluation.qualitative.taguette.links import ensure_link_tables, linked, source_id
from evaluation.qualitative.taguette.offsets import OffsetMap, html_text, text_to_html
from evaluation.qualitative.taguette.sync import code_tag_paths


@dataclass
class PushReport:
    server: str
    project_id: int
    project_created: bool = False
    documents_uploaded: int = 0
    documents_already_there: int = 0
    tags_created: int = 0
    tags_updated: int = 0
    tags_already_there: int = 0
    highlights_created: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = (
            f"Taguette project {self.project_id} at {self.server}"
            + (" (new)" if self.project_created else "")
            + f": {self.documents_uploaded} documents uploaded "
            f"({self.documents_already_there} already there), "
            f"{self.tags_created} tags created, {self.tags_updated} updated "
            f"({self.tags_already_there} already there)"
            + (f", {self.highlights_created} highlights placed" if self.highlights_created else "")
        )
        return "\n".join([head] + [f"  note: {n}" for n in self.notes])


def taguette_document_name(name: str, taken: set[str]) -> str:
    """A document name Taguette accepts (at most 50 characters), unique in the project."""
    short = name if len(name) <= DOCUMENT_NAME_MAX else name[: DOCUMENT_NAME_MAX - 1] + "…"
    candidate, suffix = short, 2
    while candidate in taken:
        tail = f" ({suffix})"
        candidate, suffix = short[: DOCUMENT_NAME_MAX - len(tail)] + tail, suffix + 1
    taken.add(candidate)
    return candidate


def push(
    client: TaguetteClient,
    store: Store,
    *,
    project_id: int | None = None,
    project_name: str | None = None,
    documents: Iterable[int | str] | None = None,
    coder: str | None = None,
    with_segments: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> PushReport:
    """Upload the store's documents and codebook to Taguette; returns what was done.

    ``project_id``: fill an existing project; otherwise a new one named ``project_name``
    (default: the store's project name). ``documents``: ids or names to upload (default all).
    ``coder``: whose coding the project will hold (a later pull files it under that coder).
    ``with_segments``: also place ``coder``'s segments as highlights (a later pull then updates
    those same segments).
    """
    if with_segments and not coder:
        raise InputError("with_segments needs coder: whose segments to place")
    report = PushReport(server=client.base_url, project_id=project_id or 0)
    if project_id is None:
        name = project_name or store.project_info().get("name", "qualitative project")
        name = name if len(name) <= PROJECT_NAME_MAX else name[: PROJECT_NAME_MAX - 1] + "…"
        project_id = client.create_project(
            name, "Pushed from the quality-cluster evaluation workbench."
        )
        report.project_created = True
        report.project_id = project_id
    listing = client.project(project_id)
    with store.transaction() as cur:
        ensure_link_tables(cur)
        source = source_id(cur, client.base_url, project_id, name=listing.name)
        if coder:
            cur.execute(
                "UPDATE taguette_sources SET coder_id = ? WHERE id = ?",
                (store.coder_id(coder), source),
            )

    tag_ids = _push_tags(client, store, source, project_id, listing, report)
    document_ids = _push_documents(
        client, store, source, project_id, listing, documents, report, progress
    )
    if with_segments:
        _push_segments(client, store, source, project_id, coder, tag_ids, document_ids, report)
    with store.transaction() as cur:
        cur.execute("UPDATE taguette_sources SET pushed_at = ? WHERE id = ?", (now_iso(), source))
    return report


def _push_tags(client, store, source, project_id, listing, report) -> dict[int, int]:
    """Create (or update) one tag per code; returns {code_id: tag_id}."""
    paths = code_tag_paths(store)
    codes = store.codes()
    with store.transaction() as cur:
        rows = cur.execute(
            "SELECT taguette_key, code_id, path, description FROM taguette_tags WHERE "
            "source_id = ?",
            (source,),
        ).fetchall()
    linked_tags = {r[1]: (int(r[0]), r[2], r[3]) for r in rows}
    by_path = {tag["path"]: tag_id for tag_id, tag in listing.tags.items()}
    tag_ids: dict[int, int] = {}
    for code in codes.sort_values(["depth", "position", "id"]).itertuples():
        path, description = paths[code.id], code.description or ""
        if code.id in linked_tags and linked_tags[code.id][0] in listing.tags:
            tag_id, old_path, old_description = linked_tags[code.id]
            if (path, description) != (old_path, old_description):
                client.update_tag(project_id, tag_id, path=path, description=description)
                report.tags_updated += 1
            else:
                report.tags_already_there += 1
        elif path in by_path:
            tag_id = by_path[path]
            report.tags_already_there += 1
            if listing.tags[tag_id].get("description", "") != description:
                client.update_tag(project_id, tag_id, description=description)
                report.tags_updated += 1
        else:
            try:
                tag_id = client.add_tag(project_id, path, description)
                report.tags_created += 1
            except TaguetteConflict:
                # created by someone else since we read the project: read it again and link it
                tag_id = {t["path"]: i for i, t in client.project(project_id).tags.items()}[path]
                report.tags_already_there += 1
        tag_ids[code.id] = tag_id
        with store.transaction() as cur:
            cur.execute(
                "INSERT INTO taguette_tags (source_id, taguette_key, code_id, path, description) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_id, taguette_key) DO UPDATE SET "
                "code_id = excluded.code_id, path = excluded.path, description = "
                "excluded.description",
                (source, str(tag_id), code.id, path, description),
            )
    return tag_ids


def _push_documents(client, store, source, project_id, listing, selection, report, progress):
    frame = store.documents()
    if selection is not None:
        wanted = {store.document_id(d) for d in selection}
        frame = frame[frame["id"].isin(wanted)]
    with store.transaction() as cur:
        links = {
            document_id: int(key)
            for key, document_id in linked(cur, "taguette_documents", source).items()
        }
    taken = {meta["name"] for meta in listing.documents.values()}
    document_ids: dict[int, int] = {}
    total = len(frame)
    for done, row in enumerate(frame.itertuples(), start=1):
        text = store.document_text(int(row.id))
        if row.id in links and links[row.id] in listing.documents:
            taguette_id = links[row.id]
            report.documents_already_there += 1
        else:
            name = taguette_document_name(row.name, taken)
            description = row.name if name != row.name else ""
            taguette_id = client.add_document(
                project_id,
                name,
                text_to_html(text, title=row.name),
                description=description,
                filename=f"document-{row.id}.html",
            )
            report.documents_uploaded += 1
            with store.transaction() as cur:
                cur.execute(
                    "INSERT OR REPLACE INTO taguette_documents (source_id, taguette_key, "
                    "document_id) VALUES (?, ?, ?)",
                    (source, str(taguette_id), int(row.id)),
                )
        document_ids[int(row.id)] = taguette_id
        if progress is not None:
            progress(done, total, row.name)
    return document_ids


def _push_segments(client, store, source, project_id, coder, tag_ids, document_ids, report) -> None:
    segments = store.segments(coders=[coder])
    segments = segments[segments["document_id"].isin(list(document_ids))]
    with store.transaction() as cur:
        already = set(linked(cur, "taguette_segments", source).values())
    for document_id, group in segments.groupby("document_id"):
        taguette_id = document_ids[int(document_id)]
        stored = html_text(client.document_html(project_id, taguette_id))
        offsets = OffsetMap(stored, store.document_text(int(document_id)))
        if not offsets.alignment.exact:
            report.notes.append(
                f"document {group['document'].iloc[0]!r}: Taguette's copy differs from the store's "
                "text (characters its sanitiser dropped), so its segments were not placed as "
                "highlights"
            )
            continue
        for segment in group.itertuples():
            if segment.id in already:
                continue
            start, end = offsets.to_taguette(int(segment.start), int(segment.end))
            if not stored.encode("utf-8")[start:end].strip():
                report.notes.append(
                    f"segment {segment.id} covers only white space; Taguette refuses such "
                    "highlights"
                )
                continue
            tag_id = tag_ids[int(segment.code_id)]
            highlight_id = client.add_highlight(project_id, taguette_id, start, end, [tag_id])
            report.highlights_created += 1
            with store.transaction() as cur:
                cur.execute(
                    "INSERT INTO taguette_segments (source_id, taguette_key, segment_id) "
                    "VALUES (?, ?, ?)",
                    (source, f"{highlight_id}|{tag_id}", int(segment.id)),
                )
