"""The data wing: canonical tables, readers, validation, synthetic data and aggregation.

Everything downstream (methods, notebooks, batch) reads data through this wing, so a data folder
in the canonical layout - from the synthetic generator or from real registers - looks the same.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public API, imported lazily so that `workbench --help` does not pay for pandas and pandera.
_EXPORTS = {
    "load": "evaluation.data.io",
    "read_folder": "evaluation.data.io",
    "read_canonical": "evaluation.data.io",
    "write_table": "evaluation.data.io",
    "clinic_month_outcomes": "evaluation.data.outcomes",
    "read_table": "evaluation.data.readers",
    "sniff_csv": "evaluation.data.readers",
    "ReadError": "evaluation.data.readers",
    "DataValidationError": "evaluation.data.schemas",
    "Problem": "evaluation.data.schemas",
    "StudyWindow": "evaluation.data.schemas",
    "TABLES": "evaluation.data.schemas",
    "conform": "evaluation.data.schemas",
    "validate_table": "evaluation.data.schemas",
    "check_folder": "evaluation.data.check",
    "aggregate_register": "evaluation.data.aggregate",
}
__all__ = [
    "DataValidationError",
    "Problem",
    "ReadError",
    "StudyWindow",
    "TABLES",
    "aggregate_register",
    "check_folder",
    "clinic_month_outcomes",
    "conform",
    "load",
    "read_canonical",
    "read_folder",
    "read_table",
    "sniff_csv",
    "validate_table",
    "write_table",
]

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.data.aggregate import aggregate_register
    from evaluation.data.check import check_folder
    from evaluation.data.io import load, read_canonical, read_folder, write_table
    from evaluation.data.outcomes import clinic_month_outcomes
    from evaluation.data.readers import ReadError, read_table, sniff_csv
    from evaluation.data.schemas import (
        TABLES,
        DataValidationError,
        Problem,
        StudyWindow,
        conform,
        validate_table,
    )


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'evaluation.data' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
