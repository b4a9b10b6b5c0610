"""Benchmark: a feedback report for every cluster with `workbench run --per-cluster`.

Two measurements on the national synthetic data, in one run:

1. **All clusters** (about 114) in one language with ``workbench run --per-cluster``: the wall
   time, reports per minute and where each job's time went (kernel ready, notebook executed,
   report rendered and checked; medians from the manifest). Goal: under 4 minutes on a 2-core
   machine.
2. **The same jobs both ways** on a subset of at least 20 clusters (by default the smallest
   region with 20 or more): ``workbench run --per-cluster -r REGION`` against the way a user
   would do it without the workbench, one job at a time::

       papermill NOTEBOOK OUT.ipynb -k evaluation -y "<the cluster's parameters>"
       jupyter nbconvert --to html --no-input OUT.ipynb

   with the parameters the workbench gives each job. Goal: at least 5x faster.

The notebook is ``notebooks/05_cluster_feedback.ipynb`` unless ``--notebook`` names another;
if it is missing, the benchmark says so and measures the batch tests' stand-in with the same
parameters cell (``tests/batch/notebooks/cluster/05_tiny_cluster.ipynb``) instead. Not a test:
timings on a shared machine are noisy.

    .venv/bin/python benchmarks/bench_cluster_reports.py [--lang da] [--data data/synthetic]
        [--notebook notebooks/05_cluster_feedback.ipynb] [--subset-region syddanmark]
        [--skip-all] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _baseline import papermill_then_nbconvert

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_NOTEBOOK = PROJECT / "notebooks" / "05_cluster_feedback.ipynb"
STAND_IN = PROJECT / "tests" / "batch" / "notebooks" / "cluster" / "05_tiny_cluster.ipynb"
SUBSET_MINIMUM = 20


def choose_notebook(requested: Path) -> Path:
    if requested.is_file():
        return requested.resolve()
    print(
        f"note: {requested} does not exist (the cluster feedback notebook is not on this branch "
        f"yet); measuring the batch tests' stand-in {STAND_IN.relative_to(PROJECT)} instead, "
        "which has the same parameters. Pass --notebook to measure another.",
        flush=True,
    )
    return STAND_IN


def staged_notebooks(notebook: Path, scratch: Path) -> Path:
    """A folder holding only ``notebook``: the run's --notebooks."""
    folder = scratch / "notebooks"
    folder.mkdir()
    shutil.copy(notebook, folder / notebook.name)
    return folder


