"""Did a change move any number? Compare the records of two runs of ``workbench run``.

A refactoring, an upgraded dependency or a new data delivery should leave the estimates where
they were (or move them for a reason you can name). :func:`compare_runs` reads the
``manifest.json`` of two run folders and lists, record by record, every number that differs
beyond a relative tolerance, every record or table column that appears in only one of them, and
every job whose status changed. Column names are compared after mapping old spellings of the
result vocabulary onto today's (``ci_lower`` -> ``ci_low``, ``pval`` -> ``p_value``, ...), so a
renamed column is reported as renamed, not as a changed number.

``workbench compare-runs BEFORE AFTER`` prints the same table and exits 1 when a number moved.

>>> before = {"jobs": [{"job_id": "01--a", "status": "ok", "records": {
...     "att": {"kind": "estimate", "value": {"estimate": -1.0, "ci_low": -2.0}}}}]}
>>> after = {"jobs": [{"job_id": "01--a", "status": "ok", "records": {
...     "att": {"kind": "estimate", "value": {"estimate": -1.0, "ci_low": -2.5}}}}]}
>>> compare_manifests(before, after)[["job_id", "record", "field", "before", "after"]]
  job_id record   field  before  after
0  01--a    att  ci_low    -2.0   -2.5
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.errors import InputError

__all__ = ["COLUMN_SYNONYMS", "compare_manifests", "compare_runs", "read_manifest"]

# Old spellings of the result vocabulary -> today's (issue "one house style"): applied to whole
# column names and to their underscore-separated parts (rr_ci_lower -> rr_ci_low).
COLUMN_SYNONYMS = {
    "ci_lower": "ci_low",
    "ci_upper": "ci_high",
    "lower": "ci_low",
    "upper": "ci_high",
    "pval": "p_value",
    "p_val": "p_value",
    "p": "p_value",
    "p_adjusted": "p_value_adjusted",
    "p-unc": "p_value",
}

_COLUMNS = ["job_id", "record", "field", "before", "after", "problem"]


def read_manifest(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a run folder (or a manifest.json path), with a clear error if absent."""
    path = Path(run_dir)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.is_file():
        raise InputError(
            f"{path}: no manifest.json; give a run folder written by `workbench run` "
            "(e.g. outputs/latest or outputs/20261130-120000)."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not a readable manifest ({error}).") from None


def _canonical(name: str) -> str:
    name = str(name)
    if name in COLUMN_SYNONYMS:
        return COLUMN_SYNONYMS[name]
    # a test's p-value named by its test: welch_p -> welch_p_value, mwu_p_adjusted -> ...
    name = re.sub(r"_p($|_adjusted$)", r"_p_value\1", name)
    for old, new in COLUMN_SYNONYMS.items():
        if "_" in old:
            name = re.sub(rf"(^|_){re.escape(old)}($|_)", rf"\g<1>{new}\g<2>", name)
    return name


def _frame(document: dict[str, Any]) -> pd.DataFrame:
    from io import StringIO

    frame = pd.read_json(StringIO(json.dumps(document["value"])), orient="table")
    frame = frame.reset_index(drop=True)
    return frame.rename(columns=_canonical)


def _differs(before: Any, after: Any, rtol: float, atol: float) -> bool:
    numbers = (int, float)
    if isinstance(before, bool) or isinstance(after, bool):
        return before != after
    if isinstance(before, numbers) and isinstance(after, numbers):
        if math.isnan(before) and math.isnan(after):
            return False
        return not math.isclose(before, after, rel_tol=rtol, abs_tol=atol)
    if before is None or after is None:
        missing = (None, float("nan"))
        return not (before in missing and after in missing) and before != after
    return before != after


def _compare_values(job_id, record, before, after, rtol, atol, prefix=""):
    rows = []
    if isinstance(before, dict) and isinstance(after, dict):
        before = {_canonical(k): v for k, v in before.items()}
        after = {_canonical(k): v for k, v in after.items()}
        for key in dict.fromkeys([*before, *after]):
            field = f"{prefix}{key}"
            if key not in after:
                rows.append((job_id, record, field, before[key], None, "field only before"))
            elif key not in before:
                rows.append((job_id, record, field, None, after[key], "field only after"))
            else:
                rows += _compare_values(
                    job_id, record, before[key], after[key], rtol, atol, f"{field}."
                )
        return rows
    if _differs(before, after, rtol, atol):
        rows.append((job_id, record, prefix.rstrip(".") or "value", before, after, "changed"))
    return rows


def _compare_frames(job_id, record, before, after, rtol, atol):
    rows = []
    if len(before) != len(after):
        return [(job_id, record, "rows", len(before), len(after), "changed")]
    for column in dict.fromkeys([*before.columns, *after.columns]):
        if column not in after.columns:
            rows.append((job_id, record, str(column), "present", None, "column only before"))
            continue
        if column not in before.columns:
            rows.append((job_id, record, str(column), None, "present", "column only after"))
            continue
        for position, (old, new) in enumerate(zip(before[column], after[column])):
            old = None if pd.isna(old) else (old.item() if hasattr(old, "item") else old)
            new = None if pd.isna(new) else (new.item() if hasattr(new, "item") else new)
            if _differs(old, new, rtol, atol):
                rows.append((job_id, record, f"{column}[{position}]", old, new, "changed"))
    return rows


def compare_manifests(
    before: dict[str, Any], after: dict[str, Any], rtol: float = 1e-9, atol: float = 1e-12
) -> pd.DataFrame:
    """Every difference between the records of two manifests, one row each.

    Parameters
    ----------
    before, after : dict
        Parsed ``manifest.json`` documents (see :func:`read_manifest`).
    rtol, atol : float
        Numbers within ``rtol`` relative or ``atol`` absolute difference count as equal.

    Returns
    -------
    DataFrame with ``job_id, record, field, before, after, problem``; ``problem`` is
    ``changed``, ``status changed``, ``job only before/after``, ``record only before/after``,
    ``field only before/after`` or ``column only before/after``. Empty when nothing moved.
    """
    jobs_before = {job["job_id"]: job for job in before.get("jobs", [])}
    jobs_after = {job["job_id"]: job for job in after.get("jobs", [])}
    rows: list[tuple] = []
    for job_id in dict.fromkeys([*jobs_before, *jobs_after]):
        if job_id not in jobs_after:
            rows.append((job_id, "", "", "present", None, "job only before"))
            continue
        if job_id not in jobs_before:
            rows.append((job_id, "", "", None, "present", "job only after"))
            continue
        old_job, new_job = jobs_before[job_id], jobs_after[job_id]
        if old_job.get("status") != new_job.get("status"):
            rows.append(
                (
                    job_id,
                    "",
                    "status",
                    old_job.get("status"),
                    new_job.get("status"),
                    "status changed",
                )
            )
        old_records, new_records = old_job.get("records") or {}, new_job.get("records") or {}
        for name in dict.fromkeys([*old_records, *new_records]):
            if name not in new_records:
                rows.append((job_id, name, "", "present", None, "record only before"))
            elif name not in old_records:
                rows.append((job_id, name, "", None, "present", "record only after"))
            elif (
                old_records[name].get("kind") == "frame" or new_records[name].get("kind") == "frame"
            ):
                rows += _compare_frames(
                    job_id, name, _frame(old_records[name]), _frame(new_records[name]), rtol, atol
                )
            else:
                old_value, new_value = (
                    old_records[name].get("value"),
                    new_records[name].get("value"),
                )
                rows += _compare_values(job_id, name, old_value, new_value, rtol, atol)
    return pd.DataFrame(rows, columns=_COLUMNS)


def compare_runs(
    before: str | os.PathLike, after: str | os.PathLike, rtol: float = 1e-9, atol: float = 1e-12
) -> pd.DataFrame:
    """:func:`compare_manifests` of two run folders (``outputs/<run-id>``)."""
    return compare_manifests(read_manifest(before), read_manifest(after), rtol=rtol, atol=atol)
