"""Hostile archives (issue 14, item 3): every .qdpx/.docx/.odt/.xlsx is read in bounded memory.

The zips are built here byte by byte, so their headers can lie: the memory bomb of the issue is
a .qdpx whose header says project.qde holds 1,000 bytes while its deflate stream inflates to
about 1 GB. Each must end in the package's own error, a clean message and exit status 1 on the
command line, the coding store unchanged, and the importing process under 300 MB at its peak.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from evaluation.archives import ArchiveError, ArchiveLimits, SafeArchive, check_archive
from evaluation.data.readers import ReadError, read_table
from evaluation.errors import EvaluationError
from evaluation.qualitative.importers import TranscriptImportError, read_transcript
from evaluation.qualitative.refi import RefiError, import_qdpx
from evaluation.qualitative.store import Store

PEAK_LIMIT_MB = 300
GIGABYTE = 1 << 30


def deflate_zeros(size: int) -> bytes:
    """A raw deflate stream of ``size`` zero bytes (1 GB compresses to about 1 MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.compress(bytes(size % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)


def forged_zip(path: Path, members: list[dict]) -> Path:
    """Write a zip whose headers say whatever ``members`` say. Each member: name, data (the
    stored bytes), method (0 stored, 8 deflated), and optionally size/crc/flags to claim."""
    local, central = bytearray(), bytearray()
    for member in members:
        name = member["name"].encode()
        data = member["data"]
        size = member.get("size", len(data))
        crc = member.get("crc", zlib.crc32(data) if member["method"] == 0 else 0)
        flags = member.get("flags", 0)
        offset = len(local)
        local += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, member["method"], 0, 0, crc,
            len(data), size, len(name), 0,
        ) + name + data  # fmt: skip
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, member["method"], 0, 0, crc,
            len(data), size, len(name), 0, 0, 0, 0, 0, offset,
        ) + name  # fmt: skip
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0
    )
    path.write_bytes(bytes(local) + bytes(central) + end)
    return path


def memory_bomb(path: Path, name: str = "project.qde", size: int = GIGABYTE) -> Path:
    """The issue's bomb: the header claims 1,000 bytes (with the CRC of the first 1,000 bytes, so
    a reader that stops at the declared size sees nothing wrong) and inflates to ``size``."""
    return forged_zip(
        path,
        [
            {
                "name": name,
                "data": deflate_zeros(size),
                "method": 8,
                "size": 1000,
                "crc": zlib.crc32(bytes(1000)),
            }
        ],
    )


