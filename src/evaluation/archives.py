"""Reading zip archives from elsewhere (.qdpx, .docx, .odt, .xlsx) in bounded memory and time.

A zip's headers are claims, not facts: a member may say it holds 1,000 bytes and inflate to a
gigabyte, or say nothing true at all. Python's ``zipfile`` trusts the declared size only to stop
*returning* bytes; a single ``read()`` still inflates the whole deflate stream first (a 1 GB
member costs 1 GB of memory before it is cut to the declared 1,000 bytes). So every member is
inflated here in chunks of :data:`CHUNK` bytes from its raw compressed bytes, counting the bytes
actually produced, and reading stops the moment they pass the member's declared size or the
limit: a lying header, a bad CRC, a truncated stream, too many members or too many bytes in all
each end in one clean error naming the file, never a traceback or a memory spike.

:func:`check_archive` streams every member through those checks without keeping any (for
archives a library then opens itself: python-docx, odfpy, openpyxl), so that afterwards every
declared size is true and bounded; :class:`SafeArchive` also reads named members (the REFI-QDA
importer). One helper for every importer.

>>> import io, tempfile, zipfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ok.zip"
>>> with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
...     archive.writestr("project.qde", "<Project/>")
>>> with SafeArchive(path) as archive:
...     archive.read("project.qde")
b'<Project/>'
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evaluation.errors import InputError

__all__ = [
    "CHUNK",
    "ArchiveError",
    "ArchiveLimits",
    "SafeArchive",
    "check_archive",
    "check_member_name",
]

#: bytes inflated per step; the most a hostile member can make us hold beyond a limit
CHUNK = 64 * 1024

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"


class ArchiveError(InputError):
    """A zip archive that is not what it claims (bad CRC, lying sizes, not a zip) or is larger
    than the limits; the message names the file and the member."""


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may hold: members, bytes in all, bytes in any member read, and how
    many times a member over 1 MB may expand (text compresses 5-20-fold; 200-fold is padding)."""

    members: int = 10_000
    total_bytes: int = 200_000_000
    member_bytes: int = 100_000_000
    expansion: int = 200


def check_member_name(where: str, name: str, error: type[Exception] = ArchiveError) -> None:
    """Refuse a member name that would escape the folder it is extracted to."""
    normalised = name.replace("\\", "/")
    parts = normalised.split("/")
    if (
        normalised.startswith("/")
        or re.match(r"^[A-Za-z]:", normalised)
        or ".." in parts
        or "\x00" in normalised
    ):
        raise error(
            f"{where}: the archive entry {name!r} points outside the project folder (path "
            "traversal); refusing the whole file"
        )


