"""The one atomic writer (evaluation.files): a crash mid-write leaves the old file, new files get
the umask's permissions, and both the file and its folder reach the disk (fsync)."""

from __future__ import annotations

import ast
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evaluation import files
from evaluation.files import (
    TMP_MARK,
    atomic_folder,
    atomic_path,
    atomic_symlink,
    atomic_write_json,
    atomic_write_text,
    remove_stale_temporaries,
)

OLD = "<p>the complete old report</p>\n"


@pytest.fixture
def umask():
    """Set a umask for the test and restore the previous one afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_to(mask: int) -> None:
        os.umask(mask)

    yield set_to
    os.umask(previous)


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if TMP_MARK in p.name)


def test_a_process_killed_inside_the_writer_leaves_the_old_file(tmp_path):
    target = tmp_path / "index.html"
    target.write_text(OLD)
    # the child writes half a report into the temporary file, says so, and waits to be killed
    child = textwrap.dedent(
        f"""
        import sys, time
        from evaluation.files import atomic_path
        with atomic_path({str(target)!r}) as temporary:
            with open(temporary, "w") as handle:
                handle.write("<p>half a new rep")
                handle.flush()
                print("writing", flush=True)
                time.sleep(120)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    assert target.read_text() == OLD
    stray = _temporaries(tmp_path)
    assert len(stray) == 1 and stray[0].read_text() == "<p>half a new rep"
    assert remove_stale_temporaries(tmp_path) == stray
    assert sorted(tmp_path.iterdir()) == [target]


def test_an_error_in_the_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_text(OLD)
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as temporary:
            temporary.write_text('{"jobs": [')
            raise RuntimeError("disk full")
    assert target.read_text() == OLD
    assert _temporaries(tmp_path) == []
    # a value json cannot write fails before anything is replaced, too
    circular: list = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        atomic_write_json(target, circular)
    assert target.read_text() == OLD


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_files_get_the_permissions_the_umask_gives(tmp_path, umask, mask, mode):
    umask(mask)
    written = atomic_write_text(tmp_path / "report.html", "<p>x</p>")
    assert stat.S_IMODE(written.stat().st_mode) == mode  # as open() would; never mkstemp's 0600
    with atomic_folder(tmp_path / "synthetic") as folder:
        (folder / "truth.json").write_text("{}")
    assert stat.S_IMODE((tmp_path / "synthetic").stat().st_mode) == 0o777 & ~mask


def test_the_file_and_its_folder_are_fsynced(tmp_path, monkeypatch):
    synced: list[tuple[int, int, bool]] = []  # (device, inode, is a folder) of each fsync
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        info = os.fstat(descriptor)
        synced.append((info.st_dev, info.st_ino, stat.S_ISDIR(info.st_mode)))
        real_fsync(descriptor)

    monkeypatch.setattr(files.os, "fsync", recording_fsync)
    target = atomic_write_text(tmp_path / "reports" / "hovedstaden.html", "<p>report</p>")
    file_info, folder_info = target.stat(), target.parent.stat()
    # the written file (now at the target: the rename keeps its inode), then its folder, which
    # holds the rename
    assert synced == [
        (file_info.st_dev, file_info.st_ino, False),
        (folder_info.st_dev, folder_info.st_ino, True),
    ]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    data = tmp_path / "synthetic"
    data.mkdir()
    (data / "truth.json").write_text('{"seed": 1}')
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(data) as folder:
            (folder / "clinics.parquet").write_bytes(b"PAR1")
            raise KeyboardInterrupt  # the user pressed Ctrl-C half-way
    assert sorted(p.name for p in data.iterdir()) == ["truth.json"]
    assert sorted(tmp_path.iterdir()) == [data]

    synced: list[bool] = []
    real_fsync = os.fsync
    monkeypatch.setattr(
        files.os,
        "fsync",
        lambda fd: (synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)), real_fsync(fd))[1],
    )
    with atomic_folder(data) as folder:
        (folder / "truth.json").write_text('{"seed": 2}')
        (folder / "register").mkdir()
        (folder / "register" / "part-0.parquet").write_bytes(b"PAR1")
    assert (data / "truth.json").read_text() == '{"seed": 2}'
    assert (data / "register" / "part-0.parquet").read_bytes() == b"PAR1"
    assert sorted(tmp_path.iterdir()) == [data], "the old folder is gone, no temporaries left"
    assert synced.count(False) == 2 and synced.count(True) >= 3  # both files; the folders


def test_the_latest_link_is_swapped_in_one_step(tmp_path):
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-2").mkdir()
    link = atomic_symlink(tmp_path / "latest", "run-1")
    assert link.resolve() == (tmp_path / "run-1").resolve()
    atomic_symlink(tmp_path / "latest", "run-2")
    assert os.readlink(link) == "run-2"
    assert _temporaries(tmp_path) == []


def _renames_into_place(path: Path) -> bool:
    """Whether a module moves files itself: os.replace/os.rename/shutil.move, or Path.rename
    with one argument (pandas' rename takes a mapping or keywords, or a constant name)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
        name = node.func.attr
        if (owner, name) in {("os", "replace"), ("os", "rename"), ("shutil", "move")}:
            return True
        if (
            name == "rename"
            and len(node.args) == 1
            and not node.keywords
            and not isinstance(node.args[0], (ast.Constant, ast.Dict, ast.Lambda))
        ):
            return True
    return False


def test_only_the_one_writer_renames_files_into_place():
    src = Path(__file__).resolve().parents[2] / "src" / "evaluation"
    renaming = sorted(
        path.relative_to(src).as_posix() for path in src.rglob("*.py") if _renames_into_place(path)
    )
    # qualitative/ has its own writers until they move onto evaluation.files (its own branch)
    assert [p for p in renaming if not p.startswith("qualitative/")] == ["files.py"]
