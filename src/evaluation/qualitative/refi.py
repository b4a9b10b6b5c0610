"""REFI-QDA exchange: whole projects (.qdpx) and codebooks (.qdc).

A .qdpx is a zip with ``project.qde`` (XML, namespace ``urn:QDA-XML:project:1.0``) and the
sources' plain text in a sources folder. What the standard says and what tools write differ:

- NVivo writes selection positions in UTF-16 code units (an emoji counts twice), keeps CRLF
  line ends in the text (counted as two), starts the text files with a UTF-8 BOM (not counted),
  and names the folder ``Sources/``.
- ATLAS.ti (and the standard) use ``sources/`` and positions in Unicode characters.

Import reads all of these (positions: ``"auto"`` takes UTF-16 when the project's ``origin``
names NVivo); export writes what the chosen ``target`` reads (``"nvivo"``, ``"atlas"`` or
``"standard"``) and refuses to write a file that fails the schema.

Files from elsewhere are untrusted: zip entries that would escape the folder, DTDs and entity
declarations (external entities, "billion laughs"), archives that expand beyond limits (zip
bombs), and selections past the end of their document are refused with a clear error, and
nothing is written to the store (one transaction, after everything has been checked).
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from lxml import etree

from evaluation.archives import ArchiveLimits, SafeArchive, check_member_name
from evaluation.errors import EvaluationError
from evaluation.files import atomic_path, atomic_write_bytes
from evaluation.qualitative.store import Store, StoreError, new_guid, now_iso

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
TARGETS = ("nvivo", "atlas", "standard")

# limits for untrusted archives: generous for real projects (NVivo exports with media are big,
# but media are never read); the project XML and each source text are read into memory, and
# parsed, so they stay small enough that an import keeps within a few hundred MB
QDPX_LIMITS = ArchiveLimits(members=100_000, total_bytes=2_000_000_000, member_bytes=50_000_000)
MAX_XML_BYTES = QDPX_LIMITS.member_bytes

_GUID = re.compile(
    r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$"
)


class RefiError(EvaluationError, ValueError):
    """An exchange file that cannot be imported or written; says which file, element and why."""


# ---------------------------------------------------------------------- safe reading
def _check_member_name(path: Path, name: str) -> None:
    check_member_name(str(path), name, RefiError)


def _open_project(path: Path) -> SafeArchive:
    """The project archive at ``path``, every member read in bounded memory
    (:mod:`evaluation.archives`); problems raise :class:`RefiError`."""
    return SafeArchive(path, QDPX_LIMITS, kind="a REFI-QDA project", error=RefiError)


def parse_xml_safely(data: bytes, where: str) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network. A DOCTYPE or ENTITY declaration is
    refused outright, which blocks external entities (XXE) and entity expansion (billion laughs)."""
    head = data[:1_000_000]
    if (
        re.search(rb"<!DOCTYPE", head, re.IGNORECASE)
        or re.search(rb"<!ENTITY", data, re.IGNORECASE)
        or re.search(rb"<\x00!\x00(?:D\x00O\x00C|E\x00N\x00T)", head)
    ):
        raise RefiError(
            f"{where}: contains a DOCTYPE or ENTITY declaration; REFI-QDA files never need one, "
            "and it can hide an external-entity or entity-expansion attack - refusing"
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise RefiError(f"{where}: not well-formed XML ({error})") from None


@functools.lru_cache(maxsize=2)
def _schema(kind: str) -> etree.XMLSchema:
    name = "Project-mrt2019.xsd" if kind == "project" else "Codebook-reconstructed.xsd"
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def _check_valid(xml: bytes, kind: str, path: Path) -> None:
    """Parse and schema-validate in one pass; a RefiError with the first problems if the
    document is not valid (docs/decisions/0023-refi-schema-check-in-one-pass.md)."""
    parser = etree.XMLParser(
        schema=_schema(kind), huge_tree=True, resolve_entities=False, no_network=True
    )
    try:
        etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        problems = [f"line {e.line}: {e.message}" for e in list(parser.error_log)[:3]] or [
            str(error)
        ]
        raise RefiError(
            f"{path}: the {kind} would not validate against the REFI-QDA schema: {problems}"
        ) from None


def validate(root: etree._Element, kind: str = "project") -> list[str]:
    """Schema errors of a project or codebook document (empty list: valid)."""
    schema = _schema(kind)
    if schema.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


# ---------------------------------------------------------------------- position conversion
def utf16_offsets(text: str) -> np.ndarray:
    """offsets[i] = UTF-16 code units before code point i (length len(text) + 1)."""
    widths = np.fromiter(
        (2 if ord(ch) > 0xFFFF else 1 for ch in text), dtype=np.int64, count=len(text)
    )
    return np.concatenate(([0], np.cumsum(widths)))


def utf16_to_codepoint(text: str, positions: np.ndarray, *, where: str) -> np.ndarray:
    """Convert UTF-16 code-unit positions into code-point positions (refuses mid-character ones)."""
    offsets = utf16_offsets(text)
    index = np.searchsorted(offsets, positions)
    bad = (index > len(text)) | (offsets[np.minimum(index, len(text))] != positions)
    if bad.any():
        position = int(np.asarray(positions)[bad][0])
        raise RefiError(f"{where}: position {position} is not on a character boundary of the text")
    return index


# ---------------------------------------------------------------------- import
@dataclass
class _Parsed:
    origin: str
    users: dict[str, str] = field(default_factory=dict)
    codes: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    cases: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    skipped_sources: int = 0
    empty_selections: int = 0


def _q(tag: str, ns: str = PROJECT_NS) -> str:
    return f"{{{ns}}}{tag}"


def _slug(text: str) -> str:
    slug = re.sub(r"[^0-9A-Za-z]+", "_", text.lower()).strip("_")
    return slug or "code"


def _parse_codes(
    parent: etree._Element, ns: str, parsed: list[dict], parent_guid: str | None, where: str
) -> None:
    for element in parent.findall(_q("Code", ns)):
        guid = element.get("guid")
        description = element.findtext(_q("Description", ns)) or ""
        colour = element.get("color")
        if colour and not re.fullmatch(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})", colour):
            colour = None  # not a colour the standard allows; dropped rather than exported invalid
        if colour and len(colour) == 4:  # "#abc" -> "#aabbcc"
            colour = "#" + "".join(c * 2 for c in colour[1:])
        parsed.append(
            dict(
                guid=guid,
                name=element.get("name") or "(unnamed)",
                parent=parent_guid,
                description=description.strip(),
                colour=colour,
                codable=element.get("isCodable", "true") == "true",
                notes=[n.get("targetGUID") for n in element.findall(_q("NoteRef", ns))],
            )
        )
        _parse_codes(element, ns, parsed, guid, where)