class SafeArchive:
    """A zip opened for reading with its directory checked (member names, count, declared
    total) before any member is used; members are inflated by :meth:`read` or :meth:`verify`
    in bounded chunks.

    ``error`` is the exception type raised (an importer passes its own, e.g. ``RefiError``);
    ``kind`` names what the file should be, for messages ("a REFI-QDA project", "a .docx").
    """

    def __init__(
        self,
        path: str | os.PathLike,
        limits: ArchiveLimits = ArchiveLimits(),
        *,
        kind: str = "a zip archive",
        error: type[Exception] = ArchiveError,
    ) -> None:
        self.path = Path(path)
        self.limits = limits
        self.error = error
        where = str(self.path)
        try:
            self.archive = zipfile.ZipFile(self.path)
            infos = self.archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
            raise error(f"{where}: not {kind} (not a zip archive: {e})") from None
        if len(infos) > limits.members:
            self.archive.close()
            raise error(
                f"{where}: {len(infos):,} entries; refusing more than {limits.members:,} "
                "(a damaged or hostile archive?)"
            )
        declared = 0
        for info in infos:
            check_member_name(where, info.filename, error)
            declared += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1_000_000 and ratio > limits.expansion:
                self.archive.close()
                raise error(
                    f"{where}: entry {info.filename!r} expands {ratio:,.0f}-fold to "
                    f"{info.file_size:,} bytes; refusing a likely zip bomb"
                )
        if declared > limits.total_bytes:
            self.archive.close()
            raise error(
                f"{where}: expands to {declared:,} bytes (limit {limits.total_bytes:,}); refusing "
                "a likely zip bomb"
            )
        self.names = {info.filename.replace("\\", "/"): info for info in infos}
        self.lower = {name.lower(): name for name in self.names}

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.archive.close()

    def find(self, name: str) -> str | None:
        """The member called ``name`` (any case, either slash), or None."""
        name = name.replace("\\", "/")
        return name if name in self.names else self.lower.get(name.lower())

    def _raw(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's compressed bytes, in chunks, from its local header on."""
        where = f"{self.path}: entry {info.filename!r}"
        with open(self.path, "rb") as handle:
            handle.seek(info.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
            if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
                raise self.error(f"{where}: its local header is missing or damaged")
            name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
            handle.seek(name_length + extra_length, os.SEEK_CUR)
            left = info.compress_size
            while left > 0:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:
                    raise self.error(f"{where}: the archive ends inside this entry (truncated)")
                left -= len(chunk)
                yield chunk

    def _inflate(self, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
        """The member's bytes in chunks of at most :data:`CHUNK`, checked as they come: never
        more than its declared size or ``limit``, and its CRC and length at the end."""
        where = f"{self.path}: entry {info.filename!r}"
        if info.flag_bits & 0x1:
            raise self.error(f"{where}: encrypted; export the file without a password")
        if info.file_size > limit:
            raise self.error(f"{where} is {info.file_size:,} bytes (limit {limit:,})")
        if info.compress_type == zipfile.ZIP_STORED:
            inflater = None
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        else:
            raise self.error(
                f"{where}: compressed with method {info.compress_type}; only stored and deflated "
                "entries are read (save the file again from its application)"
            )
        produced, crc = 0, 0

        def checked(data: bytes) -> bytes:
            nonlocal produced, crc
            produced += len(data)
            if produced > info.file_size:
                raise self.error(
                    f"{where}: holds more than the {info.file_size:,} bytes its header declares "
                    "(a lying header, a likely zip bomb); refusing the file"
                )
            crc = zlib.crc32(data, crc)
            return data

        try:
            for raw in self._raw(info):
                if inflater is None:
                    yield checked(raw)
                    continue
                data = inflater.decompress(raw, CHUNK)
                while True:
                    if data:
                        yield checked(data)
                    if not inflater.unconsumed_tail:
                        break
                    data = inflater.decompress(inflater.unconsumed_tail, CHUNK)
                if inflater.eof:
                    break
            if inflater is not None:
                while not inflater.eof:  # output zlib still holds, a chunk at a time
                    data = inflater.decompress(b"", CHUNK)
                    if not data:
                        break
                    yield checked(data)
        except zlib.error as e:
            raise self.error(f"{where}: damaged compressed data ({e})") from None
        if inflater is not None and not inflater.eof:
            raise self.error(f"{where}: the compressed data ends too early (truncated)")
        if produced != info.file_size:
            raise self.error(
                f"{where}: holds {produced:,} bytes but its header declares {info.file_size:,}"
            )
        if crc != info.CRC:
            raise self.error(f"{where}: bad CRC (the entry is damaged or was altered)")

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The member's bytes, checked (at most ``limit``, default the member limit)."""
        info = self.names[name]
        return b"".join(self._inflate(info, self.limits.member_bytes if limit is None else limit))

    def verify(self) -> None:
        """Inflate every member once, keeping nothing: afterwards every declared size and CRC is
        true, and the bytes in all are within the limits."""
        total = 0
        for info in self.names.values():
            if info.is_dir():
                continue
            for data in self._inflate(info, self.limits.member_bytes):
                total += len(data)
                if total > self.limits.total_bytes:
                    raise self.error(
                        f"{self.path}: expands to more than {self.limits.total_bytes:,} bytes; "
                        "refusing a likely zip bomb"
                    )


def check_archive(
    path: str | os.PathLike,
    limits: ArchiveLimits = ArchiveLimits(),
    *,
    kind: str = "a zip archive",
    error: type[Exception] = ArchiveError,
) -> None:
    """Check every member of the zip at ``path`` in bounded memory (see the module docstring)
    before a library that trusts the headers opens it; raise ``error`` if anything is off.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "not.docx"
    >>> _ = path.write_bytes(b"PK but not really a zip")
    >>> try:
    ...     check_archive(path, kind="a .docx")
    ... except ArchiveError as error:
    ...     print(str(error).split(" (")[0].replace(str(path), "FILE"))
    FILE: not a .docx
    """
    with SafeArchive(path, limits, kind=kind, error=error) as archive:
        archive.verify()
