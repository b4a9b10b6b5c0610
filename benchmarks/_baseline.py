"""The way a user runs a notebook without the workbench, for the benchmarks to compare with:
``papermill`` on the command line, then ``jupyter nbconvert --to html --no-input``, one job at
a time (not a benchmark itself: ``make bench`` runs ``bench_*.py`` only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


def papermill_then_nbconvert(
    notebook: Path, out: Path, parameters: dict, cwd: Path | None = None
) -> None:
    """Execute ``notebook`` into ``out`` with ``parameters`` (kernel ``evaluation``, in ``cwd``
    if given) and convert it to HTML beside it, code hidden."""
    command = [
        str(BIN / "papermill"),
        str(notebook),
        str(out),
        "-k",
        "evaluation",
        "-y",
        yaml.safe_dump(parameters, allow_unicode=True),
        "--no-progress-bar",
    ]
    if cwd is not None:
        command += ["--cwd", str(cwd)]
    subprocess.run(command, check=True, capture_output=True)
    subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)],
        check=True,
        capture_output=True,
    )
