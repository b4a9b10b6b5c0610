"""Run one notebook job: papermill in a fresh kernel, then its HTML report and disclosure check.

:func:`execute_job` is what every executor (the local process pool, a Dask worker) calls. It
takes and returns plain dicts so that it travels through pickling unchanged. It never raises
for a notebook's own failure: a cell that raises, a kernel that dies or a report that fails the
disclosure check come back as a result with ``status`` ``failed`` or ``blocked`` and a message,
and the executed notebook is kept with the failing cell marked.

Files (all published with an atomic rename; see :mod:`evaluation.reports.files`):
``<run>/notebooks/<job_id>.ipynb`` the executed notebook, ``<run>/reports/<job_id>.html`` its
report (not written when the disclosure check fails). A PDF of an earlier run of the job is
removed: the runner prints a new one after the run when asked to.
"""

from __future__ import annotations

import os
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.reports.files import TMP_MARK, atomic_write_text

DIED_MESSAGE = (
    "The kernel died while running this cell (for example it ran out of memory, or a "
    "compiled library crashed). Cells after it were not run."
)
TIMEOUT_MESSAGE = (
    "This cell ran longer than the time limit (workbench run --timeout) and was stopped. "
    "Cells after it were not run."
)


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def _mark_stopped_cell(nb, timed_out: bool) -> int | None:
    """The cell that was running when the kernel died or time ran out: give it an error output.

    papermill marks every cell "completed" in that case; the stopped cell is the last one that
    has a start time (those after it never started).
    """
    import nbformat

    started = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.metadata.get("papermill", {}).get("start_time")
    ]
    if not started:
        return None
    index = started[-1]
    cell = nb.cells[index]
    cell.metadata["papermill"].update(status="failed", exception=True)
    ename, message = (
        ("CellTimeoutError", TIMEOUT_MESSAGE) if timed_out else ("DeadKernelError", DIED_MESSAGE)
    )
    cell.outputs.append(
        nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[message])
    )
    return index


def _failed_cell(nb) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.metadata.get("papermill", {}).get("exception"):
            return index
    return None


def _describe_failure(nb, index: int | None, fallback: str) -> str:
    if index is None:
        return fallback
    cell = nb.cells[index]
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    what = f"{error['ename']}: {error['evalue']}" if error else fallback
    # numbered as the author sees them in JupyterLab: papermill's injected cell is not theirs
    code_cells = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]
    number = code_cells.index(index) + 1 if index in code_cells else index + 1
    first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
    return f"code cell {number} (`{first_line.strip()[:80]}`) failed: {what}"