def _source_text(archive: SafeArchive, source: etree._Element, where: str) -> str:
    inline = source.find(_q("PlainTextContent"))
    if inline is not None and inline.text is not None:
        return inline.text
    path = source.get("plainTextPath")
    if not path:
        raise RefiError(
            f"{where}: TextSource {source.get('name')!r} has neither PlainTextContent nor "
            "plainTextPath"
        )
    if not path.startswith("internal://"):
        raise RefiError(
            f"{where}: TextSource {source.get('name')!r} points to {path!r} outside the archive; "
            "export the project with its sources included"
        )
    file_name = path[len("internal://") :]
    _check_member_name(archive.path, file_name)
    for folder in ("sources/", "Sources/", ""):
        member = archive.find(folder + file_name)
        if member:
            break
    else:
        raise RefiError(
            f"{where}: the text of {source.get('name')!r} ({file_name}) is missing from the archive"
        )
    raw = archive.read(member)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RefiError(f"{where}: {member} is not UTF-8 text") from None


def _parse_project(archive: SafeArchive, positions: str) -> _Parsed:
    member = next(
        (n for n in archive.names if n.lower().endswith(".qde") and "/" not in n.strip("/")), None
    )
    if member is None:
        raise RefiError(
            f"{archive.path}: no project.qde in the archive; is this a REFI-QDA project?"
        )
    where = f"{archive.path}:{member}"
    root = parse_xml_safely(archive.read(member), where)
    if root.tag != _q("Project"):
        raise RefiError(f"{where}: root element is {root.tag!r}, expected Project in {PROJECT_NS}")
    origin = root.get("origin") or ""
    parsed = _Parsed(origin=origin)
    if positions == "auto":
        positions = "utf16" if "nvivo" in origin.lower() else "codepoints"
    if positions not in ("utf16", "codepoints"):
        raise RefiError(f"positions {positions!r}: expected auto, utf16 or codepoints")
    for user in root.iterfind(f"{_q('Users')}/{_q('User')}"):
        parsed.users[user.get("guid")] = user.get("name") or user.get("id") or user.get("guid")
    codebook = root.find(f"{_q('CodeBook')}/{_q('Codes')}")
    if codebook is not None:
        _parse_codes(codebook, PROJECT_NS, parsed.codes, None, where)
    code_guids = {c["guid"] for c in parsed.codes}
    for variable in root.iterfind(f"{_q('Variables')}/{_q('Variable')}"):
        parsed.variables[variable.get("guid")] = variable.get("name")
    for source in root.iterfind(f"{_q('Sources')}/{_q('TextSource')}"):
        name = source.get("name") or source.get("guid")
        text = _source_text(archive, source, where)
        selections = []
        raw_positions = []
        for selection in source.findall(_q("PlainTextSelection")):
            try:
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            except (TypeError, ValueError):
                raise RefiError(
                    f"{where}: selection {selection.get('guid')} in {name!r} has no valid positions"
                ) from None
            raw_positions += [start, end]
            user = selection.get("creatingUser")
            memo = (selection.findtext(_q("Description")) or "").strip() or None
            for coding in selection.findall(_q("Coding")):
                ref = coding.find(_q("CodeRef"))
                if ref is None:
                    continue
                target = ref.get("targetGUID")
                if target not in code_guids:
                    raise RefiError(
                        f"{where}: selection {selection.get('guid')} in {name!r} refers to "
                        f"unknown code {target}"
                    )
                selections.append(
                    dict(
                        guid=selection.get("guid")
                        if len(selection.findall(_q("Coding"))) == 1
                        else coding.get("guid"),
                        start=start,
                        end=end,
                        code=target,
                        coder=parsed.users.get(coding.get("creatingUser") or user, None)
                        or "imported",
                        coder_guid=coding.get("creatingUser") or user,
                        created=coding.get("creationDateTime") or selection.get("creationDateTime"),
                        memo=memo,
                        notes=[n.get("targetGUID") for n in selection.findall(_q("NoteRef"))],
                    )
                )
        if raw_positions:
            array = np.asarray(raw_positions, dtype=np.int64)
            limit = len(text.encode("utf-16-le")) // 2 if positions == "utf16" else len(text)
            if array.min() < 0 or array.max() > limit:
                bad = (
                    next(s for s in selections if s["end"] > limit or s["start"] < 0)
                    if selections
                    else None
                )
                raise RefiError(
                    f"{where}: a selection in {name!r} "
                    f"({bad and bad['start']}-{bad and bad['end']}) lies past the end of the "
                    f"document ({limit} "
                    f"{'UTF-16 units' if positions == 'utf16' else 'characters'}); refusing the "
                    "file"
                )
            if positions == "utf16":
                converted = utf16_to_codepoint(text, array, where=f"{where} ({name})")
                mapping = dict(zip(array.tolist(), converted.tolist()))
                for s in selections:
                    s["start"], s["end"] = mapping[s["start"]], mapping[s["end"]]
        for s in selections:
            if s["end"] < s["start"]:
                raise RefiError(
                    f"{where}: selection {s['guid']} in {name!r} ends before it starts "
                    f"({s['start']}-{s['end']})"
                )
        # an empty selection holds no text: nothing to keep, counted so the user knows
        parsed.empty_selections += sum(1 for s in selections if s["end"] == s["start"])
        selections = [s for s in selections if s["end"] > s["start"]]
        parsed.sources.append(
            dict(
                guid=source.get("guid"),
                name=name,
                text=text,
                selections=selections,
                notes=[n.get("targetGUID") for n in source.findall(_q("NoteRef"))],
                description=(source.findtext(_q("Description")) or "").strip(),
            )
        )
    # pictures, PDFs, audio and video carry no plain text to code here: counted and reported
    parsed.skipped_sources = sum(
        1 for element in root.iterfind(f"{_q('Sources')}/*") if element.tag != _q("TextSource")
    )
    for case in root.iterfind(f"{_q('Cases')}/{_q('Case')}"):
        attributes = {}
        for value in case.findall(_q("VariableValue")):
            ref = value.find(_q("VariableRef"))
            variable = parsed.variables.get(ref.get("targetGUID")) if ref is not None else None
            content = next((child.text for child in value if child.tag != _q("VariableRef")), None)
            if variable:
                attributes[variable] = content
        parsed.cases.append(
            dict(
                guid=case.get("guid"),
                name=case.get("name") or case.get("guid"),
                description=(case.findtext(_q("Description")) or "").strip(),
                attributes=attributes,
                sources=[ref.get("targetGUID") for ref in case.findall(_q("SourceRef"))],
            )
        )
    for note in root.iterfind(f"{_q('Notes')}/{_q('Note')}"):
        text = note.findtext(_q("PlainTextContent"))
        if text is None and note.get("plainTextPath"):
            text = _source_text(archive, note, where)
        parsed.notes.append(
            dict(guid=note.get("guid"), name=note.get("name") or "", text=text or "")
        )
    return parsed


