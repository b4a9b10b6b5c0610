"""Batch runs: every notebook x every region's parameters, on this machine or a cluster.

``workbench run`` (:mod:`evaluation.batch.cli`) -> :func:`evaluation.batch.runner.run_batch`:

- :mod:`~evaluation.batch.parameters`  parameter files, the grid, checks before anything runs
- :mod:`~evaluation.batch.kernels`     fresh pre-warmed kernels, start-up retries
- :mod:`~evaluation.batch.execute`     one notebook: papermill, report, disclosure check
- :mod:`~evaluation.batch.runner`      the local pool, resume, manifest.json, index.html, latest
- :mod:`~evaluation.batch.cluster`     Dask workers anywhere, Slurm through dask-jobqueue
- :mod:`~evaluation.batch.remote`      the workers' side: environment check, job start events
- :mod:`~evaluation.batch.record`      ``record()`` in notebooks, ``read_estimates()`` in summaries
- :mod:`~evaluation.batch.provenance`  data checksums, versions, git commit, fingerprints

Running on a cluster
--------------------
``workbench run --executor dask --scheduler tcp://HOST:8786`` runs the grid on the workers of a
running Dask scheduler, ``workbench run --executor slurm`` on Slurm jobs of its own through
dask-jobqueue (:mod:`~evaluation.batch.cluster`; the workers' side is
:mod:`~evaluation.batch.remote`). Jobs carry what they need, results travel back, and the client
writes every output; workers need the project's environment and the data at the same path. See
the README's "Running on a cluster".
"""
