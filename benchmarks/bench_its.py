"""Benchmark: interrupted time series for every clinic of the national synthetic set.
Goal: under 10 s for all ~1,800 clinics on the project's 2-core machine.

Fits a quasi-Poisson segmented regression (trend, two Fourier pairs, level and slope change,
offset 1,000 patient-days) to each clinic's NSAID DDD series, each at its cluster's NSAID meeting
(clinics whose cluster never met on it: at a common date, 2020-01, as a placebo), and prints the
median of several runs of the workbench's batched IRLS beside statsmodels' GLM fitted clinic by
clinic on a sample (scaled to all clinics) - the baseline it replaces.

    .venv/bin/python benchmarks/bench_its.py [--runs 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def national_panel(data: Path | None) -> pd.DataFrame:
    from evaluation.data.panel import prescribing_panel
    from evaluation.data.synth import write_synthetic

    if data is None:
        data = write_synthetic(
            Path(tempfile.mkdtemp()) / "national", seed=2026, scale="national", progress=False
        )
    tables = {
        name: pd.read_parquet(Path(data) / f"{name}.parquet")
        for name in ("prescribing", "clinics", "meetings")
    }
    panel = prescribing_panel(tables["prescribing"], tables["clinics"], tables["meetings"], "nsaid")
    panel["thousand_patient_days"] = (
        panel["listed_patients"] * panel["month"].dt.days_in_month / 1000
    )
    inside = panel["first_treated_month"] <= panel["month"].max()
    panel["start"] = panel["first_treated_month"].where(inside, pd.Timestamp("2020-01-01"))
    return panel


def run_workbench(panel: pd.DataFrame):
    from evaluation.methods import its

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return its(
            panel,
            "ddd",
            "month",
            intervention="start",
            population="thousand_patient_days",
            unit="clinic_id",
            harmonics=2,
            slope_change=True,
        )


def run_statsmodels(panel: pd.DataFrame, clinics) -> float:
    from evaluation.methods import its

    start = time.perf_counter()
    for clinic in clinics:
        one = panel[panel["clinic_id"] == clinic]
        its(
            one,
            "ddd",
            "month",
            intervention=one["start"].iloc[0],
            population="thousand_patient_days",
            harmonics=2,
            slope_change=True,
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--data", type=Path, default=None, help="a national synthetic data folder (else generated)"
    )
    args = parser.parse_args()
    panel = national_panel(args.data)
    n_clinics = panel["clinic_id"].nunique()
    print(
        f"panel: {n_clinics} clinics x {panel['month'].nunique()} months; "
        f"median of {args.runs} runs"
    )
    run_workbench(panel)  # warm-up: imports
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = run_workbench(panel)
        times.append(time.perf_counter() - start)
    ours = statistics.median(times)
    fitted = result.to_frame()["clinic_id"].nunique()
    print(
        f"evaluation.methods.its, all clinics (batched IRLS): {ours:6.2f} s for {fitted} clinics "
        f"({len(result.skipped)} skipped)  [goal < 10 s: {'met' if ours < 10 else 'NOT met'}]"
    )
    sample = np.random.default_rng(0).choice(panel["clinic_id"].unique(), size=50, replace=False)
    per_clinic = run_statsmodels(panel, sample) / len(sample)
    print(
        f"statsmodels GLM clinic by clinic: {per_clinic * 1000:6.1f} ms per clinic -> "
        f"{per_clinic * n_clinics:6.2f} s for all (scaled from 50); workbench is "
        f"{per_clinic * n_clinics / ours:.0f}x faster"
    )


if __name__ == "__main__":
    main()
