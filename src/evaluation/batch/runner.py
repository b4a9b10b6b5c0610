"""The batch: plan the grid, run it on a local pool or Dask, keep manifest and index current.

:func:`run_batch` is ``workbench run`` without the command line. Its steps:

1. Check everything first (:mod:`evaluation.batch.prerun`): the output folder, the notebooks,
   the regions, the data folder (as ``workbench data check``) and every parameter file against
   the notebooks' parameters cells, building the grid (region notebooks x parameter sets, then
   the summary notebooks). Every problem is listed in one
   :class:`~evaluation.batch.prerun.RunCheckError` before anything is written.
2. Checksum the data folder, note package versions and the git commit, and fingerprint each job.
3. Create ``<out>/<run-id>/`` (or, with ``resume``, reopen the newest run) and hold its lock
   (``.lock``, the writer's pid: a second ``--resume`` of the run stops at once). ``<out>/latest``
   points at the run only once it has finished. With ``resume`` a job is run again only if it
   did not finish with status ``ok`` or its fingerprint (notebook, parameters, data, package
   versions, report settings) changed; a summary also re-runs when any region run did.
4. Run region jobs (or, with ``per_cluster``, one job per cluster of the data and language)
   in parallel, then the summaries, on a local process pool or on Dask workers
   anywhere (:mod:`evaluation.batch.cluster`: a scheduler's address, or Slurm through
   dask-jobqueue). Each job carries the notebook's text, its parameters (absolute paths) and, for
   a summary run elsewhere, a copy of the manifest; the executed notebook, its report and its
   records come back, and this process writes every output file itself. After each job,
   ``manifest.json`` and ``index.html`` are rewritten atomically, so an interrupted run shows
   what finished.
5. With ``formats`` including ``pdf``, print every report to A4 PDF beside it, with one headless
   Chromium for the whole run (:mod:`evaluation.reports.pdf`).

Manifest (``manifest.json``) fields: schema, run_id, status (running | finished), started,
finished, data_dir, data_name (the data folder as reports name it), synthetic (None or {seed,
scale}), path_names ({absolute path: shown name}), data_checksums, versions, git {commit, dirty},
settings, counts {status: n}, workers_refused [messages], jobs [{job_id, notebook, title,
parameters, kind, label, source, fingerprint, status (pending | ok | failed | blocked), error,
failed_cell, duration_s, report, pdf, headline, notebook_out, withheld (a blocked job's executed
notebook, relative to the outputs folder), records, reused, worker_host, worker, worker_pid,
slurm_job_id, lost_attempts [{worker, worker_host, slurm_job_id}]}]; a cluster job
(``workbench run --per-cluster``, kind ``cluster``) also has report_name (its report's path in
the run folder, ``<region>/<cluster>-<lang>.html``) and cluster {id, name, region, lang}, and the
settings hold per_cluster and langs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import sys
import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.batch import parameters as params_mod
from evaluation.batch import provenance
from evaluation.batch.errors import BatchError
from evaluation.files import (
    atomic_symlink,
    atomic_write_json,
    atomic_write_text,
    remove_stale_temporaries,
)
from evaluation.paths import (
    DEFAULT_CODING_STORE,
    DEFAULT_DATA_DIR,
    DEFAULT_NOTEBOOKS_DIR,
    DEFAULT_OUTPUTS_DIR,
    DEFAULT_PARAMETERS_DIR,
    DEMO_STORE,
)
from evaluation.reports.html import notebook_title
from evaluation.reports.index import render_index

MANIFEST = "manifest.json"
LOCK = ".lock"  # the pid of the process writing the run (run_lock)
SCHEMA = 1


@dataclass
class BatchSettings:
    data_dir: Path = DEFAULT_DATA_DIR
    out_dir: Path = DEFAULT_OUTPUTS_DIR
    notebooks_dir: Path = DEFAULT_NOTEBOOKS_DIR
    parameters_dir: Path = DEFAULT_PARAMETERS_DIR
    notebooks: tuple[str, ...] = ()  # glob patterns over notebook names; empty = all
    regions: tuple[str, ...] = ()  # parameter-file names or region slugs; empty = all
    sweeps: tuple[str, ...] = ()
    executor: str = "local"  # local | dask | slurm
    scheduler: str | None = None
    # --executor slurm: None = parameters/cluster.yml, else evaluation.batch.cluster's defaults
    slurm_queue: str | None = None
    slurm_jobs: int | None = None
    slurm_walltime: str | None = None
    slurm_memory: str | None = None
    workers: int | None = None
    resume: bool = False
    run_id: str | None = None
    kernel_name: str = "evaluation"
    threshold: int = 5
    show_code: bool = False
    timeout: int | None = 1800  # seconds per cell
    progress: bool = True
    preload: tuple[str, ...] | None = (
        None  # modules imported in each kernel ahead; None = kernels.PRELOAD_MODULES
    )
    cwd: Path | None = (
        None  # the kernels' working directory; None = where `workbench run` was started
    )
    qualitative_store: Path | None = (
        None  # the coding store for notebooks that read one; None = their default
    )
    formats: tuple[str, ...] = ("html",)  # add "pdf" for an A4 PDF of every report
    # one report per cluster of the data (the notebooks declaring cluster_id) in each language,
    # instead of the region reports
    per_cluster: bool = False
    langs: tuple[str, ...] = ("da",)  # --per-cluster: the reports' languages
    # validate the data folder as `workbench data check` does before running (off only for
    # notebooks of your own that read no canonical tables)
    check_data: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchOutcome:
    run_dir: Path
    manifest: dict[str, Any]

    @property
    def counts(self) -> dict[str, int]:
        return self.manifest["counts"]

    @property
    def ok(self) -> bool:
        return all(job["status"] == "ok" for job in self.manifest["jobs"])


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def _new_run_id(out_dir: Path) -> str:
    base = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id, n = base, 1
    while (out_dir / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def _point_latest(out_dir: Path, run_id: str) -> None:
    """``<out>/latest`` -> the run, once it has finished: a run in progress (or killed) is found
    under its run id, never as latest."""
    atomic_symlink(out_dir / "latest", run_id)


def _run_to_resume(out_dir: Path) -> str:
    """The run ``--resume`` continues without ``--run-id``: the newest run folder with a
    manifest, finished or not (an interrupted run is newer than ``latest``)."""
    import json

    started = {}
    for folder in out_dir.iterdir() if out_dir.is_dir() else ():
        manifest = folder / MANIFEST
        if folder.is_symlink() or not manifest.is_file():
            continue
        try:
            started[folder.name] = datetime.fromisoformat(
                json.loads(manifest.read_text(encoding="utf-8"))["started"]
            ).timestamp()
        except (OSError, ValueError, KeyError, TypeError):
            started[folder.name] = manifest.stat().st_mtime
    if not started:
        raise BatchError(
            f"Nothing to resume: no run folder with a {MANIFEST} in {out_dir}. "
            "Run without --resume first."
        )
    return max(started, key=started.__getitem__)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@contextlib.contextmanager
def run_lock(run_dir: Path):
    """Hold ``<run>/.lock`` (the pid of this process) while the run is written, so a second
    ``workbench run --resume`` of the same run stops at once with a clear message. A lock left
    by a process that no longer exists (killed) is taken over."""
    lock = run_dir / LOCK
    while True:
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text(encoding="utf-8").split()[0])
            except (OSError, ValueError, IndexError):
                pid = None
            if pid is not None and pid != os.getpid() and _alive(pid):
                raise BatchError(
                    f"Run {run_dir.name} is already running (pid {pid}; lock {lock}). Wait for it "
                    f"to finish, or stop it (kill {pid}) and then resume it with --resume."
                ) from None
            lock.unlink(missing_ok=True)  # left by a run that was killed
            continue
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(f"{os.getpid()}\n")
        break
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def _coding_store(settings: BatchSettings) -> Path | None:
    if settings.qualitative_store is None:
        return None
    store = Path(settings.qualitative_store).resolve()
    if not store.is_file():
        raise BatchError(
            f"--qualitative-store {settings.qualitative_store}: no such coding store. Expected a "
            f"coding.sqlite made by `workbench qual` (e.g. {DEFAULT_CODING_STORE} or {DEMO_STORE})."
        )
    return store


def plan(settings: BatchSettings) -> tuple[list[params_mod.Job], dict[Path, dict]]:
    """The checked grid for ``settings``; raises one
    :class:`~evaluation.batch.prerun.RunCheckError` with every problem (output folder, notebooks,
    regions, data folder, parameter files) before anything is written."""
    from evaluation.batch.prerun import check_before_run

    return check_before_run(settings)


def _preload(settings: BatchSettings, notebooks: list[Path] = ()) -> tuple[str, ...]:
    """What each spare kernel imports ahead: the given list, else the usual heavy libraries plus
    every module the grid's notebooks import at top level."""
    from evaluation.batch.kernels import PRELOAD_MODULES

    if settings.preload is not None:
        return tuple(settings.preload)
    from_notebooks = [m for nb in notebooks for m in params_mod.notebook_imports(nb)]
    return tuple(dict.fromkeys([*PRELOAD_MODULES, *from_notebooks]))


