"""The codebook as a reviewed file (qualitative/codebook.yml), synced into the store.

The file is the source of truth for names, descriptions, colours and the tree; the store holds
the segments. Every code has a stable ``key``; the displayed ``name`` can change freely.
Restructuring is written into the file, so it is reviewed in git like any other change, and
applied by :func:`sync_codebook` without losing a segment:

- rename:  change ``name`` (same key), or give a new key with ``renamed_from: old_key``;
- merge:   ``merged_from: [key_a, key_b]`` on the surviving code moves their segments to it;
- split:   several codes with ``split_from: old_key`` and ``keywords: [...]`` share out the old
  code's segments: each segment goes to the first new code whose keywords occur in its text,
  the rest to the code marked ``default: true`` (or stay with the old code if it is still listed).

A code that disappears from the file while it still has segments is refused (say where its
segments go with ``merged_from``). Cycles (``parent:`` chains that loop) are refused.

File layout (nested ``children`` or flat ``parent:``, or both)::

    codes:
      - key: obtaining_data
        name: Obtaining data
        description: Getting prescription and clinical data for meetings.
        colour: "#1f77b4"
        children:
          - key: obtaining_data.challenges
            name: Challenges

Example
-------
>>> from evaluation.qualitative.store import Store
>>> store = Store.create(":memory:")
>>> spec = parse_codebook({"codes": [
...     {"key": "data", "name": "Data", "children": [{"key": "data.c", "name": "Challenges"}]}]})
>>> sync_codebook(store, spec)["added"]
2
>>> store.codes()["path"].tolist()
['Data', 'Data/Challenges']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from evaluation.errors import EvaluationError
from evaluation.qualitative.store import Store, StoreError

_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_COLOUR = re.compile(r"^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")


class CodebookError(EvaluationError, ValueError):
    """The codebook file is invalid; the message names the code and field."""


@dataclass
class CodeSpec:
    key: str
    name: str
    parent: str | None = None
    description: str = ""
    colour: str | None = None
    codable: bool = True
    merged_from: list[str] = field(default_factory=list)
    split_from: str | None = None
    keywords: list[str] = field(default_factory=list)
    default: bool = False
    renamed_from: str | None = None
    guid: str | None = None
    position: int = 0


def read_codebook(path: str | os.PathLike) -> list[CodeSpec]:
    """Read and validate codebook.yml; :class:`CodebookError` names the problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodebookError(
            f"{path}: no codebook file; write one or run `workbench qual codebook export`"
        ) from None
    except yaml.YAMLError as error:
        raise CodebookError(f"{path}: not valid YAML ({error})") from None
    try:
        return parse_codebook(raw)
    except CodebookError as error:
        raise CodebookError(f"{path}: {error}") from None


