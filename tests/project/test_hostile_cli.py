"""No traceback reaches a user from any command-line path (issue 14, item 6).

Each failure the issue found (and its neighbours) is driven through a real ``workbench`` process,
as a shell would: the exit status is non-zero, the output names what is wrong and what to do,
and no "Traceback" appears. Ctrl-C is driven in tests/batch/test_batch_resume.py, the hostile
archives' memory in tests/qualitative/test_hostile_archives.py.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

from evaluation.qualitative.store import Store

PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def workbench(*args: str, cwd: Path, as_user: int | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "evaluation.cli", *args]
    if as_user is not None:  # root ignores permissions: run as an ordinary user instead
        command = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups"]
        command += [sys.executable, "-m", "evaluation.cli", *args]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
    )


def lying_zip(path: Path, name: str, claimed: int, actual: int) -> Path:
    """A zip of one deflated member whose headers claim ``claimed`` bytes (with the CRC of the
    first ``claimed``) while its stream inflates to ``actual`` zero bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = compressor.compress(bytes(actual)) + compressor.flush()
    crc, encoded = zlib.crc32(bytes(claimed)), name.encode()
    fields = (8, 0, 0, crc, len(data), claimed, len(encoded))
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, *fields, 0) + encoded + data
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, *fields, 0, 0, 0, 0, 0, 0
    )
    central += encoded
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    path.write_bytes(local + central + end)
    return path


def refused(result: subprocess.CompletedProcess, *expected: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for text in expected:
        assert text in output, (text, output)
    return output


def test_hostile_outputs_that_would_lose_or_cannot_take_files(tmp_path, synthetic_small):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    refused(workbench("data", "synth", "--out", str(mine), cwd=tmp_path), "thesis.docx", "--force")
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.docx"]

    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    refused(workbench("data", "synth", "--out", str(a_file), cwd=tmp_path), "is a file")
    refused(workbench("data", "synth", "--out", str(a_file / "sub"), cwd=tmp_path), "is a file")
    refused(
        workbench("data", "aggregate", str(synthetic_small), "--out", str(tmp_path), cwd=tmp_path),
        "--out",
    )
    refused(
        workbench(
            "qual", "query", "frequencies", "--store", str(tmp_path / "s.sqlite"), "--out",
            str(tmp_path), cwd=tmp_path,
        ),
        "is a directory",
    )  # fmt: skip
    assert a_file.read_text() == "mine"


def test_hostile_read_only_outputs(tmp_path):
    # a folder an ordinary user may read but not write, as `chmod a-w` leaves it
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        read_only = base / "read-only"
        read_only.mkdir(mode=0o555)
        os.chmod(read_only, 0o555)
        user = 65534 if os.geteuid() == 0 else None
        store = base / "coding.sqlite"
        Store.create(store).close()
        os.chmod(store, 0o644)
        synth = workbench("data", "synth", "--out", str(read_only / "data"), cwd=base, as_user=user)
        refused(synth, "cannot write", "read-only or no permission")
        query = workbench(
            "qual", "query", "frequencies", "--store", str(store), "--out",
            str(read_only / "f.csv"), cwd=base, as_user=user,
        )  # fmt: skip
        refused(query, "cannot write")
        assert list(read_only.iterdir()) == []
    finally:
        os.chmod(base / "read-only", 0o755)
        shutil.rmtree(base)


def test_hostile_data_folders_and_run_options(tmp_path, synthetic_small):
    data = tmp_path / "data"
    shutil.copytree(synthetic_small, data)
    (data / "clinics.parquet").rename(data / "clinics.feather")
    (data / "klinik_extra.csv").write_text("a,b\n1,2\n")
    checked = workbench("data", "check", str(data), cwd=tmp_path)
    output = refused(checked, "clinics.feather", "save it as clinics.parquet")
    assert "klinik_extra.csv: not a canonical table" in output

    run = workbench(
        "run", "--data", str(data), "--out", str(tmp_path / "out"), "--notebooks",
        str(PROJECT / "notebooks"), "--parameters", str(PROJECT / "parameters"), "-r", "Sjeland",
        cwd=tmp_path,
    )  # fmt: skip
    refused(run, "did you mean 'sjaelland'?", "clinics.feather", "nothing was written")
    assert not (tmp_path / "out").exists()

    inside = tmp_path / "notebooks"
    shutil.copytree(PROJECT / "notebooks", inside)
    refused(workbench("run", cwd=inside), "run from the project root", "cd ..")
    refused(workbench("data", "check", str(tmp_path / "nowhere"), cwd=tmp_path), "no such")


def test_hostile_imports(tmp_path):
    store = tmp_path / "coding.sqlite"
    Store.create(store).close()
    before = store.read_bytes()
    bomb = lying_zip(tmp_path / "bomb.qdpx", "project.qde", claimed=1000, actual=64 << 20)
    refused(
        workbench("qual", "import", str(bomb), "--store", str(store), "--quiet", cwd=tmp_path),
        "bomb.qdpx",
        "declares",
    )
    broken = tmp_path / "interview.docx"
    broken.write_bytes(b"PK\x03\x04 not really a docx")
    refused(
        workbench("qual", "import", str(broken), "--store", str(store), "--quiet", cwd=tmp_path),
        "interview.docx",
    )
    assert store.read_bytes() == before
