"""Batch runs: every notebook x every region's parameters, on this machine or a cluster.

``workbench run`` (:mod:`evaluation.batch.cli`) -> :func:`evaluation.batch.runner.run_batch`:

- :mod:`~evaluation.batch.parameters`  parameter files, the grid, checks before anything runs
- :mod:`~evaluation.batch.kernels`     fresh pre-warmed kernels, start-up retries
- :mod:`~evaluation.batch.execute`     one notebook: papermill, report, disclosure check
- :mod:`~evaluation.batch.runner`      executors, resume, manifest.json, index.html, outputs/latest
- :mod:`~evaluation.batch.record`      ``record()`` in notebooks, ``read_estimates()`` in the summary
- :mod:`~evaluation.batch.provenance`  data checksums, versions, git commit, fingerprints

Running on a cluster
--------------------
``workbench run --executor dask --scheduler tcp://HOST:8786`` sends every notebook to a
dask.distributed cluster instead of the local process pool. The workers need the same
environment (this package, the ``evaluation`` Jupyter kernel) and must see the notebooks, the
data folder and the output folder at the same paths (a shared file system). One thread per
worker process is best: each notebook runs in its own kernel process anyway.

On a Slurm cluster, start the scheduler and workers with dask-jobqueue (``pip install
dask-jobqueue``), for example in a small Python script on the login node::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=2, processes=2, memory="8GB", walltime="02:00:00",
                           job_script_prologue=["source /path/to/project/.venv/bin/activate"])
    cluster.scale(jobs=5)               # five Slurm jobs, two single-threaded workers each
    print(cluster.scheduler_address)    # pass this to --scheduler

then, with the script still running, ``workbench run --executor dask --scheduler ADDRESS``.
"""