def _counts(jobs: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(job["status"] for job in jobs)
    return {status: counts.get(status, 0) for status in ("ok", "failed", "blocked", "pending")}


class _Publisher:
    """Keeps manifest.json and index.html in step with the jobs (main process only)."""

    def __init__(self, run_dir: Path, manifest: dict[str, Any]):
        self.run_dir = run_dir
        self.manifest = manifest
        self.lock = threading.Lock()

    def publish(self) -> None:
        with self.lock:
            self.manifest["counts"] = _counts(self.manifest["jobs"])
            atomic_write_json(self.run_dir / MANIFEST, self.manifest)
            atomic_write_text(self.run_dir / "index.html", render_index(self.manifest))

    def job(self, job_id: str) -> dict[str, Any]:
        return next(j for j in self.manifest["jobs"] if j["job_id"] == job_id)


def _report_names(data_dir: Path, run_dir: Path, store: Path | None, kernel_cwd: str):
    """How reports and the index name the run's folders: relative to the project, never as
    absolute local paths (see :mod:`evaluation.reports.redact`)."""
    from evaluation.paths import project_root
    from evaluation.reports.redact import path_names, shown_path

    root = project_root(kernel_cwd) or Path(kernel_cwd)
    names = path_names({"data": data_dir, "store": store, "run": run_dir}, root)
    return shown_path(data_dir, root), names


def _check_formats(formats: tuple[str, ...]) -> None:
    unknown = sorted(set(formats) - {"html", "pdf"})
    if unknown:
        raise BatchError(f"Unknown report format(s) {', '.join(unknown)}; use html or html,pdf.")
    if "pdf" in formats:
        from evaluation.reports.pdf import ChromiumMissingError, find_chromium

        try:
            find_chromium()
        except ChromiumMissingError as exc:
            raise BatchError(str(exc)) from None


def _print_pdfs(run_dir: Path, publisher: _Publisher, bar) -> None:
    """An A4 PDF beside every report that lacks a current one, with one browser for the run."""
    from evaluation.reports.pdf import Chromium, print_to_pdf

    targets = []
    for entry in publisher.manifest["jobs"]:
        if not entry.get("report") or entry["status"] not in ("ok", "failed"):
            continue
        pdf = Path(entry["report"]).with_suffix(".pdf").as_posix()
        if entry.get("reused") and entry.get("pdf") == pdf and (run_dir / pdf).is_file():
            continue
        targets.append((entry, pdf))
    if not targets:
        return
    with Chromium() as browser:
        for entry, pdf in targets:
            try:
                print_to_pdf(browser, run_dir / entry["report"], run_dir / pdf)
                entry["pdf"] = pdf
            except Exception as exc:  # one report that will not print fails that job, not the run
                entry["status"] = "failed"
                entry["pdf"] = None
                entry["error"] = f"printing the PDF failed: {type(exc).__name__}: {exc}"
            publisher.publish()
            if bar is not None:
                bar.write(f"pdf    {entry['job_id']}" + (" FAILED" if not entry["pdf"] else ""))


def _files_present(run_dir: Path, entry: dict[str, Any]) -> bool:
    needed = [entry.get("report"), entry.get("notebook_out")]
    return all(p and (run_dir / p).is_file() for p in needed)


class _LocalPool:
    """Notebook jobs on a process pool of this machine (forked from this process)."""

    remote = False

    def __init__(
        self,
        workers: int,
        kernel_name: str,
        cwd: Path,
        preload: tuple[str, ...],
        threshold: int,
        data_dir: Path | None = None,
    ):
        import multiprocessing

        from evaluation.batch import worker

        self.size = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=worker.initialize,
            initargs=(
                os.getpid(),
                kernel_name,
                str(cwd),
                preload,
                threshold,
                str(data_dir) if data_dir else None,
            ),
        )
        self.futures: dict = {}
        self.messages: list[str] = []
        # Ctrl-C reaches the workers too, and they exit at once: the pool then breaks, and its
        # futures may fail before this process has raised its own KeyboardInterrupt. Noting the
        # signal here tells that broken pool from a worker that died on its own.
        self.interrupted = False
        self._previous_sigint = None
        if threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, self._note_interrupt)

    def _note_interrupt(self, signum, frame) -> None:
        self.interrupted = True
        previous = self._previous_sigint
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def _stopped(self) -> BaseException:
        """What a broken pool means: the user's Ctrl-C, or a worker process that died."""
        if self.interrupted:
            return KeyboardInterrupt()
        return BatchError(
            "a worker process of the local pool died (killed, or out of memory?), so the pool "
            "stopped; finished notebooks are kept: continue with the same command and --resume"
        )

    def submit(self, job: dict[str, Any], run: dict[str, Any]) -> None:
        from evaluation.batch.execute import execute_job

        try:
            future = self.pool.submit(execute_job, job, run)
        except BrokenProcessPool:
            raise self._stopped() from None
        self.futures[future] = job["job_id"]

    def results(self, timeout: float) -> list[dict[str, Any]]:
        done, _ = wait(self.futures, timeout=timeout, return_when=FIRST_COMPLETED)
        finished = []
        for future in done:
            job_id = self.futures.pop(future)
            try:
                finished.append(future.result())
            except BrokenProcessPool:
                if self.interrupted:
                    raise KeyboardInterrupt from None
                raise self._stopped() from None
            except Exception as exc:  # the job's own worker process failed (not the kernel)
                finished.append(
                    {
                        "job_id": job_id,
                        "status": "failed",
                        "error": f"the worker running it failed: {type(exc).__name__}: {exc}",
                    }
                )
        return finished

    def running(self) -> list[str]:
        return [job_id for future, job_id in self.futures.items() if future.running()]

    def workers(self) -> int:
        return self.size

    def close(self) -> None:
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if self._previous_sigint is not None:
                signal.signal(signal.SIGINT, self._previous_sigint)
                self._previous_sigint = None


