"""Benchmark: register records -> clinic-month indicators, DuckDB against plain pandas.

    .venv/bin/python benchmarks/bench_aggregate.py [--data data/register] [--repeat 1]

1. Uses the register-scale synthetic data in --data if present and complete (truth.json says
   scale "register" and the Parquet files hold exactly its register_rows), otherwise generates
   it with ``workbench data synth --scale register`` and reports how long that took.
2. Aggregates the records (>= 50 M rows) to prescriptions, users (distinct persons) and DDD per
   clinic, month and indicator, joined to monthly list sizes, in the same run, each engine in
   its own child process:
   - DuckDB: ``evaluation.data.aggregate_register`` (out of core, memory_limit + spill folder);
   - pandas (the baseline): a plain ``read_parquet`` + ``groupby`` (``size``, ``nunique``,
     ``sum``) per year file, keys kept categorical as read, the same grid join and rates: the
     fastest plain pandas we found, so the ratio is not flattered;
   - with --whole-pandas also the plainest form: one ``read_parquet`` of the whole register
     and one groupby (about 10 GB of memory at register scale, so not run by default).
3. Prints rows, seconds, rows per second for each (median over --repeat runs), DuckDB's ratio
   against each pandas baseline run (goal >= 10x, judged against the stricter of them), and
   each child's peak resident memory from ``os.wait4`` (goal for DuckDB < 4 GB), and checks
   that all give the same table (counts exact, DDD to 1e-6).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 10.0
GOAL_PEAK_BYTES = 4 * 1024**3


def _register_rows(data_dir: Path) -> int:
    import pyarrow.parquet as pq

    return sum(
        pq.ParquetFile(f).metadata.num_rows
        for f in sorted((data_dir / "register").glob("year=*/*.parquet"))
    )


def _complete(data_dir: Path, seed: int) -> tuple[bool, str]:
    truth_path = data_dir / "truth.json"
    if not truth_path.exists():
        return False, "no truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    if truth.get("scale") != "register" or not truth.get("register_rows"):
        return False, f"scale is {truth.get('scale')!r}, not 'register'"
    if truth.get("seed") != seed:
        return False, f"seed {truth.get('seed')} differs from --seed {seed}"
    if not (data_dir / "prescribing.parquet").exists():
        return False, "no prescribing.parquet"
    rows = _register_rows(data_dir)
    if rows != truth["register_rows"]:
        return False, f"register holds {rows:,} rows, truth.json says {truth['register_rows']:,}"
    return True, f"{rows:,} register rows, seed {seed}"


def _list_sizes(data_dir: Path):
    import pandas as pd

    prescribing = pd.read_parquet(
        data_dir / "prescribing.parquet", columns=["clinic_id", "month", "listed_patients"]
    )
    return prescribing.drop_duplicates(["clinic_id", "month"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the two engines (each runs in a child process so its peak memory can be measured alone)
# --------------------------------------------------------------------------------------------


def run_duckdb(data_dir: Path, out: Path, memory_limit: str, threads: int | None) -> dict:
    from evaluation.data import aggregate_register

    sizes = _list_sizes(data_dir)
    report: list = []
    started = time.perf_counter()
    result = aggregate_register(
        data_dir / "register", sizes, memory_limit=memory_limit, threads=threads, report=report
    )
    seconds = time.perf_counter() - started
    result.to_parquet(out, index=False)
    return {"rows": report[0].records, "seconds": seconds, "cells": len(result)}


def run_pandas(data_dir: Path, out: Path) -> dict:
    """The baseline: pandas one year file at a time, categorical keys, one groupby each."""
    import pandas as pd

    from evaluation.data.catalogue import indicator_for_atc

    sizes = _list_sizes(data_dir)
    sizes["month"] = pd.to_datetime(sizes["month"])
    files = sorted((data_dir / "register").glob("year=*/*.parquet"))
    started = time.perf_counter()
    rows = 0
    parts = []
    for file in files:
        records = pd.read_parquet(file, columns=["person_id", "clinic_id", "date", "atc", "ddd"])
        rows += len(records)
        # A fair baseline: ATC codes classified once per distinct code, keys kept categorical
        # (as read from the dictionary-encoded Parquet) and grouped with observed=True.
        atc = records["atc"].astype("category")
        labels = [indicator_for_atc(code) for code in atc.cat.categories]
        records["indicator"] = atc.cat.rename_categories(range(len(labels))).map(
            dict(enumerate(labels))
        )
        records = records[records["indicator"].notna()]
        records["month"] = pd.to_datetime(records["date"]).dt.to_period("M").dt.to_timestamp()
        parts.append(
            records.groupby(["clinic_id", "month", "indicator"], observed=True, sort=False).agg(
                prescriptions=("person_id", "size"),
                users=("person_id", "nunique"),
                ddd=("ddd", "sum"),
            )
        )
        del records
    result = _finish_pandas(pd.concat(parts).reset_index(), sizes)
    seconds = time.perf_counter() - started
    result.to_parquet(out, index=False)
    return {"rows": rows, "seconds": seconds, "cells": len(result)}


def run_pandas_whole(data_dir: Path, out: Path) -> dict:
    """The plainest pandas: one read_parquet of the whole register, default dtypes, one
    groupby. Needs several GB of memory at register scale."""
    import pandas as pd

    from evaluation.data.catalogue import indicator_for_atc

    sizes = _list_sizes(data_dir)
    sizes["month"] = pd.to_datetime(sizes["month"])
    started = time.perf_counter()
    records = pd.read_parquet(
        data_dir / "register", columns=["person_id", "clinic_id", "date", "atc", "ddd"]
    )
    rows = len(records)
    records["indicator"] = records["atc"].map(indicator_for_atc)
    records = records[records["indicator"].notna()]
    records["month"] = pd.to_datetime(records["date"]).dt.to_period("M").dt.to_timestamp()
    cells = records.groupby(["clinic_id", "month", "indicator"], observed=True).agg(
        prescriptions=("person_id", "size"),
        users=("person_id", "nunique"),
        ddd=("ddd", "sum"),
    )
    del records
    result = _finish_pandas(cells.reset_index(), sizes)
    seconds = time.perf_counter() - started
    result.to_parquet(out, index=False)
    return {"rows": rows, "seconds": seconds, "cells": len(result)}


def _finish_pandas(cells, sizes):
    """The grid of clinic-months with a list size times indicators, zeros where no records,
    and the rates: what aggregate_register returns."""
    import numpy as np
    import pandas as pd

    from evaluation.data import clinic_month_outcomes
    from evaluation.data.catalogue import INDICATORS

    cells["clinic_id"] = cells["clinic_id"].astype(object)
    cells["indicator"] = cells["indicator"].astype(object)
    grid = sizes.merge(pd.DataFrame({"indicator": [i.key for i in INDICATORS]}), how="cross")
    result = grid.merge(cells, on=["clinic_id", "month", "indicator"], how="left")
    result[["prescriptions", "users"]] = (
        result[["prescriptions", "users"]].fillna(0).astype(np.int64)
    )
    result["ddd"] = result["ddd"].fillna(0.0)
    return clinic_month_outcomes(
        result.sort_values(["clinic_id", "indicator", "month"], ignore_index=True)
    )


def _child(
    engine: str, data_dir: Path, memory_limit: str, threads: int | None, scratch: Path
) -> dict:
    """Run one engine in a fresh interpreter; return its figures and peak RSS (bytes)."""
    out = scratch / f"{engine}.parquet"
    cmd = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--data",
        str(data_dir),
        "--memory-limit",
        memory_limit,
        "--child-out",
        str(out),
    ]
    if threads:
        cmd += ["--threads", str(threads)]
    figures_path = scratch / f"{engine}.json"
    with open(figures_path, "w") as figures:
        process = subprocess.Popen(cmd, stdout=figures)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{engine} run failed with exit status {process.returncode}")
    figures = json.loads(figures_path.read_text())
    figures["peak_rss_bytes"] = usage.ru_maxrss * 1024  # Linux reports kilobytes
    # CPU time of the whole child (start-up and file writing included): on a shared machine
    # it says more than wall-clock seconds about the work each engine does
    figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    figures["output"] = str(out)
    return figures


def _same(duck_path: str, pandas_path: str) -> str:
    import numpy as np
    import pandas as pd

    key = ["clinic_id", "month", "indicator"]
    duck = pd.read_parquet(duck_path).sort_values(key, ignore_index=True)
    pand = pd.read_parquet(pandas_path).sort_values(key, ignore_index=True)
    duck["clinic_id"] = duck["clinic_id"].astype(str)
    pand["clinic_id"] = pand["clinic_id"].astype(str)
    pd.testing.assert_frame_equal(
        duck[key + ["prescriptions", "users", "listed_patients"]],
        pand[key + ["prescriptions", "users", "listed_patients"]],
        check_dtype=False,
    )
    diff = float(np.max(np.abs(duck["ddd"].to_numpy() - pand["ddd"].to_numpy())))
    if diff > 1e-6:
        raise SystemExit(f"DuckDB and pandas disagree on DDD by up to {diff}")
    return (
        f"identical cells ({len(duck):,}); prescriptions and users exact, DDD max |diff| {diff:.1e}"
    )


def _gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT / "data" / "register", help="register-scale data folder"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit")
    parser.add_argument(
        "--threads", type=int, default=None, help="DuckDB threads (default all cores)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine (median reported)")
    parser.add_argument(
        "--whole-pandas",
        action="store_true",
        help="also time the plainest pandas (whole register in one read_parquet; needs ~10 GB)",
    )
    parser.add_argument(
        "--child", choices=["duckdb", "pandas", "pandas-whole"], help=argparse.SUPPRESS
    )
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.child == "duckdb":
            figures = run_duckdb(args.data, args.child_out, args.memory_limit, args.threads)
        elif args.child == "pandas":
            figures = run_pandas(args.data, args.child_out)
        else:
            figures = run_pandas_whole(args.data, args.child_out)
        print(json.dumps(figures))
        return

    data_dir = args.data
    complete, why = _complete(data_dir, args.seed) if data_dir.exists() else (False, "absent")
    if complete:
        print(f"data: reusing {data_dir} ({why})")
    else:
        print(f"data: generating register-scale data in {data_dir} ({why}) ...", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).with_name("workbench")),
                "data",
                "synth",
                "--scale",
                "register",
                "--seed",
                str(args.seed),
                "--out",
                str(data_dir),
            ],
            check=True,
        )
        seconds = time.perf_counter() - started
        print(f"data: generated in {seconds:.1f} s ({_register_rows(data_dir):,} register rows)")

    engines = ["duckdb", "pandas"] + (["pandas-whole"] if args.whole_pandas else [])
    results: dict[str, list[dict]] = {engine: [] for engine in engines}
    agreements = []
    with tempfile.TemporaryDirectory(prefix="bench-aggregate-") as scratch:
        scratch = Path(scratch)
        for run in range(args.repeat):
            for engine in engines:
                print(f"run {run + 1}/{args.repeat}: {engine} ...", flush=True)
                results[engine].append(
                    _child(engine, data_dir, args.memory_limit, args.threads, scratch)
                )
        for engine in engines[1:]:
            same = _same(results["duckdb"][-1]["output"], results[engine][-1]["output"])
            agreements.append(f"DuckDB vs {engine}: {same}")

    print()
    print(
        f"{'engine':<13} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'CPU s':>8} {'peak RSS':>10}"
    )
    summary = {}
    for engine, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rows = runs[0]["rows"]
        peak = max(r["peak_rss_bytes"] for r in runs)
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        summary[engine] = (rows, seconds, rows / seconds, peak, cpu)
        print(
            f"{engine:<13} {rows:>12,} {seconds:>9.1f} {rows / seconds:>12,.0f} "
            f"{cpu:>8.1f} {_gib(peak):>10}"
        )
    duck_peak = summary["duckdb"][3]
    load = os.getloadavg()[0]
    print()
    print(
        f"machine: {os.cpu_count()} cores, load average {load:.1f} at the end "
        "(shared machines make wall-clock times noisy)"
    )
    # Both baselines, each with its verdict; the goal counts as met only against the stricter
    # (faster) one, so a slow baseline can never flatter the result.
    baselines = {
        "pandas": "pandas per year (categorical keys, one file at a time)",
        "pandas-whole": "pandas whole register (one read_parquet, one groupby)",
    }
    ratios = {}
    print(f"DuckDB / pandas rows per second (goal >= {GOAL_RATIO:.0f}x):")
    for engine, label in baselines.items():
        if engine not in summary:
            print(f"  against {label}: not run (add --whole-pandas)")
            continue
        ratios[engine] = summary["duckdb"][2] / summary[engine][2]
        cpu_ratio = summary[engine][4] / summary["duckdb"][4]
        print(
            f"  against {label}: {ratios[engine]:.1f}x "
            f"({'met' if ratios[engine] >= GOAL_RATIO else 'NOT met'}; "
            f"CPU seconds {cpu_ratio:.1f}x)"
        )
    stricter = min(ratios, key=ratios.get)
    print(
        f"  goal, judged against the stricter baseline ({stricter}, {ratios[stricter]:.1f}x): "
        f"{'met' if ratios[stricter] >= GOAL_RATIO else 'NOT met'}"
    )
    print(
        f"DuckDB peak memory: {_gib(duck_peak)} with memory_limit {args.memory_limit} "
        f"(goal < {_gib(GOAL_PEAK_BYTES)}: {'met' if duck_peak < GOAL_PEAK_BYTES else 'NOT met'})"
    )
    for line in agreements:
        print(f"agreement: {line}")


if __name__ == "__main__":
    main()
