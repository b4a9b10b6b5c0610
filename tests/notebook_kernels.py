"""Execute a project notebook in a test as ``workbench run`` does: papermill, in a kernel forked
from a zygote (:mod:`evaluation.batch.zygote`) rather than started from nothing.

A cold kernel imports pandas, statsmodels, matplotlib and the workbench again, seconds of CPU
for each of the ~20 notebooks the tests execute; the zygote pays that once per test process.
Each notebook still gets a kernel of its own, forked at the call with the environment of that
moment (no spare kernel launched ahead: some tests set TMPDIR for the kernel first).
"""

from __future__ import annotations

import atexit
import os

KERNEL = "evaluation"
_SOURCE = None


def execute_notebook(
    notebook: str | os.PathLike,
    out: str | os.PathLike,
    parameters: dict | None = None,
    cwd: str | os.PathLike = ".",
) -> None:
    """``papermill.execute_notebook(notebook, out, parameters, kernel_name="evaluation",
    cwd=cwd)`` in a forked kernel; raises papermill's PapermillExecutionError as before."""
    global _SOURCE
    import papermill

    from evaluation.batch.kernels import KernelSource

    if _SOURCE is None:
        _SOURCE = KernelSource()
        atexit.register(_SOURCE.close)
    km = _SOURCE.take(KERNEL, cwd, spare=False)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(out),
            parameters=parameters or {},
            kernel_name=KERNEL,
            progress_bar=False,
            cwd=str(cwd),
            km=km,
        )
    finally:
        _SOURCE.release(km)
