"""Read a table from whatever file format it arrived in.

Registers reach researchers as CSV (often the Danish Excel dialect: ``;`` between fields,
``,`` as decimal mark, ``.`` grouping thousands, cp1252 with æøå), Parquet, SAS
(``.sas7bdat``, ``.xpt``), Stata (``.dta``) or Excel (``.xlsx``). :func:`read_table` reads any
of them into a DataFrame; for CSV it detects the encoding and dialect unless told
(:func:`sniff_csv`). Type conversion to the canonical schema happens later, in
:func:`evaluation.data.schemas.conform`, so readers stay faithful to the file.

Example
-------
>>> import tempfile, pathlib
>>> from evaluation.data import read_table
>>> path = pathlib.Path(tempfile.mkdtemp()) / "clinics.csv"
>>> _ = path.write_bytes("clinic_id;region;share\\nK0001;Sjælland;0,25\\n".encode("cp1252"))
>>> read_table(path)  # the Danish Excel dialect and cp1252, detected
  clinic_id    region  share
0     K0001  Sjælland   0.25
>>> frame = read_table(path, encoding="cp1252", sep=";", decimal=",")  # or told
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.archives import ArchiveError, ArchiveLimits, check_archive
from evaluation.errors import InputError
from evaluation.files import atomic_write_bytes

READERS: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".sas7bdat": "sas",
    ".xpt": "xport",
    ".dta": "stata",
    ".xlsx": "excel",
    ".xlsm": "excel",
}
SUFFIXES: tuple[str, ...] = tuple(READERS)


class ReadError(InputError):
    """A file could not be read at all (missing, empty, unknown format, undecodable)."""

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = str(path)
        self.reason = message
        super().__init__(f"{path}: {message}")


class EmptyFileError(ReadError):
    """The file holds no header and no rows."""


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written. ``thousands`` may be None (no grouping mark)."""

    encoding: str
    sep: str
    decimal: str
    thousands: str | None

    @property
    def is_danish(self) -> bool:
        return self.sep == ";" and self.decimal == ","


_SAMPLE_BYTES = 1 << 20