def peak_megabytes(code: str, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``code`` in a fresh interpreter and return its result and peak resident memory."""
    probe = (
        "import resource, subprocess, sys\n"
        "result = subprocess.run([sys.executable, '-c', sys.argv[1], *sys.argv[2:]])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr)\n"
        "sys.exit(result.returncode)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, code, *args], capture_output=True, text=True, timeout=300
    )
    *rest, peak = result.stderr.strip().splitlines()
    result.stderr = "\n".join(rest)
    return result, float(peak)


WORKBENCH = "import sys\nfrom evaluation.cli import main\nmain(sys.argv[1:], prog_name='workbench')"


@pytest.fixture
def store_path(tmp_path) -> Path:
    path = tmp_path / "coding.sqlite"
    Store.create(path).close()
    return path


@pytest.mark.slow
def test_hostile_qdpx_memory_bomb_is_refused_in_bounded_memory(tmp_path, store_path):
    bomb = memory_bomb(tmp_path / "bomb.qdpx")
    assert bomb.stat().st_size < 5_000_000
    before = store_path.read_bytes()
    result, peak = peak_megabytes(
        WORKBENCH, "qual", "import", str(bomb), "--store", str(store_path), "--quiet"
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Error: ") and "bomb.qdpx" in line and "1,000 bytes" in line, line
    assert peak < PEAK_LIMIT_MB, f"peak {peak:.0f} MB"
    assert store_path.read_bytes() == before, "the store is unchanged"


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".docx", ".odt", ".xlsx"])
def test_hostile_office_memory_bombs_are_refused_in_bounded_memory(tmp_path, suffix):
    inner = {".docx": "word/document.xml", ".odt": "content.xml", ".xlsx": "xl/sharedStrings.xml"}
    bomb = memory_bomb(tmp_path / f"bomb{suffix}", inner[suffix], size=GIGABYTE // 2)
    reader = (
        "from evaluation.data.readers import read_table as read"
        if suffix == ".xlsx"
        else "from evaluation.qualitative.importers import read_transcript as read"
    )
    code = (
        f"import sys\n{reader}\nfrom evaluation.errors import EvaluationError\n"
        "try:\n    read(sys.argv[1])\nexcept EvaluationError as error:\n"
        "    print('refused:', error)\n    sys.exit(1)\n"
    )
    result, peak = peak_megabytes(code, str(bomb))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "refused:" in result.stdout and "declares" in result.stdout, result.stdout
    assert peak < PEAK_LIMIT_MB, f"peak {peak:.0f} MB"


def _valid_qdpx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", "<Project xmlns='urn:QDA-XML:project:1.0'/>")
    return path


def test_hostile_bad_crc_truncated_and_non_zip_files_are_clean_errors(tmp_path, store_path):
    text = b"<Project xmlns='urn:QDA-XML:project:1.0'/>"
    bad_crc = forged_zip(
        tmp_path / "crc.qdpx",
        [{"name": "project.qde", "data": text, "method": 0, "crc": zlib.crc32(text) ^ 1}],
    )
    too_short = forged_zip(
        tmp_path / "short.qdpx",
        [{"name": "project.qde", "data": text, "method": 0, "size": len(text) + 10}],
    )
    truncated = tmp_path / "truncated.qdpx"
    truncated.write_bytes(_valid_qdpx(tmp_path / "whole.qdpx").read_bytes()[:40])
    not_zip = tmp_path / "text.qdpx"
    not_zip.write_text("this is not an archive")
    empty = tmp_path / "empty.qdpx"
    empty.write_bytes(b"")
    broken_deflate = forged_zip(
        tmp_path / "deflate.qdpx",
        [{"name": "project.qde", "data": b"\xff" * 50, "method": 8, "size": 100}],
    )
    bzip2 = forged_zip(
        tmp_path / "bzip2.qdpx", [{"name": "project.qde", "data": text, "method": 12}]
    )
    encrypted = forged_zip(
        tmp_path / "encrypted.qdpx",
        [{"name": "project.qde", "data": text, "method": 0, "flags": 1}],
    )
    expected = {
        bad_crc: "bad CRC",
        too_short: "declares",
        truncated: "not a REFI-QDA project",
        not_zip: "not a REFI-QDA project",
        empty: "not a REFI-QDA project",
        broken_deflate: "damaged compressed data",
        bzip2: "compressed with method 12",
        encrypted: "encrypted",
    }
    before = store_path.read_bytes()
    for path, message in expected.items():
        with Store.open(store_path) as store, pytest.raises(RefiError, match=message):
            import_qdpx(store, path)
    assert store_path.read_bytes() == before


def test_hostile_member_count_total_size_and_traversal_are_refused(tmp_path):
    many = tmp_path / "many.docx"
    with zipfile.ZipFile(many, "w") as archive:
        for number in range(5_001):
            archive.writestr(f"word/m{number}.xml", "")
    with pytest.raises(TranscriptImportError, match="5,001 entries"):
        read_transcript(many)

    huge = forged_zip(  # claims 3 GB: refused from the directory, before inflating anything
        tmp_path / "huge.qdpx",
        [{"name": "project.qde", "data": b"x", "method": 0, "size": 3_000_000_000}],
    )
    with pytest.raises(RefiError, match="3,000,000,000 bytes.*zip bomb"):
        with Store.create(tmp_path / "s.sqlite") as store:
            import_qdpx(store, huge)

    escape = forged_zip(
        tmp_path / "escape.qdpx", [{"name": "../../etc/passwd", "data": b"x", "method": 0}]
    )
    with pytest.raises(RefiError, match="path traversal"):
        with Store.create(tmp_path / "t.sqlite") as store:
            import_qdpx(store, escape)


def test_the_archive_reader_never_holds_more_than_a_chunk_beyond_the_limit(tmp_path):
    # honest header, but more than the member limit: refused from the header
    honest = tmp_path / "honest.zip"
    content = os.urandom(2_000_000)  # incompressible: no expansion to object to
    with zipfile.ZipFile(honest, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.xml", content)
    with SafeArchive(honest, ArchiveLimits(member_bytes=1_000_000)) as archive:
        with pytest.raises(ArchiveError, match="limit 1,000,000"):
            archive.read("big.xml")
    # a declared total above the limit is refused before anything is inflated
    with pytest.raises(ArchiveError, match=r"2,000,000 bytes \(limit 1,500,000\)"):
        check_archive(honest, ArchiveLimits(total_bytes=1_500_000, member_bytes=10**9))
    # and an honest archive reads back exactly
    with SafeArchive(honest) as archive:
        assert archive.read("big.xml") == content
    # padding that expands 200-fold and more is refused from the directory
    padded = tmp_path / "padded.zip"
    with zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("padding.xml", bytes(20_000_000))
    with pytest.raises(ArchiveError, match="fold to 20,000,000 bytes; refusing a likely zip bomb"):
        SafeArchive(padded)


def test_hostile_xlsx_and_docx_errors_are_the_packages_own(tmp_path):
    for suffix, error in ((".xlsx", ReadError), (".docx", TranscriptImportError)):
        path = forged_zip(
            tmp_path / f"crc{suffix}",
            [{"name": "[Content_Types].xml", "data": b"<x/>", "method": 0, "crc": 1}],
        )
        reader = read_table if suffix == ".xlsx" else read_transcript
        with pytest.raises(error, match="bad CRC") as caught:
            reader(path)
        assert isinstance(caught.value, EvaluationError)