def import_qdpx(
    store: Store, path: str | os.PathLike, *, positions: str = "auto"
) -> dict[str, int]:
    """Import a REFI-QDA project into ``store`` (all or nothing). Returns counts.

    Codes keep their GUIDs (so a later export matches the original); code keys are made from the
    code paths. Documents whose name is already in the store are refused.
    """
    path = Path(path)
    archive = _open_project(path)
    try:
        parsed = _parse_project(archive, positions)
    finally:
        archive.close()
    counts = dict(
        documents=0,
        codes=0,
        segments=0,
        cases=0,
        memos=0,
        coders=0,
        skipped_non_text_sources=parsed.skipped_sources,
        skipped_empty_selections=parsed.empty_selections,
    )
    with store.transaction():
        existing_guids = dict(store.connection.execute("SELECT guid, id FROM codes").fetchall())
        used_keys = {r[0] for r in store.connection.execute("SELECT key FROM codes")}
        code_ids: dict[str, int] = {}
        names = {c["guid"]: c for c in parsed.codes}
        for position, code in enumerate(parsed.codes):
            if code["guid"] in existing_guids:
                code_ids[code["guid"]] = existing_guids[code["guid"]]
                continue
            chain, current = [], code
            while current is not None:
                chain.append(current["name"])
                current = names.get(current["parent"]) if current["parent"] else None
            key = base = _slug(".".join(reversed(chain)))
            suffix = 2
            while key in used_keys:
                key, suffix = f"{base}_{suffix}", suffix + 1
            used_keys.add(key)
            code_ids[code["guid"]] = store.add_code(
                key,
                code["name"],
                parent=code_ids.get(code["parent"]) if code["parent"] else None,
                description=code["description"],
                colour=code["colour"],
                codable=code["codable"],
                guid=code["guid"],
                position=position,
            )
            counts["codes"] += 1
        document_ids: dict[str, int] = {}
        segment_ids: dict[str, int] = {}
        before = set(store.coders())
        known_guids = {row[0] for row in store.connection.execute("SELECT guid FROM coders")}
        for guid, name in parsed.users.items():
            if name not in before:
                # keep the exporting tool's user GUID unless it is malformed or already taken
                reuse = guid if guid and _GUID.match(guid) and guid not in known_guids else None
                store.coder_id(name, guid=reuse)
        for source in parsed.sources:
            try:
                document_id = store.add_document(
                    source["name"], source["text"], source_path=f"{path}", guid=source["guid"]
                )
            except StoreError as error:
                raise RefiError(f"{path}: {error}") from None
            except Exception as error:  # a duplicate GUID from a previous import
                raise RefiError(
                    f"{path}: document {source['name']!r} cannot be added ({error}); was it "
                    "imported before?"
                ) from None
            document_ids[source["guid"]] = document_id
            counts["documents"] += 1
            by_coder: dict[str, list] = {}
            for s in source["selections"]:
                by_coder.setdefault(s["coder"], []).append(s)
            for coder, selections in by_coder.items():
                ids = store.add_segments(
                    [
                        (
                            document_id,
                            code_ids[s["code"]],
                            s["start"],
                            s["end"],
                            s["memo"],
                            s["guid"]
                            if s["guid"]
                            and not store.connection.execute(
                                "SELECT 1 FROM segments WHERE guid = ?", (s["guid"],)
                            ).fetchone()
                            else None,
                            s["created"],
                        )
                        for s in selections
                    ],
                    coder=coder,
                )
                for s, segment_id in zip(selections, ids):
                    segment_ids[s["guid"]] = segment_id
                counts["segments"] += len(ids)
        counts["coders"] = len(set(store.coders()) - before)
        for case in parsed.cases:
            store.add_case(
                case["name"],
                attributes=case["attributes"],
                description=case["description"],
                documents=[document_ids[g] for g in case["sources"] if g in document_ids],
            )
            counts["cases"] += 1
        notes = {n["guid"]: n for n in parsed.notes}
        attached = set()

        def attach(note_guids, target, target_id):
            for guid in note_guids:
                if guid in notes:
                    note = notes[guid]
                    store.add_memo(
                        note["text"], target=target, target_id=target_id, title=note["name"]
                    )
                    attached.add(guid)
                    counts["memos"] += 1

        for code in parsed.codes:
            attach(code["notes"], "code", code_ids[code["guid"]])
        for source in parsed.sources:
            attach(source["notes"], "document", document_ids[source["guid"]])
            for s in source["selections"]:
                attach(s["notes"], "segment", segment_ids.get(s["guid"]))
        attach([g for g in notes if g not in attached], "project", None)
    return counts


