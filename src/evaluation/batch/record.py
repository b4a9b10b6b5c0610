"""The name notebooks import the record helpers by: ``from evaluation.batch.record import record``.

The helpers themselves live in :mod:`evaluation.records`, at the bottom of the package, so that
the reports (which sit below batch) can use them too; this module re-exports all of them.
"""

from __future__ import annotations

from evaluation.records import (
    ESTIMATE_FIELDS,
    RECORD_MIME,
    UnrecordableValueError,
    decode,
    encode,
    read_estimates,
    read_jobs,
    read_notebook_records,
    read_records,
    record,
    record_estimate,
    records_in_notebook,
)

__all__ = [
    "ESTIMATE_FIELDS",
    "RECORD_MIME",
    "UnrecordableValueError",
    "decode",
    "encode",
    "read_estimates",
    "read_jobs",
    "read_notebook_records",
    "read_records",
    "record",
    "record_estimate",
    "records_in_notebook",
]
