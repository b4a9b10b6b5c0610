"""Results one job computes and the next job of the same batch worker reads instead.

The ~114 cluster feedback reports of a run each show their region beside the cluster: the
region's step at the topic meeting, its funnel, the national line. Those are the same for every
cluster of a region, and computing them is most of a report's own work. Each report runs in a
fresh kernel (nothing may pass from one report to another in memory), so what is shared is kept
on disk instead: ``workbench run`` gives each of its worker processes a private folder and names
it in :data:`RESULT_CACHE_ENV`; :func:`remembered` stores a result there under its key, and the
next report on that worker asking for the same key reads it back. The folder goes with the
worker, so nothing outlives the run.

Outside a batch (a notebook opened in JupyterLab, the tests) the variable is unset and
:func:`remembered` simply computes. A key must name everything the result depends on: the data
files (:func:`files_token`), the region, the indicator, the window.

>>> import os, tempfile
>>> os.environ[RESULT_CACHE_ENV] = tempfile.mkdtemp()
>>> calls = []
>>> def slow():
...     calls.append(1)
...     return {"rate_ratio": 0.9}
>>> remembered(("example", 1), slow), remembered(("example", 1), slow), len(calls)
({'rate_ratio': 0.9}, {'rate_ratio': 0.9}, 1)
>>> del os.environ[RESULT_CACHE_ENV]
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from evaluation.files import atomic_write_bytes

__all__ = ["RESULT_CACHE_ENV", "files_token", "remembered"]

#: the folder (private to one batch worker process) where :func:`remembered` keeps results
RESULT_CACHE_ENV = "EVALUATION_RESULT_CACHE"

T = TypeVar("T")


def files_token(folder: str | os.PathLike) -> tuple:
    """What identifies the contents of the files in ``folder`` cheaply: the folder, then each
    file's name, size and modification time (a file rewritten between two reports gives
    another token).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "clusters.csv").write_text("cluster_id\\n")
    >>> token = files_token(folder)
    >>> token[0] == str(folder.resolve()), [name for name, size, mtime in token[1:]]
    (True, ['clusters.csv'])
    """
    folder = Path(folder)
    entries = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            stat = path.stat()
            entries.append((path.name, stat.st_size, stat.st_mtime_ns))
    return (str(folder.resolve()), *entries)


def remembered(key: tuple, compute: Callable[[], T]) -> T:
    """``compute()``, or the result an earlier job on this batch worker stored under ``key``.

    ``key`` is a tuple of plain values (strings, numbers, None, tuples of them) whose ``repr``
    names the result. Without :data:`RESULT_CACHE_ENV` this is ``compute()``. A stored result
    that cannot be read (a job killed while writing it leaves none: the write is atomic) is
    computed again; a failure to store one only costs the next job the time.
    """
    folder = os.environ.get(RESULT_CACHE_ENV)
    if not folder:
        return compute()
    path = Path(folder) / (hashlib.sha256(repr(key).encode()).hexdigest() + ".pickle")
    try:
        # only this worker's own jobs write here (a private folder in its scratch space)
        with open(path, "rb") as stored:
            return pickle.load(stored)
    except Exception:  # not stored yet, or unreadable: compute it
        pass
    value = compute()
    try:
        atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass
    return value