def import_qdc(store: Store, path: str | os.PathLike) -> int:
    """Import a REFI-QDA codebook (.qdc); codes already present (same GUID) are kept. Returns
    the number of codes added."""
    path = Path(path)
    data = path.read_bytes()
    root = parse_xml_safely(data, str(path))
    ns = CODEBOOK_NS if root.tag == _q("CodeBook", CODEBOOK_NS) else PROJECT_NS
    codes_element = root.find(_q("Codes", ns))
    if codes_element is None:
        raise RefiError(f"{path}: no <Codes> element; is this a REFI-QDA codebook?")
    parsed: list[dict] = []
    _parse_codes(codes_element, ns, parsed, None, str(path))
    added = 0
    with store.transaction():
        existing = dict(store.connection.execute("SELECT guid, id FROM codes").fetchall())
        used_keys = {r[0] for r in store.connection.execute("SELECT key FROM codes")}
        by_guid = {c["guid"]: c for c in parsed}
        for position, code in enumerate(parsed):
            if code["guid"] in existing:
                continue
            chain, current = [], code
            while current is not None:
                chain.append(current["name"])
                current = by_guid.get(current["parent"]) if current["parent"] else None
            key = base = _slug(".".join(reversed(chain)))
            suffix = 2
            while key in used_keys:
                key, suffix = f"{base}_{suffix}", suffix + 1
            used_keys.add(key)
            existing[code["guid"]] = store.add_code(
                key,
                code["name"],
                parent=existing.get(code["parent"]) if code["parent"] else None,
                description=code["description"],
                colour=code["colour"],
                codable=code["codable"],
                guid=code["guid"],
                position=position,
            )
            added += 1
    return added


