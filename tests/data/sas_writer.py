"""Write small SAS datasets (.sas7bdat) for the reader tests, with ReadStat's own writer.

No SAS installation is available and pyreadstat's Python API offers no sas7bdat writer, but
the ReadStat C library bundled inside pyreadstat's extension module exports its writer
(``readstat_begin_writing_sas7bdat`` and friends). We drive that writer through ctypes, so
the test files are produced at test time by the same library that pyreadstat reads with, and
no file from elsewhere is copied into the project.

Only what the tests need: numeric (double) and string columns, dates as SAS dates (days since
1960-01-01) with the DATE9. format, so readers see them as dates.
"""

from __future__ import annotations

import ctypes
import datetime as dt
from pathlib import Path

import pandas as pd
import pyreadstat

READSTAT_TYPE_STRING = 0
READSTAT_TYPE_DOUBLE = 5
SAS_EPOCH = dt.date(1960, 1, 1)


def _library() -> ctypes.CDLL:
    extension = next(Path(pyreadstat.__file__).parent.glob("_readstat_writer*.so"))
    lib = ctypes.CDLL(str(extension))
    lib.readstat_writer_init.restype = ctypes.c_void_p
    lib.readstat_set_data_writer.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.readstat_add_variable.restype = ctypes.c_void_p
    lib.readstat_add_variable.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_size_t,
    ]
    lib.readstat_variable_set_format.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.readstat_begin_writing_sas7bdat.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
    lib.readstat_begin_row.argtypes = [ctypes.c_void_p]
    lib.readstat_insert_double_value.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_double]
    lib.readstat_insert_string_value.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p]
    lib.readstat_insert_missing_value.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.readstat_end_row.argtypes = [ctypes.c_void_p]
    lib.readstat_end_writing.argtypes = [ctypes.c_void_p]
    lib.readstat_writer_free.argtypes = [ctypes.c_void_p]
    lib.readstat_error_message.restype = ctypes.c_char_p
    return lib


_DATA_WRITER = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)


def write_sas7bdat(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` (object columns of str, numeric columns, datetime64 columns) to
    ``path`` as a SAS dataset."""
    lib = _library()
    chunks: list[bytes] = []

    @_DATA_WRITER
    def collect(data, length, _ctx):
        chunks.append(ctypes.string_at(data, length))
        return length

    def check(status: int) -> None:
        if status != 0:
            raise RuntimeError(lib.readstat_error_message(status).decode())

    writer = lib.readstat_writer_init()
    try:
        check(lib.readstat_set_data_writer(writer, ctypes.cast(collect, ctypes.c_void_p)))
        variables = []
        for name in frame.columns:
            column = frame[name]
            if pd.api.types.is_datetime64_any_dtype(column):
                var = lib.readstat_add_variable(writer, name.encode(), READSTAT_TYPE_DOUBLE, 8)
                lib.readstat_variable_set_format(var, b"DATE9")
                kind = "date"
            elif pd.api.types.is_numeric_dtype(column):
                var = lib.readstat_add_variable(writer, name.encode(), READSTAT_TYPE_DOUBLE, 8)
                kind = "number"
            else:
                width = max(
                    1, int(column.dropna().map(lambda v: len(str(v).encode("utf-8"))).max())
                )
                var = lib.readstat_add_variable(writer, name.encode(), READSTAT_TYPE_STRING, width)
                kind = "string"
            variables.append((var, kind))
        check(lib.readstat_begin_writing_sas7bdat(writer, None, len(frame)))
        for row in frame.itertuples(index=False):
            check(lib.readstat_begin_row(writer))
            for value, (var, kind) in zip(row, variables):
                if pd.isna(value):
                    check(lib.readstat_insert_missing_value(writer, var))
                elif kind == "date":
                    days = (pd.Timestamp(value).date() - SAS_EPOCH).days
                    check(lib.readstat_insert_double_value(writer, var, float(days)))
                elif kind == "number":
                    check(lib.readstat_insert_double_value(writer, var, float(value)))
                else:
                    check(lib.readstat_insert_string_value(writer, var, str(value).encode("utf-8")))
            check(lib.readstat_end_row(writer))
        check(lib.readstat_end_writing(writer))
    finally:
        lib.readstat_writer_free(writer)
    Path(path).write_bytes(b"".join(chunks))
    return Path(path)
