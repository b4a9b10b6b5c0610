"""Property-based fuzzing (hypothesis) of everything that reads files from elsewhere.

The CSV reader (any bytes, and CSV-shaped text in the Danish and English dialects), the
REFI-QDA importer (any bytes, and well-formed zips with arbitrary members) and the transcript
importers (.txt, .html, .docx, .odt): any input gives a result or the package's own
:class:`~evaluation.errors.EvaluationError`, never another exception, within a time bound per
example (hypothesis's deadline) and in bounded memory (the inputs are small, and the archive
reader never inflates more than it reads: tests/qualitative/test_hostile_archives.py).
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.data.readers import read_table
from evaluation.errors import EvaluationError
from evaluation.qualitative.importers import read_transcript
from evaluation.qualitative.refi import import_qdpx
from evaluation.qualitative.store import Store

FUZZ = settings(
    max_examples=80,
    deadline=5000,  # ms per example: bounded time; generous for a shared, loaded machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _write(suffix: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return path


def _either_result_or_our_error(read, path: Path):
    try:
        return read(path)
    except EvaluationError:
        return None  # the package's own, clean error: allowed


cells = st.one_of(
    st.text(alphabet="abcæøåÆØÅ 0123456789,.;-\"'\t", max_size=12),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: str(x).replace(".", ",")),
)


@st.composite
def csv_texts(draw) -> bytes:
    """CSV-shaped text: a header and rows of cells, in either dialect and a likely encoding,
    with ragged rows, quotes and separators inside cells allowed."""
    sep = draw(st.sampled_from([";", ",", "\t", "|"]))
    columns = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=columns + 1), max_size=8))
    header = draw(st.lists(st.text(max_size=8), min_size=columns, max_size=columns))
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))
    return newline.join(lines).encode(encoding, errors="replace")


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), csv_texts()))
def test_fuzz_csv_reader_gives_a_table_or_its_own_error(data):
    result = _either_result_or_our_error(read_table, _write(".csv", data))
    assert result is None or isinstance(result, pd.DataFrame)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


xml_fragments = st.sampled_from(
    [
        b"<?xml version='1.0' encoding='utf-8'?>",
        b"<Project xmlns='urn:QDA-XML:project:1.0' name='p'>",
        b"</Project>",
        b"<CodeBook><Codes><Code guid='{00000000-0000-0000-0000-000000000001}' name='a'"
        b" isCodable='true'/></Codes></CodeBook>",
        b"<Sources><TextSource guid='{00000000-0000-0000-0000-000000000002}' name='d'"
        b" plainTextPath='internal://d.txt'><PlainTextSelection startPosition='0'"
        b" endPosition='5'/></TextSource></Sources>",
        b"<!DOCTYPE x [<!ENTITY e 'x'>]>",
        b"&e;",
        b"<Users/>",
        b"\x00\xff",
    ]
)


@st.composite
def qdpx_archives(draw) -> bytes:
    qde = b"".join(draw(st.lists(xml_fragments, max_size=8)))
    members = {"project.qde": qde}
    if draw(st.booleans()):
        members["sources/d.txt"] = draw(st.binary(max_size=200))
    names = st.text(alphabet="abcæø./\\_-: ", min_size=1, max_size=12).filter(
        lambda name: not name.endswith("/")
    )
    extra = draw(st.lists(names, max_size=3))
    members.update({name: b"x" for name in extra})
    return _zip(members)


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), qdpx_archives()))
def test_fuzz_refi_importer_imports_or_refuses_with_its_own_error(data):
    path = _write(".qdpx", data)
    store_path = path.with_name("coding.sqlite")
    with Store.create(store_path) as store:
        before = store.summary()
        try:
            import_qdpx(store, path)
        except EvaluationError:
            assert store.summary() == before, "a refused import changes nothing"


def _html(body: str) -> bytes:
    return f"<html><body>{body}</body></html>".encode()


@st.composite
def transcripts(draw) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from([".txt", ".html", ".docx", ".odt"]))
    text = draw(st.text(max_size=300))
    if suffix == ".txt":
        data = draw(st.one_of(st.binary(max_size=500), st.just(text.encode("utf-8", "replace"))))
    elif suffix == ".html":
        data = draw(
            st.one_of(
                st.binary(max_size=500),
                st.just(_html(text)),
                st.just(text.encode("utf-8", "replace")),
            )
        )
    else:
        inner = "word/document.xml" if suffix == ".docx" else "content.xml"
        data = draw(
            st.one_of(
                st.binary(max_size=500),
                st.just(_zip({inner: text.encode("utf-8", "replace")})),
                st.just(_zip({"[Content_Types].xml": b"<Types/>", inner: b"<w:document/>"})),
            )
        )
    return suffix, data


@FUZZ
@given(case=transcripts())
def test_fuzz_transcript_importers_read_or_refuse_with_their_own_error(case):
    suffix, data = case
    result = _either_result_or_our_error(read_transcript, _write(suffix, data))
    assert result is None or isinstance(result.text, str)
