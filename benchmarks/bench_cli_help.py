"""How long each `workbench ... --help` takes, as a user's shell sees it (a fresh process).

Every command at every depth is timed five times; the median is printed, with the baseline of
a bare ``python -c pass`` in the same run so that a loaded machine shows as such. The target
(issue 14): every ``--help`` under 0.5 s, because the wings load only when their command runs.

    .venv/bin/python benchmarks/bench_cli_help.py            # every command
    .venv/bin/python benchmarks/bench_cli_help.py --top      # workbench --help only
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import click

REPEATS = 5


def command_paths(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()):
    """Every command path under ``group``, loading each wing (this process only)."""
    yield path
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, click.Context(command, parent=ctx), path + (name,))
        elif command is not None:
            yield path + (name,)


def median_seconds(arguments: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(arguments, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from evaluation.cli import main as workbench

    paths = (
        [()] if "--top" in sys.argv else list(command_paths(workbench, click.Context(workbench)))
    )
    baseline = median_seconds([sys.executable, "-c", "pass"])
    print(f"{'python -c pass (baseline)':<45} {baseline:6.3f} s")
    slowest = 0.0
    for path in paths:
        seconds = median_seconds([sys.executable, "-m", "evaluation.cli", *path, "--help"])
        slowest = max(slowest, seconds)
        label = " ".join(("workbench", *path, "--help"))
        print(f"{label:<45} {seconds:6.3f} s{'   SLOW' if seconds >= 0.5 else ''}")
    print(f"slowest --help: {slowest:.3f} s (median of {REPEATS}); target < 0.5 s")


if __name__ == "__main__":
    main()
