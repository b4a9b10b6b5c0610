"""Benchmark: staggered DiD on a 2,000-clinic x 84-month panel, 999 bootstrap draws, all four
aggregations. Goal: under 1 s on the project's 2-core machine.

Prints the median of several runs for the workbench's estimator (evaluation.methods.staggered_did)
and, in the same run, for diff-diff (the cross-check engine; it has no calendar aggregation, so
it runs simple, event-study and group), plus their agreement on the simple ATT.

    .venv/bin/python benchmarks/bench_did.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd


def make_panel(
    n_clinics: int = 2000, n_months: int = 84, n_clusters: int = 70, seed: int = 1
) -> pd.DataFrame:
    """Clinics nested in clusters; two in three clusters meet on the topic in a random month of
    years 3-7, the rest never do (cohort 0). Outcome: a DDD-like rate with trend, season, clinic
    level and a -2 step from the month after the meeting."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n_clinics)
    takes_up = rng.random(n_clusters) < 0.65
    meeting = np.where(takes_up, rng.integers(25, n_months - 4, n_clusters), 0)
    cohort = meeting[cluster]
    month = np.arange(1, n_months + 1)
    level = rng.normal(22, 5, n_clinics)
    season = 1.0 * np.cos(2 * np.pi * (month - 7) / 12)
    treated = (cohort[:, None] > 0) & (month[None, :] >= cohort[:, None])
    y = (
        level[:, None]
        - 0.02 * month[None, :]
        + season[None, :]
        - 2.0 * treated
        + rng.normal(0, 2, (n_clinics, n_months))
    )
    return pd.DataFrame(
        {
            "clinic_id": np.repeat(np.arange(n_clinics), n_months),
            "month": np.tile(month, n_clinics),
            "cohort": np.repeat(cohort, n_months),
            "cluster_id": np.repeat(cluster, n_months),
            "ddd_per_1000_per_day": y.ravel(),
        }
    )


def run_workbench(panel: pd.DataFrame) -> float:
    from evaluation.methods import staggered_did

    res = staggered_did(
        panel,
        "ddd_per_1000_per_day",
        "clinic_id",
        "month",
        "cohort",
        cluster="cluster_id",
        bootstrap=999,
        seed=1,
    )
    out = [res.aggregate(kind) for kind in ("simple", "dynamic", "group", "calendar")]
    return float(out[0]["att"].iloc[0])


def run_diff_diff(panel: pd.DataFrame) -> float:
    from diff_diff import CallawaySantAnna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CallawaySantAnna(cluster="cluster_id", n_bootstrap=999, seed=1).fit(
            panel, "ddd_per_1000_per_day", "clinic_id", "month", "cohort", aggregate="all"
        )
    return float(res.overall_att)


def median_time(fn, panel, runs: int) -> tuple[float, float]:
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn(panel)
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    panel = make_panel()
    n_cohorts = panel.loc[panel["cohort"] > 0, "cohort"].nunique()
    print(
        f"panel: {panel['clinic_id'].nunique()} clinics x {panel['month'].nunique()} months, "
        f"{panel['cluster_id'].nunique()} clusters, {n_cohorts} cohorts; 999 bootstrap draws; "
        f"median of {args.runs} runs"
    )
    run_workbench(panel)  # warm-up: imports
    ours, att = median_time(run_workbench, panel, args.runs)
    print(
        f"evaluation.methods.staggered_did (4 aggregations): {ours:6.3f} s  simple ATT {att:.4f}  "
        f"[goal < 1 s: {'met' if ours < 1 else 'NOT met'}]"
    )
    try:
        run_diff_diff(panel)
        theirs, att_dd = median_time(run_diff_diff, panel, args.runs)
        print(
            f"diff-diff CallawaySantAnna (3 aggregations):      {theirs:6.3f} s  "
            f"simple ATT {att_dd:.4f}"
        )
        print(
            f"ratio workbench / diff-diff: {ours / theirs:.2f}; "
            f"|simple ATT difference| {abs(att - att_dd):.2e}"
        )
    except ImportError:
        print("diff-diff not installed: no baseline (pip install diff-diff)")


if __name__ == "__main__":
    main()
