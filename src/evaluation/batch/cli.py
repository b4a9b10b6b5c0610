"""`workbench run`: every region notebook x every parameter file, then the national summary."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evaluation.paths import (
    DEFAULT_DATA_DIR,
    DEFAULT_NOTEBOOKS_DIR,
    DEFAULT_OUTPUTS_DIR,
    DEFAULT_PARAMETERS_DIR,
    DEMO_STORE,
)


@click.command("run")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Data folder in the canonical layout (injected as data_dir).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_OUTPUTS_DIR,
    show_default=True,
    help="Where run folders go; <out>/latest points to the newest.",
)
@click.option(
    "--notebooks",
    "notebooks_dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_NOTEBOOKS_DIR,
    show_default=True,
    help="Folder of notebooks to run.",
)
@click.option(
    "--parameters",
    "parameters_dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_PARAMETERS_DIR,
    show_default=True,
    help="Folder with one YAML file per region (and sweeps/).",
)
@click.option(
    "--notebook",
    "-n",
    "notebook_patterns",
    multiple=True,
    metavar="PATTERN",
    help="Run only notebooks matching this name or glob (repeatable), e.g. -n '01_*'.",
)
@click.option(
    "--region",
    "-r",
    "regions",
    multiple=True,
    metavar="NAME",
    help="Run only these parameter files / region slugs (repeatable).",
)
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="NAME",
    help="Also run the variations in parameters/sweeps/NAME.yml for every region (repeatable).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask", "slurm"]),
    default="local",
    show_default=True,
    help="local: a process pool on this machine; dask: the workers of a running Dask scheduler "
    "(--scheduler); slurm: Slurm jobs of this run's own, through dask-jobqueue.",
)
@click.option(
    "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."
)
@click.option(
    "--slurm-queue",
    metavar="PARTITION",
    help="--executor slurm: the partition [default: parameters/cluster.yml, else Slurm's].",
)
@click.option(
    "--slurm-jobs",
    type=click.IntRange(min=1),
    help="--executor slurm: how many Slurm jobs (one single-threaded worker each) [default: 2].",
)
@click.option(
    "--slurm-walltime",
    metavar="TIME",
    help="--executor slurm: each job's time limit, e.g. 02:00:00 [default: 01:00:00].",
)
@click.option(
    "--slurm-memory",
    metavar="AMOUNT",
    help="--executor slurm: each job's memory, e.g. 8GB [default: 4GB].",
)
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    help="Local pool size [default: number of cores].",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the latest run (or --run-id): re-run only what failed or whose inputs changed.",
)
@click.option("--run-id", help="Name of the run folder [default: the start time, YYYYMMDD-HHMMSS].")
@click.option(
    "--kernel",
    "kernel_name",
    default="evaluation",
    show_default=True,
    help="Jupyter kernel to use.",
)
@click.option(
    "--disclosure-threshold",
    "threshold",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Smallest count a report may show; smaller ones must be suppressed.",
)
@click.option("--show-code", is_flag=True, help="Show the notebooks' code in the HTML reports.")
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=1800,
    show_default=True,
    help="Seconds a single cell may run before it is stopped.",
)
@click.option(
    "--preload",
    metavar="MODULES",
    help="Comma-separated modules each fresh kernel imports before its notebook starts "
    "[default: pandas, matplotlib, seaborn, statsmodels, ... and evaluation].",
)
@click.option(
    "--qualitative-store",
    type=click.Path(path_type=Path),
    help="Coding store (coding.sqlite) for the notebooks that read one (03 interview themes, "
    f"04 mixed methods) [default: theirs, {DEMO_STORE}, built from --data if absent].",
)
@click.option(
    "--format",
    "formats",
    default="html",
    show_default=True,
    metavar="html|html,pdf",
    help="Report formats: html, or html,pdf to also print every report to an A4 PDF beside it "
    "(needs Chromium: Debian/Ubuntu package 'chromium', or $EVALUATION_CHROMIUM).",
)
@click.option(
    "--per-cluster",
    is_flag=True,
    help="Write one feedback report per cluster of the data (notebooks declaring cluster_id, "
    "e.g. 05_cluster_feedback) in each --lang, as <region>/<cluster>-<lang>.html, instead of "
    "the region reports; -r restricts it to regions.",
)
@click.option(
    "--lang",
    "langs",
    default="da",
    show_default=True,
    metavar="da|en|da,en",
    help="--per-cluster: the languages of the cluster reports (Danish for coordinators).",
)
@click.option(
    "--no-data-check",
    is_flag=True,
    help="Do not validate --data as `workbench data check` does before running (only for "
    "notebooks of your own that read no canonical tables).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs).")
def run(
    data_dir,
    out_dir,
    notebooks_dir,
    parameters_dir,
    notebook_patterns,
    regions,
    sweeps,
    executor,
    scheduler,
    slurm_queue,
    slurm_jobs,
    slurm_walltime,
    slurm_memory,
    workers,
    resume,
    run_id,
    kernel_name,
    threshold,
    show_code,
    timeout,
    preload,
    qualitative_store,
    formats,
    per_cluster,
    langs,
    no_data_check,
    no_progress,
):
    """Evaluate every region and render HTML reports.

    Runs each notebook in --notebooks once per parameter file in --parameters (one per region),
    each in a fresh Jupyter kernel, then the national summary (notebooks that declare
    results_dir). Parameters are checked against the notebooks before anything runs. Results go
    to OUT/<run-id>/: index.html, one HTML report per run (and with --format html,pdf an A4 PDF
    of each), the executed notebooks and manifest.json. Exit status 1 if any notebook failed or a
    report was blocked.

    With --per-cluster: one report per quality cluster in the data folder's clusters table and
    per --lang (default da), from the notebooks whose parameters cell declares cluster_id, as
    OUT/<run-id>/<region>/<cluster>-<lang>.html, listed by region on index.html; the region
    reports are not run (run them without the flag).

    On a computing cluster: --executor dask --scheduler ADDRESS, or --executor slurm (settings
    from the --slurm-* options over parameters/cluster.yml); see the README's "Running on a
    cluster".
    """
    from evaluation.batch.runner import BatchSettings, run_batch

    wanted = tuple(dict.fromkeys(f.strip().lower() for f in formats.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in ("html", "pdf")]
    if unknown or not wanted:
        raise click.BadParameter(
            f"{formats!r}: the formats are html and pdf; give html or html,pdf.",
            param_hint="--format",
        )
    chosen_langs = tuple(dict.fromkeys(x.strip().lower() for x in langs.split(",") if x.strip()))
    if langs != "da" and not per_cluster:
        raise click.BadParameter(
            "the language is chosen for cluster reports; add --per-cluster.", param_hint="--lang"
        )
    settings = BatchSettings(
        data_dir=data_dir,
        out_dir=out_dir,
        notebooks_dir=notebooks_dir,
        parameters_dir=parameters_dir,
        notebooks=tuple(notebook_patterns),
        regions=tuple(regions),
        sweeps=tuple(sweeps),
        executor=executor,
        scheduler=scheduler,
        slurm_queue=slurm_queue,
        slurm_jobs=slurm_jobs,
        slurm_walltime=slurm_walltime,
        slurm_memory=slurm_memory,
        workers=workers,
        resume=resume,
        run_id=run_id,
        kernel_name=kernel_name,
        threshold=threshold,
        show_code=show_code,
        timeout=timeout,
        progress=not no_progress,
        preload=None
        if preload is None
        else tuple(m.strip() for m in preload.split(",") if m.strip()),
        qualitative_store=qualitative_store,
        formats=tuple(dict.fromkeys(("html", *wanted))),  # the PDF is printed from the HTML
        check_data=not no_data_check,
        per_cluster=per_cluster,
        langs=chosen_langs,
    )
    try:
        outcome = run_batch(settings)
    except KeyboardInterrupt:
        # one line instead of every worker's traceback; the run folder keeps what finished
        click.echo(
            "Stopped (Ctrl-C). Finished notebooks are kept; continue with the same command "
            "and --resume.",
            err=True,
        )
        sys.exit(130)
    counts = outcome.counts
    index = outcome.run_dir / "index.html"
    click.echo(
        f"{counts['ok']} completed, {counts['failed']} failed, {counts['blocked']} blocked by the "
        f"disclosure check. Open {index}"
    )
    for job in outcome.manifest["jobs"]:
        if job["status"] != "ok":
            click.echo(
                f"  {job['status']}: {job['job_id']}: {(job.get('error') or '').splitlines()[0]}",
                err=True,
            )
    if not outcome.ok:
        sys.exit(1)


@click.command("compare-runs")
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option(
    "--rtol",
    type=float,
    default=1e-9,
    show_default=True,
    help="Numbers within this relative difference count as equal.",
)
def compare_runs_command(before: Path, after: Path, rtol: float) -> None:
    """List every recorded number that differs between two runs (run folders of `workbench run`).

    Columns renamed by the result vocabulary (ci_lower -> ci_low, p -> p_value, ...) are matched.
    Exit status 1 when a number, a record or a job's status changed.
    """
    import pandas as pd

    from evaluation.batch.compare import compare_runs

    differences = compare_runs(before, after, rtol=rtol)
    if differences.empty:
        click.echo(f"No recorded number differs between {before} and {after} (rtol {rtol:g}).")
        return
    with pd.option_context("display.width", 160, "display.max_colwidth", 50):
        click.echo(differences.to_string(index=False))
    click.echo(f"{len(differences)} difference(s).", err=True)
    sys.exit(1)
