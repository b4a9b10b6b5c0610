"""Run one notebook job: papermill in a fresh kernel, then its HTML report and disclosure check.

:func:`execute_job` is what every executor calls: a local pool worker, or a Dask worker on
another machine that has the project's environment but no checkout and no write access to the
outputs. A job therefore carries everything it needs (see :func:`execute_job`) and the executed
notebook, its report and its records travel back in the result; the batch runner on the client
writes every output file itself, atomically (:mod:`evaluation.files`). Job and result are plain
dicts, so they travel through pickling unchanged.

It never raises for a notebook's own failure: a cell that raises, a kernel that dies, data the
worker cannot see or a report that fails the disclosure check come back as a result with
``status`` ``failed`` or ``blocked`` and a message naming what to fix, and the executed notebook
is kept with the failing cell marked.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import tempfile
import time
import traceback
from datetime import UTC, datetime
from multiprocessing import util
from pathlib import Path
from typing import Any

from evaluation.files import TMP_MARK

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


#: the papermill engine the batch runs notebooks with (:func:`_register_engine`)
ENGINE = "evaluation"
#: seconds between two saves of a running notebook (papermill saves it at every cell's start
#: and end: for a report of a dozen cells with figures, ~25 writes of half a megabyte each, a
#: second or two of every job)
SAVE_EVERY_S = 10.0


def _register_engine() -> None:
    """papermill's nbclient engine, saving the running notebook once as it starts (so a running
    job is visible, and resumable, from its first cell on), then at most every
    :data:`SAVE_EVERY_S` seconds and always once at the end (also after a failing cell, a dead
    kernel or a timeout: papermill completes the notebook in a ``finally``)."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class ThrottledSaves(NotebookExecutionManager):
        final = False
        saved = False

        def save(self, **kwargs):
            since = (self.now() - self.last_save_time).total_seconds()
            if self.final or not self.saved or since >= SAVE_EVERY_S:
                self.saved = True
                super().save(**kwargs)

        def notebook_complete(self, **kwargs):
            self.final = True
            return super().notebook_complete(**kwargs)

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb,
            kernel_name,
            output_path=None,
            progress_bar=True,
            log_output=False,
            autosave_cell_every=30,
            **kwargs,
        ):
            # as papermill's Engine.execute_notebook, with the manager above
            nb_man = ThrottledSaves(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register(ENGINE, Engine)


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


def _dask_worker():
    """The dask.distributed worker running this call, or None (a local pool worker)."""
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def where_am_i() -> dict[str, Any]:
    """Who runs this job: host name, process id, the Dask worker's address and the Slurm job id
    (``SLURM_JOB_ID``, set by Slurm in every job; None outside Slurm)."""
    worker = _dask_worker()
    return {
        "worker_host": socket.gethostname(),
        "worker_pid": os.getpid(),
        "worker": worker.address if worker is not None else None,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


#: the scratch folders this process made (removed by :func:`remove_scratch` on a hard exit)
_SCRATCH_ROOTS: list[Path] = []


def remove_scratch() -> None:
    """Remove this process's scratch folders now: for a worker leaving through ``os._exit``
    (its runner killed, or Ctrl-C), which skips the clean-up registered in :func:`scratch_root`.
    Job folders hold executed notebooks, copies of results from the data: none may stay behind
    in the temporary folder."""
    for root in _SCRATCH_ROOTS:
        shutil.rmtree(root, ignore_errors=True)


def scratch_root(worker=None) -> Path:
    """This worker process's own folder for kernels and job files (never the outputs): inside
    the Dask worker's local directory (``worker``, else the one running this call), else in the
    system's temporary folder."""
    worker = worker if worker is not None else _dask_worker()
    base = Path(worker.local_directory) if worker is not None else Path(tempfile.gettempdir())
    root = base / f"evaluation-jobs-{os.getpid()}"
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        _SCRATCH_ROOTS.append(root)
        # removed when this process ends: atexit for plain processes, Finalize for pool and
        # nanny workers (they leave through os._exit); after the kernels (exitpriority 10)
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        util.Finalize(
            None, shutil.rmtree, args=(root,), kwargs={"ignore_errors": True}, exitpriority=5
        )
    return root


def share_results_between_jobs(root: Path) -> Path:
    """Give this worker's jobs a private folder in its scratch space ``root`` where one report
    keeps what the next may reuse (:func:`evaluation.memo.remembered`: a region's results that
    each of its cluster reports would otherwise compute again); set before the first kernel,
    which inherits it. Goes with ``root`` when the worker ends."""
    from evaluation.memo import RESULT_CACHE_ENV

    folder = root / "shared-results"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.environ[RESULT_CACHE_ENV] = str(folder)
    return folder


def missing_inputs(job: dict[str, Any], kernel_name: str) -> str | None:
    """What this machine lacks to run ``job``: a data path it cannot see or the Jupyter kernel;
    None if nothing. Checked on the worker before a kernel starts."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    host = socket.gethostname()
    for name, path, kind in job.get("check_paths") or ():
        exists = Path(path).is_dir() if kind == "folder" else Path(path).is_file()
        if not exists:
            return (
                f"the worker on host {host} cannot see {name} = {path} (no such {kind} there). "
                "Workers read the data where the client does: put it on storage every node mounts "
                "at the same path (README: Running on a cluster)."
            )
    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return (
            f"the worker on host {host} has no Jupyter kernel '{kernel_name}'. Start workers "
            "from the project's environment, where `make env` installs it (README: Running on "
            "a cluster)."
        )
    return None


def _with_results_copy(job: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The parameters to execute with: a summary job that brought a copy of the run's manifest
    reads it from ``folder`` (the worker may not see the run folder)."""
    parameters = dict(job["parameters"])
    if job.get("results") is not None:
        results_dir = folder / "results"
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / "manifest.json").write_text(json.dumps(job["results"]), encoding="utf-8")
        parameters["results_dir"] = str(results_dir)
    return parameters


def _restore_client_view(nb, job: dict[str, Any], run: dict[str, Any], out_path: str) -> None:
    """Make the executed notebook say what the client asked for, wherever it ran: the client's
    notebook and output paths and, for a summary that read a copy of the manifest, the
    client's results_dir in the injected parameters (the copy's path is kept in metadata)."""
    from papermill.engines import papermill_engines
    from papermill.translators import translate_parameters

    meta = nb.metadata.setdefault("papermill", {})
    meta["input_path"] = job["notebook"]
    meta["output_path"] = out_path
    if job.get("results") is None:
        return
    worker_results = meta.get("parameters", {}).get("results_dir")
    kernel_name = papermill_engines.nb_kernel_name(None, nb, run["kernel_name"])
    language = papermill_engines.nb_language(None, nb)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = translate_parameters(
                kernel_name, language, job["parameters"], "Parameters"
            )
    meta["parameters"] = dict(job["parameters"])
    nb.metadata.setdefault("evaluation", {})["results_copy"] = (
        f"read {worker_results}/manifest.json, a copy of the run's manifest sent with the job"
    )


def execute_job(job: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """Execute one notebook job and return its outcome with the executed notebook and report.

    ``job``: job_id, label, kind, notebook (its path on the client, for names), notebook_source
    (the notebook's text; read from ``notebook`` if absent), report_name (optional: the report's
    path in the run folder, default ``reports/<job_id>.html``), parameters (absolute paths),
    check_paths ([name, path, "folder" | "file"] the worker must see) and results (for a summary
    run elsewhere: a copy of the run's manifest, read instead of the run folder; else None).

    ``run``: run_dir and run_id (the client's, for names), kernel_name, threshold, show_code,
    timeout, preload, the provenance shown in the report (data_checksums, versions, git_commit),
    cwd (the kernel's working folder; None = this worker's scratch folder) and partial_dir (where
    papermill saves the notebook while it runs; None = a scratch folder).

    Returns job_id, status (ok | failed | blocked), error, failed_cell, records, started,
    finished, duration_s, timings, worker_host, worker_pid, worker, slurm_job_id, notebook_out and
    report (paths in the run folder, or None) and their contents, notebook_text and report_html,
    for the client to write.
    """
    import nbformat
    import papermill

    from evaluation.batch.kernels import kernel_source
    from evaluation.batch.record import records_in_notebook
    from evaluation.reports.disclosure import THRESHOLD_ENV, DisclosureError, check_html
    from evaluation.reports.html import describe_parameters, headline, render_report

    started_wall = _now()
    started = time.monotonic()
    job_id = job["job_id"]
    notebook_name = Path(job["notebook"]).name
    final_nb = f"notebooks/{job_id}.ipynb"
    # a cluster report is named for mailing (hovedstaden/C001-da.html); the others by job id
    report_name = job.get("report_name") or f"reports/{job_id}.html"
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
        **where_am_i(),
        "notebook_out": None,
        "report": None,
        "notebook_text": None,
        "report_html": None,
    }
    problem = missing_inputs(job, run["kernel_name"])
    if problem is not None:
        result.update(error=problem, duration_s=0.0, finished=_now(), timings={})
        return result

    kernel_cwd = run.get("cwd") or str(scratch_root())
    job_folder = Path(tempfile.mkdtemp(prefix=f"{job_id[:40]}-", dir=scratch_root()))
    try:
        source_text = job.get("notebook_source")
        if source_text is None:
            source_text = Path(job["notebook"]).read_text(encoding="utf-8")
        input_nb = job_folder / notebook_name
        input_nb.write_text(source_text, encoding="utf-8")
        partial_dir = Path(run["partial_dir"]) if run.get("partial_dir") else job_folder
        partial_dir.mkdir(parents=True, exist_ok=True)
        partial_nb = partial_dir / f".{job_id}{TMP_MARK}partial.ipynb"
        parameters = _with_results_copy(job, job_folder)

        source = kernel_source(tuple(run["preload"]) if run.get("preload") is not None else None)
        km = None
        nb = None
        fallback_error = None
        try:
            # relative paths in a notebook mean the same as with `papermill` run from kernel_cwd
            km = source.take(run["kernel_name"], kernel_cwd)
            result["timings"] = {"kernel_ready": round(time.monotonic() - started, 2)}
            _register_engine()
            papermill.execute_notebook(
                str(input_nb),
                str(partial_nb),
                parameters=parameters,
                engine_name=ENGINE,
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
            partial_nb.unlink(missing_ok=True)
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
            _restore_client_view(nb, job, run, str(Path(run["run_dir"]) / final_nb))
            result["notebook_text"] = nbformat.writes(nb)
            result["notebook_out"] = final_nb
            result["records"] = records_in_notebook(nb)
        else:
            result["error"] = fallback_error or "the notebook produced no output"
    finally:
        shutil.rmtree(job_folder, ignore_errors=True)

    duration = time.monotonic() - started
    result["timings"]["released"] = round(duration, 2)
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
            "notebook": notebook_name,
            "parameters": job["parameters"],
            "data_checksums": run.get("data_checksums"),
            "data_name": run.get("data_name"),
            "synthetic": run.get("synthetic"),
            "path_names": run.get("path_names"),
            "versions": run.get("versions"),
            "git_commit": run.get("git_commit"),
            "threshold": run["threshold"],
            "index_href": "../" * (len(Path(report_name).parts) - 1) + "index.html",
        }
        if job["parameters"].get("lang") in ("da", "en"):  # <html lang> of a cluster report
            meta["lang"] = job["parameters"]["lang"]
        try:
            html = render_report(
                nb, meta, show_code=run.get("show_code", False), failed_cell=result["failed_cell"]
            )
            check_html(html, run["threshold"], report=report_name)
            result["report_html"] = html
            result["report"] = report_name
            result["headline"] = headline(html)  # for the index
        except DisclosureError as exc:
            result["status"] = "blocked"
            result["error"] = str(exc)
        except Exception as exc:
            result["status"] = "failed"
            result["error"] = f"rendering the report failed: {type(exc).__name__}: {exc}"
    result["duration_s"] = round(time.monotonic() - started, 2)
    result["finished"] = _now()
    return result