def parse_codebook(raw: object) -> list[CodeSpec]:
    """Validate a parsed codebook mapping and flatten it to a list in file order."""
    if not isinstance(raw, dict) or not isinstance(raw.get("codes"), list):
        raise CodebookError("expected a mapping with a list under 'codes:'")
    specs: list[CodeSpec] = []

    def walk(items: list, parent: str | None, where: str) -> None:
        for index, item in enumerate(items):
            here = f"{where}[{index}]"
            if not isinstance(item, dict):
                raise CodebookError(f"{here}: expected a mapping with at least 'key' and 'name'")
            unknown = set(item) - {
                "key",
                "name",
                "parent",
                "description",
                "colour",
                "color",
                "codable",
                "children",
                "merged_from",
                "split_from",
                "keywords",
                "default",
                "renamed_from",
                "guid",
            }
            if unknown:
                raise CodebookError(f"{here}: unknown field(s) {sorted(unknown)}")
            key = str(item.get("key", "")).strip()
            if not _KEY.match(key):
                raise CodebookError(f"{here}: 'key' {key!r} must be letters, digits, '_', '.', '-'")
            name = str(item.get("name", "")).strip()
            if not name:
                raise CodebookError(f"code {key!r}: 'name' is empty")
            if "/" in name:
                raise CodebookError(
                    f"code {key!r}: a name may not contain '/' (it separates code paths)"
                )
            if "parent" in item and parent is not None:
                raise CodebookError(f"code {key!r}: has both a 'parent' and an enclosing code")
            colour = item.get("colour", item.get("color"))
            if colour is not None and not _COLOUR.match(str(colour)):
                raise CodebookError(f"code {key!r}: colour {colour!r} must look like '#1f77b4'")
            merged = item.get("merged_from") or []
            if isinstance(merged, str):
                merged = [merged]
            keywords = item.get("keywords") or []
            if isinstance(keywords, str):
                keywords = [keywords]
            specs.append(
                CodeSpec(
                    key=key,
                    name=name,
                    parent=item.get("parent", parent),
                    description=str(item.get("description") or "").strip(),
                    colour=None if colour is None else str(colour),
                    codable=bool(item.get("codable", True)),
                    merged_from=[str(m) for m in merged],
                    split_from=item.get("split_from"),
                    keywords=[str(k) for k in keywords],
                    default=bool(item.get("default", False)),
                    renamed_from=item.get("renamed_from"),
                    guid=item.get("guid"),
                    position=len(specs),
                )
            )
            children = item.get("children") or []
            if not isinstance(children, list):
                raise CodebookError(f"code {key!r}: 'children' must be a list")
            walk(children, key, f"{here}.children")

    walk(raw["codes"], None, "codes")
    keys = [s.key for s in specs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise CodebookError(f"duplicate code key(s): {', '.join(duplicates)}")
    by_key = {s.key: s for s in specs}
    for spec in specs:
        if spec.parent is not None and spec.parent not in by_key:
            raise CodebookError(f"code {spec.key!r}: parent {spec.parent!r} is not in the codebook")
        for old in spec.merged_from + ([spec.split_from] if spec.split_from else []):
            if old == spec.key:
                raise CodebookError(f"code {spec.key!r}: cannot merge or split from itself")
        for old in spec.merged_from:
            if old in by_key:
                raise CodebookError(
                    f"code {spec.key!r}: merged_from {old!r} is still listed; remove it from "
                    "the file"
                )
    _check_cycles({s.key: s.parent for s in specs})
    siblings: dict[tuple, str] = {}
    for spec in specs:
        sibling_key = (spec.parent, spec.name)
        if sibling_key in siblings:
            raise CodebookError(
                f"codes {siblings[sibling_key]!r} and {spec.key!r} have the same name "
                f"{spec.name!r} under the same parent"
            )
        siblings[sibling_key] = spec.key
    return specs


def _check_cycles(parents: dict[str, str | None]) -> None:
    for start in parents:
        seen = [start]
        current = parents[start]
        while current is not None:
            if current in seen:
                loop = " -> ".join(seen[seen.index(current) :] + [current])
                raise CodebookError(
                    f"the codebook has a cycle: {loop}; a code cannot be its own ancestor"
                )
            seen.append(current)
            current = parents.get(current)


# ---------------------------------------------------------------------- restructuring primitives
def rename_code(
    store: Store, code: int | str, *, name: str | None = None, key: str | None = None
) -> None:
    """Rename a code (display name and/or key); its segments stay with it."""
    code_id = store.code_id(code)
    with store.transaction() as cur:
        if name is not None:
            cur.execute("UPDATE codes SET name = ? WHERE id = ?", (name, code_id))
        if key is not None:
            cur.execute("UPDATE codes SET key = ? WHERE id = ?", (key, code_id))


def merge_codes(store: Store, sources: list[int | str], target: int | str) -> int:
    """Move every segment of ``sources`` to ``target`` and delete the sources. Returns the number
    of segments moved. Children of a source move under the target."""
    target_id = store.code_id(target)
    moved = 0
    with store.transaction() as cur:
        for source in sources:
            source_id = store.code_id(source)
            if source_id == target_id:
                raise StoreError(f"cannot merge code {source!r} into itself")
            moved += cur.execute(
                "UPDATE segments SET code_id = ? WHERE code_id = ?", (target_id, source_id)
            ).rowcount
            cur.execute(
                "UPDATE codes SET parent_id = ? WHERE parent_id = ?", (target_id, source_id)
            )
            cur.execute("UPDATE memos SET code_id = ? WHERE code_id = ?", (target_id, source_id))
            cur.execute("DELETE FROM codes WHERE id = ?", (source_id,))
    return moved


def split_code(
    store: Store,
    source: int | str,
    targets: dict[int | str, list[str]],
    *,
    default: int | str | None = None,
) -> dict[int, int]:
    """Share out the segments of ``source`` among ``targets`` ({code: keywords}): each segment
    goes to the first target one of whose keywords occurs in its text (case-insensitive), the rest
    to ``default`` (``None``: they stay with ``source``). Returns {target_id: segments moved}."""
    source_id = store.code_id(source)
    target_ids = [(store.code_id(t), [k.lower() for k in kws]) for t, kws in targets.items()]
    default_id = None if default is None else store.code_id(default)
    rows = store.connection.execute(
        'SELECT s.id, lower(substr(d.text, s.start + 1, s."end" - s.start)) FROM segments s '
        "JOIN documents d ON d.id = s.document_id WHERE s.code_id = ?",
        (source_id,),
    ).fetchall()
    moved: dict[int, int] = {t: 0 for t, _ in target_ids}
    if default_id is not None:
        moved.setdefault(default_id, 0)
    with store.transaction() as cur:
        for segment_id, text in rows:
            destination = next(
                (t for t, kws in target_ids if any(k in text for k in kws)), default_id
            )
            if destination is None:
                continue
            cur.execute("UPDATE segments SET code_id = ? WHERE id = ?", (destination, segment_id))
            moved[destination] += 1
    return moved


# ---------------------------------------------------------------------- sync
def sync_codebook(store: Store, specs: list[CodeSpec]) -> dict[str, int]:
    """Make the store's codebook equal to ``specs``, keeping every segment.

    One transaction: on any error nothing changes. Returns counts of added, updated, renamed,
    merged, split and deleted codes and segments moved.
    """
    counts = dict(added=0, updated=0, renamed=0, merged=0, split=0, deleted=0, segments_moved=0)
    existing = {row[1]: row[0] for row in store.connection.execute("SELECT id, key FROM codes")}
    listed = {s.key for s in specs}
    with store.transaction() as cur:
        # 1. renames by key: the old row takes the new key, keeping its id, guid and segments
        for spec in specs:
            if spec.renamed_from and spec.renamed_from in existing and spec.key not in existing:
                cur.execute(
                    "UPDATE codes SET key = ? WHERE id = ?", (spec.key, existing[spec.renamed_from])
                )
                existing[spec.key] = existing.pop(spec.renamed_from)
                counts["renamed"] += 1
        # 2. add or update every listed code (parents resolved afterwards: order-free)
        for spec in specs:
            if spec.key in existing:
                before = cur.execute(
                    "SELECT name, description, colour, codable, position FROM codes WHERE id = ?",
                    (existing[spec.key],),
                ).fetchone()
                after = (spec.name, spec.description, spec.colour, int(spec.codable), spec.position)
                if tuple(before) != after:
                    cur.execute(
                        "UPDATE codes SET name = ?, description = ?, colour = ?, codable = ?, "
                        "position = ? WHERE id = ?",
                        (*after, existing[spec.key]),
                    )
                    counts["updated"] += 1
            else:
                existing[spec.key] = store.add_code(
                    spec.key,
                    spec.name,
                    description=spec.description,
                    colour=spec.colour,
                    codable=spec.codable,
                    guid=spec.guid,
                    position=spec.position,
                )
                counts["added"] += 1
        for spec in specs:
            parent_id = None if spec.parent is None else existing[spec.parent]
            cur.execute(
                "UPDATE codes SET parent_id = ? WHERE id = ?", (parent_id, existing[spec.key])
            )
        # 3. merges
        for spec in specs:
            sources = [old for old in spec.merged_from if old in existing and old not in listed]
            if sources:
                counts["segments_moved"] += merge_codes(store, sources, spec.key)
                counts["merged"] += len(sources)
                for old in sources:
                    existing.pop(old)
        # 4. splits
        split_groups: dict[str, list[CodeSpec]] = {}
        for spec in specs:
            if spec.split_from and spec.split_from in existing:
                split_groups.setdefault(spec.split_from, []).append(spec)
        for old, group in split_groups.items():
            still_listed = old in listed
            defaults = [s.key for s in group if s.default]
            default = None if still_listed else (defaults[0] if defaults else group[0].key)
            moved = split_code(store, old, {s.key: s.keywords for s in group}, default=default)
            counts["segments_moved"] += sum(moved.values())
            counts["split"] += 1
            if not still_listed:
                cur.execute(
                    "UPDATE codes SET parent_id = ? WHERE parent_id = ?",
                    (existing[group[0].key], existing[old]),
                )
                cur.execute(
                    "UPDATE memos SET code_id = ? WHERE code_id = ?",
                    (existing[group[0].key], existing[old]),
                )
                cur.execute("DELETE FROM codes WHERE id = ?", (existing.pop(old),))
        # 5. codes no longer listed: delete if unused, refuse if they still hold segments
        for key in sorted(set(existing) - listed):
            used = cur.execute(
                "SELECT COUNT(*) FROM segments WHERE code_id = ?", (existing[key],)
            ).fetchone()[0]
            if used:
                raise CodebookError(
                    f"code {key!r} is not in the codebook file but still has {used} segment(s); "
                    f"say where they go with 'merged_from: [{key}]' on another code, or keep it"
                )
        for key in sorted(set(existing) - listed, key=lambda k: -len(k)):
            cur.execute("UPDATE codes SET parent_id = NULL WHERE parent_id = ?", (existing[key],))
            cur.execute("DELETE FROM codes WHERE id = ?", (existing[key],))
            counts["deleted"] += 1
        store.code_paths()  # raises on a cycle, rolling everything back
    return counts


def sync_codebook_file(store: Store, path: str | os.PathLike) -> dict[str, int]:
    """Read codebook.yml and sync it into the store."""
    return sync_codebook(store, read_codebook(path))


def codebook_to_yaml(store: Store) -> str:
    """The store's codebook as codebook.yml text (nested), e.g. after importing a .qdpx."""
    codes = store.codes()
    children: dict = {}
    for row in codes.itertuples():
        parent = None if pd.isna(row.parent_id) else int(row.parent_id)
        children.setdefault(parent, []).append(row)

    def node(row) -> dict:
        item: dict = {"key": row.key, "name": row.name}
        if row.description:
            item["description"] = row.description
        if row.colour:
            item["colour"] = row.colour
        if not row.codable:
            item["codable"] = False
        kids = children.get(int(row.id), [])
        if kids:
            item["children"] = [node(k) for k in kids]
        return item

    document = {"codes": [node(r) for r in children.get(None, [])]}
    header = "# Codebook: reviewed in git, applied with `workbench qual codebook sync`.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
