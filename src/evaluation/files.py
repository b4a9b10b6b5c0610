"""Writing files so that nothing is ever half-written: the package's one atomic writer.

Every file the workbench writes (reports, manifests, data tables, codebooks, exports, coding
store copies) goes through :func:`atomic_path`: a temporary file in the target's folder, flushed
and fsynced, renamed over the target (atomic on POSIX within one file system), and the folder
fsynced so the rename itself survives a crash. An interrupted write leaves either the old
complete file or the new complete file, plus at most a stray ``.NAME.tmp-*`` that
:func:`remove_stale_temporaries` clears. New files get the permissions the user's umask gives,
as ``open()`` would (``mkstemp`` alone would leave them readable by their owner only). Whole
folders (the synthetic data set) go through :func:`atomic_folder`, and the ``outputs/latest``
link through :func:`atomic_symlink`.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "index.html"
>>> _ = atomic_write_text(target, "<p>done</p>")
>>> target.read_text()
'<p>done</p>'
>>> with atomic_path(target) as temporary:
...     _ = temporary.write_text("<p>again</p>")
>>> target.read_text()
'<p>again</p>'
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from evaluation.errors import OutputTargetError

__all__ = [
    "TMP_MARK",
    "atomic_folder",
    "atomic_path",
    "atomic_symlink",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_file",
    "check_output_folder",
    "move_entries_into",
    "remove_stale_temporaries",
]

TMP_MARK = ".tmp-"


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back (a process-wide value, read
    # once per write, so a race with another thread setting it is not a concern here)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened (some platforms): the rename still happened
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; when the block ends without an error, the
    file written there is fsynced and renamed onto ``target`` (and the folder fsynced); on any
    error it is deleted and ``target`` is left as it was.

    ``mode`` defaults to what the umask gives a new file (0o666 & ~umask).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}{TMP_MARK}", dir=target.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as handle:  # what the caller's writer left, onto the disk
            os.fsync(handle.fileno())
        os.chmod(temporary, mode if mode is not None else 0o666 & ~_umask())
        os.replace(temporary, target)
        _fsync_folder(target.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write(target: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(temporary_path)`` (e.g. ``frame.to_excel``, ``document.save``), then put the
    result in place atomically. Returns ``target`` as a Path."""
    with atomic_path(target) as temporary:
        write(temporary)
    return Path(target)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically."""
    return atomic_write(target, lambda temporary: temporary.write_bytes(data))


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``target`` as UTF-8, atomically (newlines as given)."""
    return atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON atomically (keys kept in insertion order)."""
    text = json.dumps(obj, indent=1, ensure_ascii=False, default=str) + "\n"
    return atomic_write_text(target, text)


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``target``; when the block ends without an error,
    every file written in it is fsynced and the folder takes ``target``'s place (an existing
    ``target`` is moved aside first and deleted after); on any error the temporary folder is
    deleted and ``target`` is left as it was.

    For a folder that is written as a whole (the synthetic data set), so that an interrupted
    write never leaves a folder that looks complete. Replacing an existing folder takes two
    renames (POSIX has no atomic exchange of two folders), so for that instant ``target`` is
    absent, never half-written. The new folder gets the umask's permissions, as ``mkdir`` would.

    >>> import tempfile, pathlib
    >>> data = pathlib.Path(tempfile.mkdtemp()) / "synthetic"
    >>> with atomic_folder(data) as temporary:
    ...     _ = (temporary / "truth.json").write_text("{}")
    >>> sorted(p.name for p in data.iterdir())
    ['truth.json']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_MARK}", dir=target.parent))
    try:
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes it private; a data folder is not
        yield temporary
        for path in sorted(temporary.rglob("*")):
            if path.is_file() and not path.is_symlink():
                with open(path, "rb+") as handle:
                    os.fsync(handle.fileno())
            elif path.is_dir():
                _fsync_folder(path)
        _fsync_folder(temporary)
        if target.exists() or target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old{TMP_MARK}", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(temporary, target)
            _fsync_folder(target.parent)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
            _fsync_folder(target.parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def move_entries_into(
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    replacing: Iterable[str] = (),
    last: str | None = None,
) -> None:
    """Move every entry of the folder ``source`` (written complete and fsynced by the caller)
    into the existing folder ``target`` by rename, after deleting ``target``'s entries named in
    ``replacing``; the entry named ``last`` (a marker saying the set is complete) moves last.

    For writing a set of files beside a user's own ones (``workbench data synth --force``),
    where :func:`atomic_folder` would replace the user's files too. Each entry arrives whole;
    the set as a whole is complete once ``last`` is in place.

    >>> import tempfile, pathlib
    >>> source, target = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("mine.txt", "old.parquet"):
    ...     _ = (target / name).write_text(name)
    >>> for name in ("new.parquet", "marker.json"):
    ...     _ = (source / name).write_text(name)
    >>> move_entries_into(source, target, replacing=["old.parquet"], last="marker.json")
    >>> sorted(p.name for p in target.iterdir())
    ['marker.json', 'mine.txt', 'new.parquet']
    """
    source, target = Path(source), Path(target)
    for name in sorted(replacing):
        old = target / name
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
    for entry in sorted(source.iterdir(), key=lambda entry: entry.name == last):
        os.replace(entry, target / entry.name)
    _fsync_folder(target)


def atomic_symlink(link: str | os.PathLike, points_to: str | os.PathLike) -> Path:
    """Make ``link`` a symbolic link to ``points_to`` (e.g. ``outputs/latest`` -> the newest run),
    replacing whatever ``link`` was in one rename, so a reader always finds a working link.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> (out / "run-1").mkdir()
    >>> str(atomic_symlink(out / "latest", "run-1").readlink())
    'run-1'
    """
    link = Path(link)
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.parent / f".{link.name}{TMP_MARK}{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(points_to, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(link.parent)
    return link


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete temporaries left by an interrupted write anywhere under ``folder``."""
    removed = []
    for stray in Path(folder).rglob(f".*{TMP_MARK}*"):
        if stray.is_file():
            stray.unlink(missing_ok=True)
            removed.append(stray)
    return removed


