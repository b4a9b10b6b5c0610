"""Record a notebook's key results, and read them back across the runs of a batch.

This module sits at the bottom of the package, beside :mod:`evaluation.errors` and
:mod:`evaluation.files`, because both the batch runner (which copies the records into the
manifest) and the reports (which leave them out of the rendered HTML) need it, and reports sit
below batch. Notebooks import it by its older name, :mod:`evaluation.batch.record`, which
re-exports everything here.

In a notebook (any kernel; nothing to configure)::

    from evaluation.batch.record import record, record_estimate

    record("n_clinics", int(panel["clinic_id"].nunique()))     # a number, text, dict or list
    record("uptake", uptake_table)                             # a DataFrame (or Series)
    record("turnout", turnout, persons=["came"])               # ... whose "came" counts persons
    record_estimate(                                           # what the national summary pools
        "att_ddd_per_1000_per_day", estimate=-0.84, se=0.21,
        label="Change in NSAID DDD per 1,000 patients per day", n=312,
    )

Each call displays one output in the cell whose MIME type is :data:`RECORD_MIME` (JSON), with a
one-line ``text/plain`` fallback for JupyterLab. The executed notebook therefore *is* the record
(as with scrapbook): nothing is written beside it, nothing can go out of step with it, and the
rendered reports leave these outputs out. Recording the same name twice keeps the last value.

After each run ``workbench run`` copies the records into ``manifest.json`` (``jobs[].records``);
a summary notebook (one that declares ``results_dir``) reads them with::

    from evaluation.batch.record import read_estimates, read_records
    estimates = read_estimates(results_dir)     # one row per region (and sweep) and estimate
    records = read_records(results_dir)         # every record, value as a Python object

:func:`read_notebook_records` reads one executed notebook directly (e.g. a run made by hand).
Values must be JSON-able after conversion: numbers (numpy included; NaN becomes None), text,
booleans, None, dicts and lists of those, DataFrames and Series.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.errors import EvaluationError, InputError, MissingFileError

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

RECORD_MIME = "application/vnd.evaluation.record+json"
ESTIMATE_FIELDS = ("estimate", "se", "ci_low", "ci_high", "n", "label", "unit")


class UnrecordableValueError(EvaluationError, TypeError):
    """``record()`` was given a value it cannot store as JSON (a model object, a figure...)."""


def _plain(value: Any, name: str) -> Any:
    """Convert numpy and pandas scalars and containers to JSON-able Python values."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int,)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # numpy scalar
        return _plain(value.item(), name)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist(), name)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise UnrecordableValueError(
        f"record({name!r}, ...): cannot record a {type(value).__name__}; record numbers, text, "
        "dicts, lists or a DataFrame."
    )


def encode(name: str, value: Any, persons: list[str] | None = None) -> dict[str, Any]:
    """The JSON document stored for ``record(name, value, persons=...)``."""
    if not isinstance(name, str) or not name:
        raise InputError(
            "record(name, value): name must be a non-empty string such as 'att_nsaid'."
        )
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if isinstance(value, pd.DataFrame):
        declared = list(value.attrs.get("persons") or []) + list(persons or [])
        missing = [c for c in declared if c not in value.columns]
        if missing:
            raise InputError(
                f"record({name!r}, table, persons=...): {missing} are not columns of the table "
                f"(its columns: {[str(c) for c in value.columns]})."
            )
        table = json.loads(value.to_json(orient="table", date_format="iso", default_handler=str))
        document = {"name": name, "kind": "frame", "value": table}
        if declared:
            document["persons"] = [str(c) for c in dict.fromkeys(declared)]
        return document
    if persons:
        raise InputError(f"record({name!r}, value, persons=...): persons is for tables only.")
    return {"name": name, "kind": "value", "value": _plain(value, name)}


def decode(document: dict[str, Any]) -> Any:
    """The Python value of a stored record (a DataFrame for recorded tables, carrying its
    declared person columns in ``attrs["persons"]``)."""
    if document.get("kind") == "frame":
        from io import StringIO

        frame = pd.read_json(StringIO(json.dumps(document["value"])), orient="table")
        if document.get("persons"):
            frame.attrs["persons"] = list(document["persons"])
        return frame
    return document.get("value")


def _display(document: dict[str, Any], text: str) -> None:
    from IPython.display import display

    display({RECORD_MIME: document, "text/plain": text}, raw=True)


def record(name: str, value: Any, persons: list[str] | None = None) -> None:
    """Record ``value`` under ``name`` in the running notebook's outputs; returns None.

    ``persons`` declares which columns of a recorded table count persons (GPs, patients,
    invited, attending...), besides the canonical names the schemas mark and what the table
    already declares (``table.attrs["persons"]``, set by ``suppress_small_counts`` or
    ``declare_persons``). The declaration is stored with the record and comes back on the table
    :func:`read_records` returns, so whoever shows it again suppresses the same columns.

    Returning nothing is deliberate: a ``record(...)`` call as a cell's last line would otherwise
    have its value echoed as a stray bare number in the report (the "146" of issue 12).
    """
    document = encode(name, value, persons)
    shown = value if not isinstance(value, (pd.DataFrame, pd.Series)) else f"table {value.shape}"
    _display(document, f"recorded {name} = {shown!r}"[:200])


