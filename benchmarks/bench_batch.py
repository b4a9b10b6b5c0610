"""Benchmark: the national batch with `workbench run` against the way users do it today.

Baseline (today): for each region notebook and each region, one after another,

    papermill NOTEBOOK OUT.ipynb -k evaluation -y "<the region's parameters>"
    jupyter nbconvert --to html --no-input OUT.ipynb

Workbench: ``workbench run`` on the same notebooks x regions (the national summary left out so
the work is the same), started as a command too: a local pool of one worker per core, each
notebook in a fresh kernel that was started and had its imports done while the previous notebook
ran, and one in-process nbconvert exporter per worker (plus what the baseline lacks: parameter
checks, disclosure check, manifest and index).

Both are measured in the same run, alternating, ``--repeats`` times; the script prints each
repetition, the medians and the ratio (goal: at least 3x). Not a test: timings on a shared
machine are noisy.

    .venv/bin/python benchmarks/bench_batch.py [--repeats 3] [--data data/synthetic] [--regions ...]
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
from pathlib import Path

import yaml
from _baseline import papermill_then_nbconvert

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REGIONS = ("hovedstaden", "sjaelland", "syddanmark", "midtjylland", "nordjylland")


def region_notebooks(folder: Path) -> list[Path]:
    import papermill

    return [
        nb
        for nb in sorted(folder.glob("*.ipynb"))
        if "results_dir" not in papermill.inspect_notebook(str(nb))
    ]


def run_baseline(notebooks: list[Path], regions: list[str], data: Path, work: Path) -> float:
    work.mkdir(parents=True)
    started = time.perf_counter()
    for notebook in notebooks:
        declared = __import__("papermill").inspect_notebook(str(notebook))
        for region in regions:
            values = yaml.safe_load(
                (PROJECT / "parameters" / f"{region}.yml").read_text(encoding="utf-8")
            )
            values["data_dir"] = str(data)
            values = {k: v for k, v in values.items() if k in declared}
            out = work / f"{notebook.stem}--{region}.ipynb"
            papermill_then_nbconvert(notebook, out, values)
    return time.perf_counter() - started


def run_workbench(notebooks: list[Path], regions: list[str], data: Path, work: Path) -> float:
    args = [
        sys.executable,
        "-m",
        "evaluation.cli",
        "run",
        "--data",
        str(data),
        "--out",
        str(work),
        "--notebooks",
        str(notebooks[0].parent),
        "--parameters",
        str(PROJECT / "parameters"),
        "--no-progress",
    ]
    for notebook in notebooks:
        args += ["-n", notebook.stem]
    for region in regions:
        args += ["-r", region]
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    manifest_path = work / "latest" / "manifest.json"
    if not manifest_path.exists():  # refused before any notebook ran (bad parameters, no data)
        raise SystemExit(
            f"workbench run exited {result.returncode} without a run: {result.stderr.strip()}"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    failed = {
        j["job_id"]: j["error"] for j in manifest["jobs"] if j["status"] not in ("ok", "blocked")
    }
    if failed:
        raise SystemExit(f"workbench run failed notebooks, so the timing means nothing: {failed}")
    blocked = [j["job_id"] for j in manifest["jobs"] if j["status"] == "blocked"]
    if blocked:  # executed and rendered in full; only publishing was refused
        print(
            "  note: reports held back by the disclosure check (work done all the same): "
            + ", ".join(blocked)
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=PROJECT / "data" / "synthetic")
    parser.add_argument("--regions", nargs="+", default=list(REGIONS))
    parser.add_argument("--notebooks", type=Path, default=PROJECT / "notebooks")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench_batch-"))
    try:
        data = args.data.resolve()
        if not (data / "truth.json").exists():
            from evaluation.data.synth import write_synthetic

            data = write_synthetic(scratch / "data", seed=2026, scale="national", progress=False)
        notebooks = region_notebooks(args.notebooks.resolve())
        n = len(notebooks) * len(args.regions)
        print(f"{len(notebooks)} notebook(s) x {len(args.regions)} region(s) = {n} runs on {data}")
        print(f"notebooks: {', '.join(nb.name for nb in notebooks)}")
        baseline, ours = [], []
        for repeat in range(1, args.repeats + 1):
            baseline.append(
                run_baseline(notebooks, args.regions, data, scratch / f"baseline-{repeat}")
            )
            print(
                f"repeat {repeat}: papermill + nbconvert one by one {baseline[-1]:7.1f} s",
                flush=True,
            )
            ours.append(
                run_workbench(notebooks, args.regions, data, scratch / f"workbench-{repeat}")
            )
            print(
                f"repeat {repeat}: workbench run {ours[-1]:7.1f} s "
                f"| ratio {baseline[-1] / ours[-1]:.2f}x",
                flush=True,
            )
        b, o = statistics.median(baseline), statistics.median(ours)
        print(
            f"median papermill + nbconvert (baseline): {b:.1f} s ({b / n:.1f} s per notebook run)"
        )
        print(
            f"median workbench run:                    {o:.1f} s ({o / n:.1f} s per notebook run)"
        )
        print(f"speed-up (median baseline / median workbench): {b / o:.2f}x  (goal >= 3x)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