# ---------------------------------------------------------------------- export
def _guid(value: str | None) -> str:
    return value if value and _GUID.match(value) else new_guid()


def _codes_xml(
    store: Store, ns: str, parent: etree._Element, notes_for_code: dict | None = None
) -> None:
    codes = store.codes()
    children: dict = {}
    for row in codes.itertuples():
        key = None if row.parent_id is None or str(row.parent_id) == "<NA>" else int(row.parent_id)
        children.setdefault(key, []).append(row)

    def add(element, row):
        code = etree.SubElement(
            element,
            _q("Code", ns),
            guid=_guid(row.guid),
            name=row.name,
            isCodable="true" if row.codable else "false",
        )
        if row.colour:
            code.set("color", row.colour)
        if row.description:
            etree.SubElement(code, _q("Description", ns)).text = row.description
        return code

    def walk(element, parent_id):
        for row in children.get(parent_id, []):
            code = add(element, row)
            for guid in (notes_for_code or {}).get(int(row.id), []):
                etree.SubElement(code, _q("NoteRef", ns), targetGUID=guid)
            walk(code, int(row.id))

    walk(parent, None)


def _nvivo_text(text: str) -> str:
    return re.sub(r"(?<!\r)\n", "\r\n", text)


def build_project_xml(store: Store, *, target: str = "standard") -> tuple[bytes, dict[str, bytes]]:
    """The project.qde document (bytes) and the source files ({archive path: bytes}) for
    ``target``."""
    if target not in TARGETS:
        raise RefiError(f"target {target!r}: expected one of {', '.join(TARGETS)}")
    info = store.project_info()
    origin = (
        "quality-cluster evaluation workbench (for "
        f"{'NVivo' if target == 'nvivo' else 'ATLAS.ti' if target == 'atlas' else 'REFI-QDA 1.5'})"
    )
    root = etree.Element(
        _q("Project"),
        nsmap={None: PROJECT_NS},
        name=info.get("name", "project"),
        origin=origin,
        creationDateTime=info.get("created_at", now_iso()),
        modifiedDateTime=now_iso(),
    )
    coders = store.connection.execute("SELECT guid, name FROM coders ORDER BY id").fetchall()
    if coders:
        users = etree.SubElement(root, _q("Users"))
        for guid, name in coders:
            etree.SubElement(users, _q("User"), guid=guid, name=name)
    memos = store.memos()
    note_guid = dict(zip(memos["id"], memos["guid"]))

    def memo_refs(column: str) -> dict[int, list[str]]:
        refs: dict[int, list[str]] = {}
        for memo_id, target_id in zip(memos["id"], memos[column]):
            if target_id == target_id and target_id is not None:  # not NaN
                refs.setdefault(int(target_id), []).append(note_guid[memo_id])
        return refs

    code_notes, document_notes, segment_notes = (
        memo_refs("code_id"),
        memo_refs("document_id"),
        memo_refs("segment_id"),
    )
    if len(store.codes()):
        codebook = etree.SubElement(root, _q("CodeBook"))
        codes_element = etree.SubElement(codebook, _q("Codes"))
        _codes_xml(store, PROJECT_NS, codes_element, code_notes)
    cases = store.cases()
    attribute_names = [
        c for c in cases.columns if c not in ("case_id", "case", "guid", "description")
    ]
    variable_guid = {name: new_guid() for name in attribute_names}
    if attribute_names:
        variables = etree.SubElement(root, _q("Variables"))
        for name in attribute_names:
            etree.SubElement(
                variables,
                _q("Variable"),
                guid=variable_guid[name],
                name=name,
                typeOfVariable="Text",
            )
    document_guid = dict(store.connection.execute("SELECT id, guid FROM documents").fetchall())
    if len(cases):
        links = store.case_documents()
        cases_element = etree.SubElement(root, _q("Cases"))
        for row in cases.itertuples(index=False):
            case = etree.SubElement(cases_element, _q("Case"), guid=_guid(row.guid), name=row.case)
            if row.description:
                etree.SubElement(case, _q("Description")).text = row.description
            for name in attribute_names:
                value = (
                    getattr(row, name)
                    if name.isidentifier()
                    else cases.loc[cases["case"] == row.case, name].iloc[0]
                )
                if value is None or value != value:
                    continue
                variable_value = etree.SubElement(case, _q("VariableValue"))
                etree.SubElement(variable_value, _q("VariableRef"), targetGUID=variable_guid[name])
                etree.SubElement(variable_value, _q("TextValue")).text = str(value)
            for document_id in links.loc[links["case_id"] == row.case_id, "document_id"]:
                etree.SubElement(case, _q("SourceRef"), targetGUID=document_guid[int(document_id)])
    files: dict[str, bytes] = {}
    folder = "Sources/" if target == "nvivo" else "sources/"
    documents = store.documents(with_text=True)
    # plain rows straight from SQLite, grouped by document: no DataFrame for 200,000 selections
    segment_rows = store.connection.execute(
        'SELECT document_id, id, guid, coder_id, code_id, start, "end", created_at, memo '
        "FROM segments ORDER BY document_id, start, id"
    ).fetchall()
    coder_guid_by_id = dict(store.connection.execute("SELECT id, guid FROM coders").fetchall())
    code_guid = dict(store.connection.execute("SELECT id, guid FROM codes").fetchall())
    sources_xml: list[str] = []
    if len(documents):
        # Sources hold one element per selection (hundreds of thousands in big projects): they are
        # written as text with escaping, then the whole document is parsed and schema-validated.
        sources = etree.SubElement(root, _q("Sources"))
        sources.text = _SOURCES_MARK
        by_document = {d: list(g) for d, g in itertools.groupby(segment_rows, key=lambda r: r[0])}
        coding_guids = iter(_fast_guids(len(segment_rows)))
        for row in documents.itertuples(index=False):
            text = row.text
            if target == "nvivo":
                out_text = _nvivo_text(text)
                # positions in UTF-16 units of the CRLF text: each stored code point's width
                codes_array = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
                widths = 1 + (codes_array > 0xFFFF).astype(np.int64)
                newline = codes_array == 10
                preceded_by_cr = np.concatenate(([False], codes_array[:-1] == 13))
                widths += newline & ~preceded_by_cr
                offsets = np.concatenate(([0], np.cumsum(widths))).tolist()
                payload = b"\xef\xbb\xbf" + out_text.encode("utf-8")
            else:
                offsets = None
                payload = text.encode("utf-8")
            file_name = f"{row.guid}.txt"
            files[folder + file_name] = payload
            sources_xml.append(
                f"<TextSource guid={_attr(row.guid)} name={_attr(row.name)} "
                f"plainTextPath={_attr('internal://' + file_name)} "
                f"creationDateTime={_attr(row.imported_at)}>"
            )
            for (
                _,
                segment_id,
                guid,
                coder_id,
                code_id,
                start,
                end,
                created,
                memo,
            ) in by_document.get(row.id, ()):
                if offsets is not None:
                    start, end = offsets[start], offsets[end]
                user = coder_guid_by_id[coder_id]
                description = f"<Description>{_text(memo)}</Description>" if memo else ""
                notes = "".join(
                    f'<NoteRef targetGUID="{g}"/>' for g in segment_notes.get(segment_id, ())
                )
                sources_xml.append(
                    f'<PlainTextSelection guid="{guid}" startPosition="{start}" '
                    f'endPosition="{end}" creatingUser="{user}" '
                    f'creationDateTime="{created}">{description}<Coding '
                    f'guid="{next(coding_guids)}" creatingUser="{user}"><CodeRef '
                    f'targetGUID="{code_guid[code_id]}"/></Coding>{notes}</PlainTextSelection>'
                )
            sources_xml.extend(
                f'<NoteRef targetGUID="{g}"/>' for g in document_notes.get(row.id, [])
            )
            sources_xml.append("</TextSource>")
    if len(memos):
        notes = etree.SubElement(root, _q("Notes"))
        for memo in memos.itertuples(index=False):
            title = memo.title or f"Memo on {memo.target}"
            note = etree.SubElement(
                notes, _q("Note"), guid=memo.guid, name=title, creationDateTime=memo.created_at
            )
            etree.SubElement(note, _q("PlainTextContent")).text = memo.text
    for memo in memos[memos["target"] == "project"].itertuples(index=False):
        etree.SubElement(root, _q("NoteRef"), targetGUID=memo.guid)
    xml = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    if sources_xml:
        xml = xml.replace(_SOURCES_MARK.encode(), "".join(sources_xml).encode("utf-8"), 1)
    return xml, files


