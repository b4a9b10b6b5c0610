"""Atomic file writes: a reader never sees a half-written report, manifest or index.

Everything the batch runner publishes is written to a temporary file in the same folder and
then renamed over the target (``os.replace`` is atomic on POSIX within one file system). An
interrupted run therefore leaves either the previous complete file or the new complete file,
plus at most a stray ``.*.tmp-*`` file that the next run removes.

Example
-------
>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "index.html"
>>> atomic_write_text(target, "<p>done</p>")
>>> target.read_text()
'<p>done</p>'
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

TMP_MARK = ".tmp-"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON atomically (keys kept in insertion order)."""
    return atomic_write_text(
        path, json.dumps(obj, indent=1, ensure_ascii=False, default=str) + "\n"
    )


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete temporaries left by an interrupted write anywhere under ``folder``."""
    removed = []
    for stray in Path(folder).rglob(f".*{TMP_MARK}*"):
        if stray.is_file():
            stray.unlink(missing_ok=True)
            removed.append(stray)
    return removed
