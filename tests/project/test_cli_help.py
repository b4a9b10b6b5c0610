"""Every `workbench` command, at every depth, answers --help, and answers it at once.

The wings load lazily (``evaluation.cli.WINGS``): ``workbench --help`` imports no wing, and a
command's ``--help`` imports its wing's ``cli`` module but none of the heavy libraries the
commands use when they run (issue 14: --help took 5-8 s when every wing was imported first).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import click
from click.testing import CliRunner

from evaluation.cli import main

HEAVY_MODULES = ("pandas", "numpy", "scipy", "sklearn", "matplotlib", "papermill", "duckdb", "dask")


def _commands(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()):
    yield path
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _commands(command, click.Context(command, parent=ctx), path + (name,))
        else:
            yield path + (name,)


def test_every_command_has_help():
    paths = list(_commands(main, click.Context(main)))
    assert (
        ("data", "synth") in paths and ("run",) in paths and ("qual", "taguette", "pull") in paths
    )
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output and len(result.output.splitlines()) > 3, path


# Runs `workbench <path> --help` in this fresh interpreter and prints the heavy modules loaded.
_PROBE = """
import sys
from evaluation.cli import main
try:
    main(sys.argv[1:] + ["--help"], prog_name="workbench")
except SystemExit:
    pass
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[0].split(",")))
print("HEAVY:" + ",".join(heavy))
"""


def _heavy_modules_loaded(*path: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.replace("sys.argv[0]", repr(",".join(HEAVY_MODULES))), *path],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    line = [line for line in result.stdout.splitlines() if line.startswith("HEAVY:")][-1]
    return [name for name in line.removeprefix("HEAVY:").split(",") if name]


def test_top_level_help_lists_wings_without_importing_them():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom evaluation.cli import main\n"
            "try:\n    main(['--help'], prog_name='workbench')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('evaluation.')))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for wing in ("data", "run", "qual", "mixed"):
        assert f"\n  {wing} " in result.stdout, result.stdout
    loaded = result.stdout.strip().splitlines()[-1]
    for wing in ("data", "batch", "qualitative", "mixed", "methods", "reports"):
        assert f"'evaluation.{wing}" not in loaded, loaded


def test_no_help_imports_a_heavy_library():
    paths = list(_commands(main, click.Context(main)))
    # one command of each wing and each group: the wing modules a --help has to import
    probes = [path for path in paths if len(path) <= 2]
    for path in probes:
        assert _heavy_modules_loaded(*path) == [], path


def test_workbench_help_answers_in_under_half_a_second():
    def median_seconds(arguments: list[str]) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(arguments, check=True, capture_output=True, timeout=60)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    # The interpreter's own start-up is subtracted: on a loaded shared machine it alone can
    # take a good part of a second, and it is not what lazy loading can change.
    baseline = median_seconds([sys.executable, "-c", "pass"])
    help_seconds = median_seconds([sys.executable, "-m", "evaluation.cli", "--help"])
    assert help_seconds - baseline < 0.5, (help_seconds, baseline)