def _detect_encoding(raw: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, else cp1252 (Danish
    Windows), else latin-1 (which decodes any byte)."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # a sample may end inside a multi-byte character: the incremental decoder allows that
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _count_outside_quotes(line: str, char: str) -> int:
    return len(re.findall(re.escape(char), re.sub(r'"[^"]*"', "", line)))


def sniff_csv(
    path: str | os.PathLike,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None | bool = None,
) -> CsvDialect:
    """Work out a CSV file's encoding, separator, decimal and thousands marks.

    Each argument given is kept; the others are detected from the first megabyte:

    - encoding: UTF-8 if it decodes (a BOM is honoured), otherwise cp1252;
    - separator: the one of ``; , TAB |`` that splits the first lines into the same, largest
      number of fields;
    - decimal: ``,`` when the separator is ``;`` (the Danish Excel dialect), else ``.``;
    - thousands: ``.`` with a ``,`` decimal, ``,`` with a ``.`` decimal only if numbers in the
      sample are grouped that way (e.g. ``1,234,567``), otherwise none. Pass ``False`` to switch
      grouping off.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        raw = handle.read(_SAMPLE_BYTES)
    if not raw.strip():
        raise EmptyFileError(path, "the file is empty: expected a header row and data rows")
    encoding = encoding or _detect_encoding(raw)
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(raw, final=False)
    except (UnicodeDecodeError, LookupError) as err:
        raise ReadError(
            path, f"cannot decode as {encoding}: {err}; pass the right encoding"
        ) from None
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if sep is None:
        best, best_score = ",", (-1, -1)
        for candidate in (";", ",", "\t", "|"):
            counts = [_count_outside_quotes(ln, candidate) for ln in lines[:20]]
            if not counts or counts[0] == 0:
                continue
            consistent = sum(c == counts[0] for c in counts)
            score = (consistent, counts[0])
            if score > best_score:
                best, best_score = candidate, score
        sep = best
    if decimal is None:
        decimal = "," if sep == ";" else "."
    if thousands is None:
        if decimal == ",":
            thousands = "."
        else:
            body = "\n".join(lines[1:])
            grouped = (
                re.search(r"(?<![\d.])\d{1,3}(,\d{3})+(\.\d+)?(?![\d,])", body)
                if sep != ","
                else None
            )
            thousands = "," if grouped else None
    elif thousands is False:
        thousands = None
    if thousands == decimal:
        raise InputError(f"thousands mark and decimal mark are both {decimal!r}")
    return CsvDialect(encoding, sep, decimal, thousands)


def _numeric_pattern(decimal: str, thousands: str | None) -> re.Pattern:
    d, t = re.escape(decimal), re.escape(thousands) if thousands else None
    plain = rf"[-+]?\d+(?:{d}\d*)?(?:[eE][-+]?\d+)?"
    lead = rf"[-+]?{d}\d+"
    if t:
        grouped = rf"[-+]?\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d*)?"
        return re.compile(rf"^(?:{grouped}|{plain}|{lead})$")
    return re.compile(rf"^(?:{plain}|{lead})$")


def _parse_numeric_columns(
    frame: pd.DataFrame, dialect: CsvDialect, text_columns: Collection[str] = ()
) -> pd.DataFrame:
    """Turn columns whose every value is a number in the file's dialect into numbers, except
    ``text_columns`` (compared after lower-casing, spaces as underscores), which stay text
    so that identifiers such as 0101 keep their leading zeros.

    Done by hand rather than by pandas' ``thousands=`` because that would read a Danish date
    such as 01.02.2019 as the number 1022019."""
    pattern = _numeric_pattern(dialect.decimal, dialect.thousands)
    keep_text = {_normalise(c) for c in text_columns}
    for name in frame.columns:
        if _normalise(name) in keep_text:
            continue
        column = frame[name]
        present = column.dropna()
        if present.empty:
            continue
        stripped = present.str.strip()
        if not stripped.str.match(pattern).all():
            continue
        cleaned = stripped
        if dialect.thousands:
            cleaned = cleaned.str.replace(dialect.thousands, "", regex=False)
        if dialect.decimal != ".":
            cleaned = cleaned.str.replace(dialect.decimal, ".", regex=False)
        numbers = pd.to_numeric(cleaned, errors="coerce")
        has_fraction = stripped.str.contains(re.escape(dialect.decimal), regex=True).any()
        if not has_fraction and column.notna().all() and (numbers.abs() < 2**62).all():
            frame[name] = numbers.astype(np.int64).reindex(frame.index)
        else:
            frame[name] = numbers.astype(float).reindex(frame.index)
    return frame


def _normalise(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip()).casefold()


def read_csv(
    path: str | os.PathLike,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None | bool = None,
    text_columns: Collection[str] = (),
) -> pd.DataFrame:
    """Read a CSV file in any common dialect (see :func:`sniff_csv`).

    Numbers are converted where a whole column is numeric in the file's dialect (except the
    ``text_columns``); every other column is kept as text (dates are parsed later, against
    the schema)."""
    dialect = sniff_csv(path, encoding, sep, decimal, thousands)
    try:
        with warnings.catch_warnings():
            # a row longer than the header would silently lose its last fields: an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path,
                sep=dialect.sep,
                encoding=dialect.encoding,
                dtype=str,
                keep_default_na=False,
                na_values=["", "NA", "N/A", "NaN", "nan", "NULL", "null", "."],
                skipinitialspace=True,
                quotechar='"',
                engine="c",
                # rows longer than the header must not turn the first fields into an index
                index_col=False,
            )
    except pd.errors.ParserWarning as err:
        raise ReadError(
            path,
            f"some rows have more fields than the header with separator {dialect.sep!r} ({err}); "
            "every row needs as many fields as the header; pass --sep if it was guessed wrong",
        ) from None
    except pd.errors.EmptyDataError:
        raise EmptyFileError(
            path, "the file is empty: expected a header row and data rows"
        ) from None
    except pd.errors.ParserError as err:
        raise ReadError(
            path,
            f"not a valid CSV with separator {dialect.sep!r}: {err}. Every row needs as many "
            "fields as the header; pass --sep if the separator was guessed wrong",
        ) from None
    except UnicodeDecodeError as err:
        raise ReadError(
            path, f"cannot decode as {dialect.encoding} ({err}); pass the encoding"
        ) from None
    except (ValueError, IndexError) as err:  # pandas' other complaints about malformed input
        raise ReadError(path, f"not a readable CSV with separator {dialect.sep!r}: {err}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicates = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicates:
        raise ReadError(
            path,
            f"the header names column(s) {', '.join(map(repr, duplicates))} more than once; "
            "give every column its own name",
        )
    frame.attrs["dialect"] = dialect
    return _parse_numeric_columns(frame, dialect, text_columns)


def read_parquet(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Parquet file (or a folder of them), with dates as datetime64 and dictionary
    columns as plain strings."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt or non-parquet files
        raise ReadError(path, f"not a readable Parquet file: {err}") from None
    return table.to_pandas(date_as_object=False, strings_to_categorical=False)


def read_sas(path: str | os.PathLike, encoding: str | None = None) -> pd.DataFrame:
    """Read a SAS dataset (.sas7bdat or transport .xpt) with pyreadstat; SAS date formats
    become dates."""
    import pyreadstat

    path = Path(path)
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        if path.suffix.lower() == ".xpt":
            frame, _ = pyreadstat.read_xport(str(path), **kwargs)
        else:
            frame, _ = pyreadstat.read_sas7bdat(str(path), **kwargs)
    except Exception as err:  # pyreadstat.ReadstatError and friends
        raise ReadError(path, f"not a readable SAS dataset: {err}") from None
    return frame


def read_stata(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Stata .dta file; value labels become text, %td dates become dates."""
    try:
        return pd.read_stata(path, convert_categoricals=True, convert_dates=True)
    except Exception as err:
        raise ReadError(path, f"not a readable Stata file: {err}") from None


