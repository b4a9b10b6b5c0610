"""Batch runs: every notebook x every region's parameters, on this machine or a cluster.

``workbench run`` (:mod:`evaluation.batch.cli`) -> :func:`evaluation.batch.runner.run_batch`:

- :mod:`~evaluation.batch.parameters`  parameter files, the grid, checks before anything runs
- :mod:`~evaluation.batch.kernels`     fresh pre-warmed kernels, start-up retries
- :mod:`~evaluation.batch.execute`     one notebook: papermill, report, disclosure check
- :mod:`~evaluation.batch.runner`      the local pool, resume, manifest.json, index.html, latest
- :mod:`~evaluation.batch.cluster`     Dask workers anywhere, Slurm through dask-jobqueue
- :mod:`~evaluation.batch.remote`      the workers' side: environment check, job start events
- :mod:`~evaluation.batch.record`      ``record()`` in notebooks, ``read_estimates()`` in the
  summary (the helpers live in :mod:`evaluation.records`)
- :mod:`~evaluation.batch.provenance`  data checksums, versions, git commit, fingerprints
- :mod:`~evaluation.batch.compare`     every recorded number that moved between two runs

Running the grid on a dask.distributed or Slurm cluster: README, "Running on a cluster".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public API, imported lazily so that `workbench --help` does not pay for papermill and pandas.
_EXPORTS = {
    "BatchError": "evaluation.batch.runner",
    "BatchOutcome": "evaluation.batch.runner",
    "BatchSettings": "evaluation.batch.runner",
    "run_batch": "evaluation.batch.runner",
    "ParameterError": "evaluation.batch.parameters",
    "build_grid": "evaluation.batch.parameters",
    "check_grid": "evaluation.batch.parameters",
    "load_parameter_sets": "evaluation.batch.parameters",
    "KernelStartError": "evaluation.batch.kernels",
    "read_estimates": "evaluation.records",
    "read_jobs": "evaluation.records",
    "read_notebook_records": "evaluation.records",
    "read_records": "evaluation.records",
    "record": "evaluation.records",
    "record_estimate": "evaluation.records",
}
__all__ = [
    "BatchError",
    "BatchOutcome",
    "BatchSettings",
    "KernelStartError",
    "ParameterError",
    "build_grid",
    "check_grid",
    "load_parameter_sets",
    "read_estimates",
    "read_jobs",
    "read_notebook_records",
    "read_records",
    "record",
    "record_estimate",
    "run_batch",
]

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.batch.kernels import KernelStartError
    from evaluation.batch.parameters import (
        ParameterError,
        build_grid,
        check_grid,
        load_parameter_sets,
    )
    from evaluation.batch.runner import BatchError, BatchOutcome, BatchSettings, run_batch
    from evaluation.records import (
        read_estimates,
        read_jobs,
        read_notebook_records,
        read_records,
        record,
        record_estimate,
    )


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'evaluation.batch' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