def clusters_per_region(data: Path) -> Counter:
    from evaluation.batch.prerun import read_clusters

    problems: dict[str, list[str]] = {}
    clusters = read_clusters(data, problems)
    if problems:
        raise SystemExit(f"the data folder's clusters table has problems: {problems}")
    return Counter(cluster.region for cluster in clusters)


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and their descendants: on a
    shared machine the wall time depends on the others' load, this does not."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_workbench(
    notebooks: Path, data: Path, out: Path, lang: str, regions: tuple[str, ...] = ()
) -> tuple[float, dict]:
    args = [
        sys.executable,
        "-m",
        "evaluation.cli",
        "run",
        "--per-cluster",
        "--lang",
        lang,
        "--data",
        str(data),
        "--out",
        str(out),
        "--notebooks",
        str(notebooks),
        "--parameters",
        str(PROJECT / "parameters"),
        "--no-progress",
    ]
    for region in regions:
        args += ["-r", region]
    started, cpu_before = time.perf_counter(), children_cpu()
    result = subprocess.run(args, capture_output=True, text=True, cwd=PROJECT)
    elapsed = time.perf_counter() - started
    print(f"  CPU time of the run and all its processes: {children_cpu() - cpu_before:.0f} s")
    manifest_path = out / "latest" / "manifest.json"
    if not manifest_path.exists():  # refused before any notebook ran
        raise SystemExit(
            f"workbench run exited {result.returncode} without a run: {result.stderr.strip()}"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    failed = {j["job_id"]: j["error"] for j in manifest["jobs"] if j["status"] == "failed"}
    if failed:
        first = dict(list(failed.items())[:3])
        raise SystemExit(
            f"{len(failed)} cluster report(s) failed, so the timing means nothing: {first}"
        )
    blocked = [j["job_id"] for j in manifest["jobs"] if j["status"] == "blocked"]
    if blocked:  # executed and rendered in full; only publishing was refused
        print(f"  note: {len(blocked)} report(s) held back by the disclosure check: {blocked[:5]}")
    return elapsed, manifest


def where_time_went(manifest: dict) -> str:
    """Median seconds per job: kernel ready, notebook executed, report rendered and checked."""
    timings = [job.get("timings") or {} for job in manifest["jobs"] if not job.get("reused")]
    durations = [job["duration_s"] for job in manifest["jobs"] if job.get("duration_s")]
    if not timings or not durations:
        return "no timings recorded"
    kernel = statistics.median(t.get("kernel_ready", 0) for t in timings)
    executed = statistics.median(t.get("executed", 0) - t.get("kernel_ready", 0) for t in timings)
    released = statistics.median(t.get("released", 0) for t in timings)
    total = statistics.median(durations)
    return (
        f"median per job: kernel ready {kernel:.2f} s, notebook {executed:.2f} s, "
        f"report rendered + disclosure check {total - released:.2f} s, in all {total:.2f} s"
    )


def run_baseline(notebook: Path, data: Path, region: str, lang: str, work: Path) -> float:
    """papermill CLI + nbconvert --no-input, one cluster at a time, with the parameters the
    workbench gives the same jobs."""
    from evaluation.batch.runner import BatchSettings, plan

    settings = BatchSettings(
        data_dir=data,
        out_dir=work / "unused",
        notebooks_dir=notebook.parent,
        notebooks=(notebook.stem,),
        parameters_dir=PROJECT / "parameters",
        regions=(region,),
        per_cluster=True,
        langs=(lang,),
        check_data=False,  # checked by the workbench run of the same jobs
    )
    jobs, _ = plan(settings)
    work.mkdir(parents=True)
    started, cpu_before = time.perf_counter(), children_cpu()
    for job in jobs:
        out = work / f"{job.job_id}.ipynb"
        papermill_then_nbconvert(notebook, out, job.parameters, cwd=PROJECT)
    elapsed = time.perf_counter() - started
    print(
        f"  CPU time of papermill, nbconvert and the kernels: {children_cpu() - cpu_before:.0f} s"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=PROJECT / "data" / "synthetic")
    parser.add_argument("--notebook", type=Path, default=DEFAULT_NOTEBOOK)
    parser.add_argument("--lang", default="da", choices=("da", "en"))
    parser.add_argument(
        "--subset-region",
        help="region of the subset run both ways [default: the smallest with >= 20 clusters]",
    )
    parser.add_argument("--skip-all", action="store_true", help="skip the run of all clusters")
    parser.add_argument("--skip-baseline", action="store_true", help="skip the subset comparison")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench_cluster_reports-"))
    try:
        data = args.data.resolve()
        if not (data / "truth.json").exists():
            from evaluation.data.synth import write_synthetic

            print(f"no synthetic data in {data}: generating the national set ...", flush=True)
            data = write_synthetic(scratch / "data", seed=2026, scale="national", progress=False)
        notebook = choose_notebook(args.notebook)
        notebooks = staged_notebooks(notebook, scratch)
        per_region = clusters_per_region(data)
        n_all = sum(per_region.values())
        print(f"notebook {notebook.name}, data {data}, language {args.lang}")
        print("clusters per region: " + ", ".join(f"{r} {n}" for r, n in per_region.items()))

        if not args.skip_all:
            elapsed, manifest = run_workbench(notebooks, data, scratch / "all", args.lang)
            n = len(manifest["jobs"])
            print(
                f"all clusters: workbench run --per-cluster: {n} reports in {elapsed:.1f} s "
                f"({n / elapsed * 60:.1f} reports/minute; goal: all {n_all} in < 240 s)",
                flush=True,
            )
            print(f"  {where_time_went(manifest)}", flush=True)

        if not args.skip_baseline:
            big_enough = [r for r, n in per_region.items() if n >= SUBSET_MINIMUM]
            region = args.subset_region or min(big_enough, key=per_region.__getitem__)
            n = per_region[region]
            print(f"subset: the {n} clusters of {region}, both ways, one after the other")
            ours, manifest = run_workbench(
                notebooks, data, scratch / "subset", args.lang, regions=(region,)
            )
            print(
                f"  workbench run --per-cluster -r {region}: {ours:.1f} s "
                f"({n / ours * 60:.1f} reports/minute)",
                flush=True,
            )
            print(f"  {where_time_went(manifest)}", flush=True)
            baseline = run_baseline(notebook, data, region, args.lang, scratch / "baseline")
            print(
                f"  papermill + nbconvert one at a time: {baseline:.1f} s "
                f"({n / baseline * 60:.1f} reports/minute, {baseline / n:.1f} s per report)",
                flush=True,
            )
            print(f"speed-up (baseline / workbench): {baseline / ours:.2f}x  (goal >= 5x)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