def record_estimate(
    name: str,
    estimate: float,
    se: float | None = None,
    ci_low: float | None = None,
    ci_high: float | None = None,
    n: int | None = None,
    label: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """Record an estimate for pooling across regions (a forest plot row).

    Give ``se`` or both confidence limits (95%); the missing one is derived assuming normality:
    ``ci = estimate ± 1.96·se`` and ``se = (ci_high − ci_low) / (2·1.96)``.
    """
    if se is None and (ci_low is None or ci_high is None):
        raise InputError(f"record_estimate({name!r}): give se or both ci_low and ci_high.")
    estimate = float(estimate)
    if se is None:
        se = (float(ci_high) - float(ci_low)) / (2 * 1.959964)
    if ci_low is None or ci_high is None:
        ci_low, ci_high = estimate - 1.959964 * float(se), estimate + 1.959964 * float(se)
    value = {
        "estimate": estimate,
        "se": float(se),
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "n": None if n is None else int(n),
        "label": label or name,
        "unit": unit,
    }
    document = {"name": name, "kind": "estimate", "value": _plain(value, name)}
    _display(document, f"recorded {name}: {estimate:.4g} (95% CI {ci_low:.4g} to {ci_high:.4g})")
    return value


def records_in_notebook(nb) -> dict[str, dict[str, Any]]:
    """Stored documents by name in an executed notebook node (the last one of a name wins)."""
    found: dict[str, dict[str, Any]] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            document = output.get("data", {}).get(RECORD_MIME)
            if isinstance(document, str):  # some writers store JSON MIME data as text
                document = json.loads(document)
            if isinstance(document, dict) and "name" in document:
                found[document["name"]] = dict(document)
    return found


def read_notebook_records(path: str | os.PathLike) -> dict[str, Any]:
    """name -> value of every record in one executed notebook file."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return {name: decode(doc) for name, doc in records_in_notebook(nb).items()}


def _manifest(results_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(results_dir) / "manifest.json"
    if not path.exists():
        raise MissingFileError(
            f"{path}: no manifest; results_dir must be a run folder written by `workbench run` "
            "(e.g. outputs/latest)."
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _job_columns(job: dict[str, Any]) -> dict[str, Any]:
    columns = {
        "job_id": job["job_id"],
        "notebook": Path(job["notebook"]).stem,
        "status": job.get("status"),
    }
    for key, value in job.get("parameters", {}).items():
        if key not in ("data_dir", "results_dir") and isinstance(value, (str, int, float, bool)):
            columns[key] = value
    return columns


def read_records(results_dir: str | os.PathLike, kind: str | None = None) -> pd.DataFrame:
    """One row per (run, record) of a batch: the job's parameters, ``name``, ``kind`` and ``value``.

    Only runs that finished are included (status ``ok`` or ``blocked``: a report held back by
    disclosure control still computed its estimates); the ``status`` column says which.
    """
    rows = []
    for job in _manifest(results_dir).get("jobs", []):
        if job.get("status") not in ("ok", "blocked"):
            continue
        for name, document in (job.get("records") or {}).items():
            if kind is None or document.get("kind") == kind:
                rows.append(
                    {
                        **_job_columns(job),
                        "name": name,
                        "kind": document.get("kind"),
                        "value": decode(document),
                    }
                )
    return pd.DataFrame(
        rows, columns=None if rows else ["job_id", "notebook", "status", "name", "kind", "value"]
    )


def read_estimates(results_dir: str | os.PathLike, name: str | None = None) -> pd.DataFrame:
    """Every :func:`record_estimate` of a batch, one row each, with the job's parameters.

    Columns: job_id, notebook, status, the run's parameters (region, indicator, ...), name,
    estimate, se, ci_low, ci_high, n, label, unit.
    """
    records = read_records(results_dir, kind="estimate")
    if name is not None and not records.empty:
        records = records[records["name"] == name]
    if records.empty:
        return pd.DataFrame(
            columns=["job_id", "notebook", "status", "region", "name", *ESTIMATE_FIELDS]
        )
    values = pd.DataFrame(list(records["value"]), index=records.index)
    return pd.concat(
        [records.drop(columns=["value", "kind"]), values[list(ESTIMATE_FIELDS)]], axis=1
    ).reset_index(drop=True)


def read_jobs(results_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per run of the batch: job_id, notebook, kind, label, status, error and parameters."""
    rows = []
    for job in _manifest(results_dir).get("jobs", []):
        rows.append(
            {
                **_job_columns(job),
                "kind": job.get("kind"),
                "label": job.get("label"),
                "error": (job.get("error") or "").split("\n")[0] or None,
            }
        )
    return pd.DataFrame(rows)