# A workbook is a zip that openpyxl opens trusting its headers: checked member by member in
# bounded memory first (a sheet of a million rows is a few hundred MB of XML).
XLSX_LIMITS = ArchiveLimits(members=10_000, total_bytes=1_000_000_000, member_bytes=800_000_000)


def read_excel(path: str | os.PathLike, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a sheet of an .xlsx workbook: the one named ``sheet``, else the first."""
    try:
        check_archive(path, XLSX_LIMITS, kind="an Excel workbook")
    except ArchiveError as err:
        raise ReadError(path, str(err).removeprefix(f"{path}: ")) from None
    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, engine="openpyxl")
    except ValueError as err:
        raise ReadError(path, f"cannot read sheet {sheet!r}: {err}") from None
    except Exception as err:
        raise ReadError(path, f"not a readable Excel workbook: {err}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_table(
    path: str | os.PathLike,
    *,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None | bool = None,
    sheet: str | int | None = None,
    text_columns: Collection[str] = (),
) -> pd.DataFrame:
    """Read one table from ``path``, choosing the reader from the file's suffix.

    Supported: ``.parquet``/``.pq``, ``.csv``/``.txt``/``.tsv`` (dialect and encoding detected,
    or given by ``encoding``, ``sep``, ``decimal``, ``thousands``), ``.sas7bdat``/``.xpt``
    (``encoding`` overrides the file's), ``.dta`` and ``.xlsx`` (``sheet``). In CSV files the
    ``text_columns`` are kept as text even when they look numeric.

    Raises :class:`ReadError` (a ``ValueError``) naming the file when it is missing, empty,
    of an unknown format or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(path, "no such file")
    kind = READERS.get(path.suffix.lower())
    if path.is_dir():
        kind = "parquet"
    if kind is None:
        raise ReadError(
            path, f"unknown file type {path.suffix!r}; expected one of {', '.join(SUFFIXES)}"
        )
    if path.is_file() and path.stat().st_size == 0:
        raise EmptyFileError(
            path, "the file is empty (0 bytes): expected a header row and data rows"
        )
    if kind == "csv":
        return read_csv(path, encoding, sep, decimal, thousands, text_columns)
    if kind == "parquet":
        return read_parquet(path)
    if kind in ("sas", "xport"):
        return read_sas(path, encoding)
    if kind == "stata":
        return read_stata(path)
    return read_excel(path, sheet)


def write_csv_danish(
    frame: pd.DataFrame, path: str | os.PathLike, encoding: str = "cp1252"
) -> Path:
    """Write ``frame`` as a Danish Excel opens it: ``;`` separator, ``,`` decimal, cp1252,
    dates as YYYY-MM-DD; atomically (a temporary file renamed into place).

    Raises ``UnicodeEncodeError`` naming the character if a value cannot be written in
    ``encoding`` (cp1252 has æøå but not, say, emoji): pass ``encoding="utf-8-sig"``."""
    buffer = io.StringIO()
    frame.to_csv(
        buffer,
        sep=";",
        decimal=",",
        index=False,
        quoting=csv.QUOTE_MINIMAL,
        date_format="%Y-%m-%d",
    )
    return atomic_write_bytes(path, buffer.getvalue().encode(encoding))