def execute_job(job: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """Execute ``job`` (a :class:`~evaluation.batch.parameters.Job` as a dict) for ``run``.

    ``run`` carries run_dir, run_id, kernel_name, threshold, show_code, timeout, preload and the
    provenance shown in the report (data_checksums, versions, git_commit).
    """
    import nbformat
    import papermill

    from evaluation.batch.kernels import kernel_source
    from evaluation.batch.record import records_in_notebook
    from evaluation.reports.disclosure import THRESHOLD_ENV, DisclosureError, check_html
    from evaluation.reports.html import describe_parameters, headline, render_report

    started_wall = _now()
    started = time.monotonic()
    run_dir = Path(run["run_dir"])
    job_id = job["job_id"]
    notebook = Path(job["notebook"])
    final_nb = run_dir / "notebooks" / f"{job_id}.ipynb"
    partial_nb = run_dir / "notebooks" / f".{job_id}{TMP_MARK}partial.ipynb"
    final_nb.parent.mkdir(parents=True, exist_ok=True)
    os.environ[THRESHOLD_ENV] = str(
        run["threshold"]
    )  # the kernel inherits it: suppression == check

    result: dict[str, Any] = {
        "job_id": job_id,
        "status": "failed",
        "error": None,
        "failed_cell": None,
        "records": {},
        "started": started_wall,
        "worker_pid": os.getpid(),
        "notebook_out": None,
        "report": None,
    }
    source = kernel_source(tuple(run["preload"]) if run.get("preload") is not None else None)
    km = None
    nb = None
    fallback_error = None
    try:
        # relative paths in a notebook mean the same as with `papermill` run from the same folder
        km = source.take(run["kernel_name"], run.get("cwd") or os.getcwd())
        result["timings"] = {"kernel_ready": round(time.monotonic() - started, 2)}
        papermill.execute_notebook(
            str(notebook),
            str(partial_nb),
            parameters=job["parameters"],
            kernel_name=run["kernel_name"],
            km=km,
            progress_bar=False,
            request_save_on_cell_execute=True,
            autosave_cell_every=10,
            execution_timeout=run.get("timeout"),
            log_output=False,
        )
        result["status"] = "ok"
    except papermill.PapermillExecutionError as exc:
        fallback_error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # DeadKernelError, timeouts, kernel start-up failures
        fallback_error = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc(limit=5)
    finally:
        result.setdefault("timings", {})["executed"] = round(time.monotonic() - started, 2)
        if km is not None:
            source.release(km)

    if partial_nb.exists():
        nb = nbformat.read(str(partial_nb), as_version=4)
        if result["status"] != "ok":
            index = _failed_cell(nb)
            if index is None:
                index = _mark_stopped_cell(nb, timed_out="Timeout" in (fallback_error or ""))
            result["failed_cell"] = index
            result["error"] = _describe_failure(nb, index, fallback_error or "failed")
        nb.metadata.setdefault("evaluation", {})["job"] = {
            "job_id": job_id,
            "status": result["status"],
        }
        atomic_write_text(final_nb, nbformat.writes(nb))
        partial_nb.unlink(missing_ok=True)
        result["notebook_out"] = final_nb.relative_to(run_dir).as_posix()
        result["records"] = records_in_notebook(nb)
    else:
        result["error"] = fallback_error or "the notebook produced no output"

    duration = time.monotonic() - started
    result["timings"]["released"] = round(duration, 2)
    # a PDF of an earlier run of this job no longer matches its report
    (run_dir / "reports" / f"{job_id}.pdf").unlink(missing_ok=True)
    if nb is not None:
        subtitle = describe_parameters(job["parameters"])
        meta = {
            "title": job.get("title") or None,  # None: the notebook's first heading
            "subtitle": subtitle or ("All regions" if job.get("kind") == "summary" else ""),
            "status": result["status"],
            "error": result["error"],
            "run_id": run["run_id"],
            "started": started_wall,
            "finished": _now(),
            "duration": f"{duration:.1f} s",
            "notebook": notebook.name,
            "parameters": job["parameters"],
            "data_checksums": run.get("data_checksums"),
            "data_name": run.get("data_name"),
            "synthetic": run.get("synthetic"),
            "path_names": run.get("path_names"),
            "versions": run.get("versions"),
            "git_commit": run.get("git_commit"),
            "threshold": run["threshold"],
            "index_href": "../index.html",
        }
        try:
            html = render_report(
                nb, meta, show_code=run.get("show_code", False), failed_cell=result["failed_cell"]
            )
            check_html(html, run["threshold"], report=f"reports/{job_id}.html")
            atomic_write_text(run_dir / "reports" / f"{job_id}.html", html)
            result["report"] = f"reports/{job_id}.html"
            result["headline"] = headline(html)  # for the index
        except DisclosureError as exc:
            result["status"] = "blocked"
            result["error"] = str(exc)
            (run_dir / "reports" / f"{job_id}.html").unlink(missing_ok=True)
        except Exception as exc:
            result["status"] = "failed"
            result["error"] = f"rendering the report failed: {type(exc).__name__}: {exc}"
    result["duration_s"] = round(time.monotonic() - started, 2)
    result["finished"] = _now()
    return result
