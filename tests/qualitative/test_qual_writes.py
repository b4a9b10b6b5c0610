"""Every file the qualitative wing writes goes through evaluation.files: complete or absent,
no temporary left, the permissions the umask gives (owner-only only where real names are)."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from evaluation.files import TMP_MARK


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield 0o644
    os.umask(previous)


@pytest.fixture
def small_store(store):
    document = store.add_document("interview 1", "Coordinator: We lacked data. Sune helped.")
    store.add_code("data", "Obtaining data", description="Getting data for meetings.")
    store.add_case("C001", attributes={"region": "Nordjylland"}, documents=[document])
    store.add_segment(document, "data", 13, 28, coder="anna")
    return store


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _no_temporaries(folder) -> bool:
    return not [p for p in folder.rglob("*") if TMP_MARK in p.name]


def test_exports_are_complete_with_umask_permissions(small_store, tmp_path, umask_022):
    from evaluation.qualitative.exports import export_docx, export_odt, export_report, export_xlsx
    from evaluation.qualitative.refi import export_qdc, export_qdpx

    out = tmp_path / "out"
    written = [
        export_xlsx(small_store, out / "quotes.xlsx"),
        export_docx(small_store, out / "quotes.docx"),
        export_odt(small_store, out / "report.odt"),
        export_report(small_store, out / "report.md"),
        export_report(small_store, out / "report.html"),
        export_qdpx(small_store, out / "project.qdpx"),
        export_qdc(small_store, out / "codebook.qdc"),
    ]
    for path in written:
        assert path.stat().st_size > 0, path
        assert _mode(path) == umask_022, path  # readable by colleagues, as open() would make it
    assert _no_temporaries(out)


def test_pseudonym_mapping_is_readable_by_its_owner_only(tmp_path, umask_022):
    from evaluation.qualitative.pseudonyms import PseudonymMapping, read_mapping, write_mapping

    path = tmp_path / "pseudonyms.yml"
    write_mapping(path, PseudonymMapping([("Sune", "[GP 1]")], reviewed_by="test"))
    assert _mode(path) == 0o600  # it holds real names
    assert read_mapping(path).pairs == [("Sune", "[GP 1]")]
    assert _no_temporaries(tmp_path)


def test_cli_outputs_go_through_the_atomic_writer(small_store, tmp_path, umask_022, monkeypatch):
    from evaluation.qualitative.cli import qual
    from evaluation.qualitative.pseudonyms import PseudonymMapping, write_mapping

    monkeypatch.chdir(tmp_path)
    store_path = str(small_store.path)
    small_store.close()
    runner = CliRunner()
    for args in (
        ["codebook", "export", "codebook.yml", "--store", store_path],
        ["query", "frequencies", "--store", store_path, "--out", "frequencies.csv"],
        ["query", "frequencies", "--store", store_path, "--out", "frequencies.xlsx"],
    ):
        result = runner.invoke(qual, args)
        assert result.exit_code == 0, result.output
    for name in ("codebook.yml", "frequencies.csv", "frequencies.xlsx"):
        assert _mode(tmp_path / name) == umask_022, name
    import pandas as pd

    assert pd.read_excel(tmp_path / "frequencies.xlsx").shape[0] == 1  # one code

    write_mapping(tmp_path / "map.yml", PseudonymMapping([("Sune", "[GP 1]")], reviewed_by="t"))
    (tmp_path / "quote.txt").write_text("[GP 1] helped.", encoding="utf-8")
    result = runner.invoke(
        qual,
        ["pseudonyms", "reverse", "quote.txt", "--mapping", "map.yml", "--out", "real.txt"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "real.txt").read_text(encoding="utf-8") == "Sune helped."
    assert _mode(tmp_path / "real.txt") == 0o600  # the real names are back in it
    assert _no_temporaries(tmp_path)


def test_a_failed_export_leaves_the_old_file_and_no_temporary(small_store, tmp_path, monkeypatch):
    from evaluation.qualitative import refi

    target = tmp_path / "project.qdpx"
    target.write_bytes(b"the previous export")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(refi.zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        refi.export_qdpx(small_store, target)
    assert target.read_bytes() == b"the previous export"
    assert _no_temporaries(tmp_path)