_SOURCES_MARK = "@@SOURCES-0f3c9d@@"
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    from xml.sax.saxutils import escape

    return escape(_INVALID_XML.sub("", value), {"\r": "&#13;"})


def _attr(value: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(_INVALID_XML.sub("", str(value)), {"\r": "&#13;", "\n": "&#10;", "\t": "&#9;"})


def _fast_guids(count: int) -> list[str]:
    """``count`` random version-4 GUIDs from one call to the OS random source."""
    digits = os.urandom(16 * count).hex()
    variant = "89ab"
    return [
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
        for h in (digits[32 * i : 32 * i + 32] for i in range(count))
    ]


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    """Write the archive through the package's atomic writer: never a half-written .qdpx."""
    with atomic_path(path) as temporary:
        with zipfile.ZipFile(
            temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
        ) as archive:
            for name, data in members.items():
                archive.writestr(name, data)


def export_qdpx(store: Store, path: str | os.PathLike, *, target: str = "standard") -> Path:
    """Write the whole project as a REFI-QDA .qdpx for ``target`` ('nvivo', 'atlas', 'standard').
    Validated against the project schema before anything is written."""
    path = Path(path)
    xml, files = build_project_xml(store, target=target)
    _check_valid(xml, "project", path)
    _write_zip(path, {"project.qde": xml, **files})
    return path


def export_qdc(store: Store, path: str | os.PathLike) -> Path:
    """Write the codebook as a REFI-QDA .qdc (validated against the codebook schema)."""
    path = Path(path)
    root = etree.Element(
        _q("CodeBook", CODEBOOK_NS),
        nsmap={None: CODEBOOK_NS},
        origin="quality-cluster evaluation workbench",
    )
    codes = etree.SubElement(root, _q("Codes", CODEBOOK_NS))
    if not len(store.codes()):
        raise RefiError(f"{path}: the codebook is empty; nothing to export")
    _codes_xml(store, CODEBOOK_NS, codes)
    xml = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    _check_valid(xml, "codebook", path)
    atomic_write_bytes(path, xml)
    return path


def read_project_xml(path: str | os.PathLike) -> etree._Element:
    """The (safely parsed) project.qde of a .qdpx, e.g. to validate an export in a test."""
    archive = _open_project(Path(path))
    try:
        member = next(n for n in archive.names if n.lower().endswith(".qde"))
        return parse_xml_safely(archive.read(member), f"{path}:{member}")
    finally:
        archive.close()


__all__ = [
    "RefiError",
    "import_qdpx",
    "import_qdc",
    "export_qdpx",
    "export_qdc",
    "validate",
    "read_project_xml",
    "parse_xml_safely",
    "utf16_to_codepoint",
    "TARGETS",
]