#: the folder beside the run folders that keeps what must not be shared (issue 14): the
#: executed notebooks of reports the disclosure check blocked, as withheld/<run-id>/<job>.ipynb
WITHHELD_DIR = "withheld"


def withheld_notebook(run_dir: Path, job_id: str) -> Path:
    """Where a blocked job's executed notebook is kept: outside the shareable run folder."""
    return run_dir.parent / WITHHELD_DIR / run_dir.name / f"{job_id}.ipynb"


def report_name(entry: dict[str, Any]) -> str:
    """Where a job's report goes in the run folder: a cluster report's mailable name
    (``hovedstaden/C001-da.html``), else ``reports/<job_id>.html``."""
    return entry.get("report_name") or f"reports/{entry['job_id']}.html"


def _write_outputs(
    run_dir: Path, result: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """Write the executed notebook and report that came back with ``result`` into the run
    folder (atomically; a report that failed the disclosure check never reaches the disk) and
    return the result as the manifest keeps it. ``name``: the report's path in the run folder
    (default ``reports/<job_id>.html``)."""
    result = dict(result)
    notebook_text = result.pop("notebook_text", None)
    report_html = result.pop("report_html", None)
    job_id = result["job_id"]
    report = run_dir / (name or f"reports/{job_id}.html")
    # a PDF of an earlier run of this job no longer matches its report; a new one is printed
    # after the run when asked to
    report.with_suffix(".pdf").unlink(missing_ok=True)
    if result.get("status") == "blocked":
        # the executed notebook holds the unsuppressed table: it goes outside the shareable run
        # folder, for the analyst to fix (and an earlier run's copy of it leaves the folder)
        if result.get("notebook_out"):
            (run_dir / result["notebook_out"]).unlink(missing_ok=True)
            result["notebook_out"] = None
        if notebook_text is not None:
            withheld = withheld_notebook(run_dir, job_id)
            atomic_write_text(withheld, notebook_text)
            result["withheld"] = withheld.relative_to(run_dir.parent).as_posix()
            result["error"] = (
                f"{result.get('error') or 'Blocked by the disclosure check.'}\n"
                f"The executed notebook is withheld from this folder: it is in "
                f"{WITHHELD_DIR}/{run_dir.name}/ next to it, not to be shared."
            )
        # recorded tables may hold the same counts; the manifest keeps the numbers and text
        result["records"] = {
            record_name: document
            for record_name, document in (result.get("records") or {}).items()
            if document.get("kind") != "frame"
        }
    else:
        withheld_notebook(run_dir, job_id).unlink(missing_ok=True)  # fixed since it was blocked
        if notebook_text is not None and result.get("notebook_out"):
            atomic_write_text(run_dir / result["notebook_out"], notebook_text)
    if report_html is not None and result.get("report"):
        atomic_write_text(run_dir / result["report"], report_html)
    else:
        report.unlink(missing_ok=True)  # an older run's report of a job that now failed
        result["report"] = None
    return result


def _say(bar, message: str) -> None:
    if bar is not None:
        bar.write(message)
    else:
        print(message, file=sys.stderr, flush=True)


def _execute_wave(executor, jobs, payloads, run_info, publisher: _Publisher, bar) -> None:
    for job in jobs:
        publisher.job(job["job_id"])["status"] = "pending"
        executor.submit(payloads[job["job_id"]], run_info)
    remaining = {job["job_id"] for job in jobs}
    run_dir = Path(run_info["run_dir"])
    while remaining:
        finished = executor.results(timeout=0.5)
        for message in executor.messages:
            _say(bar, message)
        executor.messages.clear()
        for result in finished:
            if result["job_id"] not in remaining:
                continue
            remaining.discard(result["job_id"])
            entry = publisher.job(result["job_id"])
            result = _write_outputs(run_dir, result, report_name(entry))
            entry.update({k: v for k, v in result.items() if k != "job_id"})
            entry["reused"] = False
            publisher.publish()
            if bar is not None:
                mark = {"ok": "done  ", "failed": "FAILED", "blocked": "BLOCKED"}.get(
                    entry["status"], entry["status"]
                )
                where = f" on {entry['worker_host']}" if executor.remote else ""
                bar.write(
                    f"{mark} {result['job_id']} ({entry.get('duration_s', 0) or 0:.1f} s{where})"
                    + (f": {entry['error'].splitlines()[0]}" if entry.get("error") else "")
                )
                bar.update(1)
        if bar is not None:
            running = executor.running()
            counts = _counts(publisher.manifest["jobs"])
            state = (
                f"workers {executor.workers()} · ok {counts['ok']} · failed "
                f"{counts['failed'] + counts['blocked']} · running: "
                + (
                    ", ".join(running[:3]) + (" ..." if len(running) > 3 else "")
                    if running
                    else "-"
                )
            )
            if state != getattr(bar, "_wb_state", None):  # redraw on change only: quiet logs
                bar._wb_state = state
                bar.set_postfix_str(state, refresh=True)


def _payload(
    entry: dict[str, Any], source: str, store: Path | None, results: dict | None
) -> dict[str, Any]:
    """What a worker needs to run ``entry`` anywhere (see evaluation.batch.execute)."""
    parameters = entry["parameters"]
    check = [["data_dir", parameters["data_dir"], "folder"]] if "data_dir" in parameters else []
    if store is not None and params_mod.STORE_PARAMETER in parameters:
        check.append([params_mod.STORE_PARAMETER, parameters[params_mod.STORE_PARAMETER], "file"])
    return {
        "job_id": entry["job_id"],
        "label": entry["label"],
        "title": entry.get("title"),
        "kind": entry["kind"],
        "notebook": entry["notebook"],
        "notebook_source": source,
        "report_name": report_name(entry),
        "parameters": parameters,
        "check_paths": check,
        "results": results,
    }


def _results_copy(manifest: dict[str, Any]) -> dict[str, Any]:
    """The part of the manifest a summary reads (jobs with statuses and records), for a worker
    that may not see the run folder."""
    import copy

    return {"run_id": manifest["run_id"], "jobs": copy.deepcopy(manifest["jobs"])}


def _check_executor(settings: BatchSettings) -> dict[str, Any] | None:
    """Refuse an impossible executor choice before anything is made; for Slurm, return the
    checked options (command line over parameters/cluster.yml over the defaults)."""
    if settings.executor == "local":
        return None
    if settings.executor == "dask":
        if not settings.scheduler:
            raise BatchError(
                "--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)."
            )
        return None
    if settings.executor == "slurm":
        from evaluation.batch import cluster

        return cluster.slurm_options(
            Path(settings.parameters_dir) / cluster.CLUSTER_FILE,
            queue=settings.slurm_queue,
            jobs=settings.slurm_jobs,
            walltime=settings.slurm_walltime,
            memory=settings.slurm_memory,
        )
    raise BatchError(f"Unknown executor '{settings.executor}'; use local, dask or slurm.")


def _make_executor(settings: BatchSettings, slurm, run_dir: Path, region_jobs, kernel_cwd, preload):
    if settings.executor == "local":
        workers = settings.workers or min(os.cpu_count() or 1, max(len(region_jobs), 1))
        # the kernels' zygote reads the data folder once (see evaluation.batch.zygote)
        data_dir = Path(settings.data_dir).resolve()
        return _LocalPool(
            workers,
            settings.kernel_name,
            kernel_cwd,
            preload,
            settings.threshold,
            data_dir if data_dir.is_dir() else None,
        )
    from evaluation.batch import cluster

    if settings.executor == "dask":
        return cluster.DaskExecutor(
            settings.scheduler, settings.kernel_name, preload, settings.threshold
        )
    return cluster.SlurmExecutor(slurm, run_dir, settings.kernel_name, preload, settings.threshold)


def run_batch(settings: BatchSettings) -> BatchOutcome:
    """Run the grid; see the module docstring. Returns the run folder and final manifest."""
    with contextlib.ExitStack() as locks:
        return _run_batch(settings, locks)


def _run_batch(settings: BatchSettings, locks: contextlib.ExitStack) -> BatchOutcome:
    from tqdm.auto import tqdm

    jobs, _ = plan(settings)
    _check_formats(tuple(settings.formats))
    slurm = _check_executor(settings)  # before any folder is made: bad options change nothing
    data_dir = Path(settings.data_dir).resolve()
    data_sums = provenance.data_checksums(data_dir)
    store = _coding_store(settings)
    if store is not None:
        # a changed coding store must re-run the notebooks that read it on --resume
        data_sums[f"(coding store) {store}"] = provenance.file_sha256(store)
    versions = provenance.package_versions()
    git = provenance.git_commit(Path(settings.notebooks_dir).resolve())
    out_dir = Path(settings.out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    previous: dict[str, Any] = {}
    if settings.resume:
        run_id = settings.run_id or _run_to_resume(out_dir)
        run_dir = out_dir / run_id
        manifest_path = run_dir / MANIFEST
        if not manifest_path.exists():
            raise BatchError(f"Nothing to resume in {run_dir}: it has no {MANIFEST}.")
        locks.enter_context(run_lock(run_dir))
        import json

        previous = {
            j["job_id"]: j for j in json.loads(manifest_path.read_text(encoding="utf-8"))["jobs"]
        }
        remove_stale_temporaries(run_dir)
    else:
        run_id = settings.run_id or _new_run_id(out_dir)
        run_dir = out_dir / run_id
        if run_dir.exists() and any(run_dir.iterdir()):
            raise BatchError(f"{run_dir} already exists; choose another --run-id or use --resume.")

    report_settings = {"threshold": settings.threshold, "show_code": settings.show_code}
    entries = []
    sources: dict[Path, bytes] = {}
    for job in jobs:
        parameters = dict(job.parameters)
        if job.kind == "summary":
            parameters["results_dir"] = str(run_dir)
        if job.notebook not in sources:  # read once: the text that runs is the text hashed
            sources[job.notebook] = Path(job.notebook).read_bytes()
        nb_sha = hashlib.sha256(sources[job.notebook]).hexdigest()
        fingerprint = provenance.job_fingerprint(
            nb_sha,
            {k: v for k, v in parameters.items() if k != "results_dir"},
            data_sums,
            versions,
            report_settings,
        )
        entries.append(
            {
                **job.to_dict(),
                "title": notebook_title(job.notebook),
                "parameters": parameters,
                "fingerprint": fingerprint,
                "status": "pending",
                "error": None,
                "failed_cell": None,
                "duration_s": None,
                "report": None,
                "pdf": None,
                "headline": None,
                "notebook_out": None,
                "records": {},
                "reused": False,
            }
        )
    # a summary is current only if every region run it summarises is unchanged
    region_prints = sorted(e["fingerprint"] for e in entries if e["kind"] == "region")
    for entry in entries:
        if entry["kind"] == "summary":
            entry["fingerprint"] = provenance.job_fingerprint(
                entry["fingerprint"], {"regions": region_prints}, {}, {}, {}
            )

    to_run = []
    for entry in entries:
        old = previous.get(entry["job_id"])
        if (
            old
            and old.get("status") == "ok"
            and old.get("fingerprint") == entry["fingerprint"]
            and _files_present(run_dir, old)
        ):
            entry.update(
                {
                    k: old.get(k)
                    for k in (
                        "status",
                        "error",
                        "failed_cell",
                        "duration_s",
                        "report",
                        "pdf",
                        "headline",
                        "notebook_out",
                        "records",
                        "started",
                        "finished",
                        "worker_pid",
                    )
                }
            )
            entry["reused"] = True
        else:
            to_run.append(entry)

    kernel_cwd = str(Path(settings.cwd or os.getcwd()).resolve())
    data_name, names = _report_names(data_dir, run_dir, store, kernel_cwd)
    synthetic = provenance.synthetic_data(data_dir)
    manifest = {
        "schema": SCHEMA,
        "run_id": run_id,
        "status": "running",
        "started": _now(),
        "finished": None,
        "data_dir": str(data_dir),
        "data_name": data_name,
        "synthetic": synthetic,
        "path_names": names,
        "data_checksums": data_sums,
        "versions": versions,
        "git": git,
        "settings": {
            "executor": settings.executor,
            "scheduler": settings.scheduler,
            **({"slurm": slurm} if slurm is not None else {}),
            "kernel": settings.kernel_name,
            "sweeps": list(settings.sweeps),
            "formats": list(settings.formats),
            "per_cluster": settings.per_cluster,
            **({"langs": list(settings.langs)} if settings.per_cluster else {}),
            **report_settings,
        },
        "counts": {},
        "workers_refused": [],
        "jobs": entries,
    }
    preload = _preload(settings, sorted({Path(e["notebook"]) for e in to_run}))
    # cluster reports run in the same wave as region reports (a --per-cluster run has no other)
    region_jobs = [e for e in to_run if e["kind"] in ("region", "cluster")]
    summary_jobs = [e for e in to_run if e["kind"] == "summary"]
    # connect before the first write: an unreachable scheduler or a Slurm that refuses the jobs
    # leaves no run folder behind (dask-jobqueue may have made its log folder in it)
    fresh = not run_dir.exists()
    executor = None
    if to_run:
        try:
            executor = _make_executor(settings, slurm, run_dir, region_jobs, kernel_cwd, preload)
        except BaseException:
            if fresh:
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        manifest["workers_refused"] = getattr(executor, "refused", [])
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not settings.resume:
            locks.enter_context(run_lock(run_dir))
        publisher = _Publisher(run_dir, manifest)
        publisher.publish()
    except BaseException:
        if executor is not None:
            executor.close()
        raise

    run_info = {
        # local pool: kernels start where `workbench run` was started, and papermill saves the
        # running notebook in the run folder; on remote workers both are the worker's own
        "cwd": None if settings.executor != "local" else kernel_cwd,
        "partial_dir": None if settings.executor != "local" else str(run_dir / "notebooks"),
        "run_dir": str(run_dir),
        "run_id": run_id,
        "kernel_name": settings.kernel_name,
        "threshold": settings.threshold,
        "show_code": settings.show_code,
        "timeout": settings.timeout,
        "preload": list(preload),
        "data_checksums": data_sums,
        "data_name": data_name,
        "synthetic": synthetic,
        "path_names": names,
        "versions": versions,
        "git_commit": (git.get("commit") or "unknown")
        + (" (uncommitted changes)" if git.get("dirty") else ""),
    }
    bar = (
        tqdm(
            total=len(to_run),
            desc=f"run {run_id}",
            unit="notebook",
            disable=not settings.progress,
            dynamic_ncols=True,
        )
        if to_run
        else None
    )
    if bar is not None and settings.progress is False:
        bar = None
    try:
        if to_run:
            store = _coding_store(settings)
            text = {path: source.decode("utf-8") for path, source in sources.items()}
            payloads = {
                e["job_id"]: _payload(e, text[Path(e["notebook"])], store, None)
                for e in region_jobs
            }
            _execute_wave(executor, region_jobs, payloads, run_info, publisher, bar)
            # a summary on the local pool reads the run folder; elsewhere the worker may not see
            # it, so the job carries a copy of the manifest as it is now, after the regions
            results = _results_copy(manifest) if executor.remote else None
            payloads = {
                e["job_id"]: _payload(e, text[Path(e["notebook"])], store, results)
                for e in summary_jobs
            }
            _execute_wave(executor, summary_jobs, payloads, run_info, publisher, bar)
        if executor is not None:
            executor.close()
            executor = None
        if "pdf" in settings.formats:
            _print_pdfs(run_dir, publisher, bar)
    finally:
        if executor is not None:
            executor.close()
        if bar is not None:
            bar.close()
    manifest["status"] = "finished"
    manifest["finished"] = _now()
    publisher.publish()
    _point_latest(out_dir, run_id)
    return BatchOutcome(run_dir, manifest)


def settings_dict(settings: BatchSettings) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()}