def _nearest_existing(path: Path) -> Path:
    """``path`` itself or the closest of its parents that exists (what ``mkdir -p`` starts from)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in ``folder``, tried for real: permission bits say nothing on
    a read-only mount, nor for root."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".write-check{TMP_MARK}", dir=folder)
    except OSError:
        return False
    os.close(handle)
    os.unlink(name)
    return True


def check_output_folder(folder: str | os.PathLike, option: str = "--out") -> Path:
    """Check, before anything is computed, that ``folder`` can be made (or is) a folder the user
    may write in; raise :class:`~evaluation.errors.OutputTargetError` saying what to do if not.

    Nothing is created: a missing ``folder`` is fine when its nearest existing parent is a
    writable folder.

    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_folder(base / "new" / "run") == base / "new" / "run"
    True
    >>> _ = (base / "report.txt").write_text("mine")
    >>> try:
    ...     check_output_folder(base / "report.txt")
    ... except OutputTargetError as error:
    ...     print(str(error).split(";")[0].replace(str(base), "BASE"))
    --out BASE/report.txt is a file, not a folder
    """
    folder = Path(folder)
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        where = (
            "is a file"
            if existing == Path(os.path.abspath(folder))
            else f"is inside a file: {existing} is a file"
        )
        raise OutputTargetError(
            f"{option} {folder} {where}, not a folder; name a folder (a new one, or one the "
            "command may write in)."
        )
    if not _can_create_in(existing):
        what = (
            "folder" if existing == Path(os.path.abspath(folder)) else f"parent folder {existing}"
        )
        raise OutputTargetError(
            f"{option} {folder}: cannot write in the {what} (read-only or no permission); choose "
            f"another {option} or make it writable (e.g. chmod u+w)."
        )
    return folder


def check_output_file(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check, before anything is computed, that the file ``path`` can be written (replaced
    atomically if it exists); raise :class:`~evaluation.errors.OutputTargetError` if not.

    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_file(base / "tables.xlsx") == base / "tables.xlsx"
    True
    >>> try:
    ...     check_output_file(base)
    ... except OutputTargetError as error:
    ...     print(str(error).split(";")[0].replace(str(base), "BASE"))
    --out BASE is a folder, not a file
    """
    path = Path(path)
    if path.is_dir():
        raise OutputTargetError(
            f"{option} {path} is a folder, not a file; name a file inside it, e.g. "
            f"{path / 'tables.xlsx'}."
        )
    check_output_folder(path.parent, option=f"{option} {path}: its folder")
    return path
