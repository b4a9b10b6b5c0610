"""No local path leaves the machine: how reports and the index name folders and files.

A report is e-mailed to a coordinator or sent to a journal; ``/home/anna/projects/...`` in it
tells the reader nothing and tells everybody the analyst's user name and folder layout. Folders
are therefore named relative to the project (``data/synthetic``) or, outside it, by their own
name (``registers``), and the data are identified by their checksums instead.

:func:`shown_path` names one folder; :func:`path_names` builds the map of absolute paths a run
knows about (data folder, run folder, coding store, project) to those names; :func:`redact`
rewrites a text with that map and then, as a safety net, shortens any other absolute path under
a usual local root (``/home/``, ``/tmp/``, ``/work/``, ``/Users/``, ``C:\\Users\\``, ...) to its
last component.

>>> names = path_names({"data": "/srv/project/data/synthetic"}, root="/srv/project")
>>> names
{'/srv/project/data/synthetic': 'data/synthetic', '/srv/project': '.'}
>>> redact("Read /srv/project/data/synthetic/clinics.parquet and /home/anna/x/y.csv", names)
'Read data/synthetic/clinics.parquet and y.csv'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

# absolute paths under these roots are local whatever map a caller gave
_LOCAL_PATH = re.compile(
    r"(?<![\w.:/~-])"
    r"(?:/(?:home|tmp|work|Users|root|var|mnt|srv|opt|private|scratch|media|data|run)"
    r"|[A-Za-z]:\\(?:Users|Documents and Settings))"
    r"(?:[/\\][^\s/\\'\"<>()\[\],;:`]+)+[/\\]?"
)


def shown_path(path: str | os.PathLike, root: str | os.PathLike | None = None) -> str:
    """``path`` as a report names it: relative to ``root`` (the project) if it lies inside it,
    else just its last component.

    >>> shown_path("/srv/project/data/synthetic", "/srv/project")
    'data/synthetic'
    >>> shown_path("/mnt/registers/2024", "/srv/project")
    '2024'
    """
    absolute = Path(os.path.abspath(path))
    if root is not None:
        try:
            relative = absolute.relative_to(Path(os.path.abspath(root)))
        except ValueError:
            pass
        else:
            return relative.as_posix() or "."
    return absolute.name or absolute.as_posix()


def path_names(
    paths: Mapping[str, str | os.PathLike | None], root: str | os.PathLike | None = None
) -> dict[str, str]:
    """{absolute path: shown name} for the named ``paths`` (None values skipped) and ``root``.

    The keys of ``paths`` only say what each is (data, run, store); the names come from
    :func:`shown_path`.
    """
    names: dict[str, str] = {}
    for path in paths.values():
        if path is None or str(path) == "":
            continue
        names[os.path.abspath(path)] = shown_path(path, root)
    if root is not None:
        names.setdefault(os.path.abspath(root), ".")
    return names


def redact(text: str, names: Mapping[str, str] | None = None) -> str:
    """``text`` with every path in ``names`` replaced by its shown name (longest first), and any
    other absolute local path shortened to its last component."""
    if not text:
        return text
    for absolute in sorted(names or {}, key=len, reverse=True):
        shown = names[absolute]
        if absolute in ("", "/"):
            continue
        prefix = "" if shown == "." else shown.rstrip("/") + "/"
        text = text.replace(absolute.rstrip("/") + "/", prefix)
        text = re.sub(re.escape(absolute.rstrip("/")) + r"(?![\w.-])", shown, text)
    return _LOCAL_PATH.sub(_last_component, text)


def _last_component(match: re.Match) -> str:
    found = match.group(0).rstrip("/\\")
    return PurePosixPath(found.replace("\\", "/")).name


#: attributes whose text a reader (or a screen reader) meets
_TEXT_ATTRIBUTES = ("alt", "title", "aria-label", "data-value-labels")


def redact_tree(document, names: Mapping[str, str] | None = None) -> None:
    """:func:`redact` every text and readable attribute of an lxml ``document``, in place
    (style and script contents and data URIs are left alone)."""
    for element in document.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if element.tail:
            element.tail = redact(element.tail, names)
        if tag in ("style", "script") or not tag:
            continue
        if element.text:
            element.text = redact(element.text, names)
        for attribute in _TEXT_ATTRIBUTES:
            if element.get(attribute):
                element.set(attribute, redact(element.get(attribute), names))
