"""Fixtures for the batch runner's tests: tiny notebooks, parameter folders, a tiny data folder."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from batch_helpers import EVIL_LABEL, FAST_PRELOAD

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
# the reader checks of rendered reports (report_checks.py) live with the reports' tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reports"))


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "clusters.csv").write_text("cluster_id;region\nC001;Hovedstaden\n", encoding="utf-8")
    return folder


@pytest.fixture
def notebooks_dir(tmp_path) -> Path:
    """A private copy of the tiny notebooks (tests may add or edit notebooks in it)."""
    target = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, target)
    return target


@pytest.fixture
def settings_for(tmp_path, tiny_data, notebooks_dir):
    """BatchSettings for the tiny notebooks: ``settings_for(params_dir, **overrides)``."""
    from evaluation.batch.runner import BatchSettings

    def make(parameters_dir: Path, **overrides) -> BatchSettings:
        values = dict(
            data_dir=tiny_data,
            out_dir=tmp_path / "outputs",
            notebooks_dir=notebooks_dir,
            parameters_dir=parameters_dir,
            workers=2,
            progress=False,
            preload=FAST_PRELOAD,
            timeout=120,
            check_data=False,  # tiny_data is one CSV, not a canonical data folder
        )
        values.update(overrides)
        return BatchSettings(**values)

    return make


@pytest.fixture(scope="session")
def grid_run(tmp_path_factory):
    """One batch on the local pool shared by several test files: three regions (one with markup
    in a name from the data, one that raises) and the summary."""
    from batch_helpers import write_parameters

    from evaluation.batch.runner import BatchSettings, run_batch

    root = tmp_path_factory.mktemp("grid")
    data = root / "data"
    data.mkdir()
    (data / "clusters.csv").write_text("cluster_id;region\nC001;Hovedstaden\n", encoding="utf-8")
    params = write_parameters(
        root / "parameters",
        ["hovedstaden", "sjaelland", "syddanmark"],
        hovedstaden={"cluster_label": EVIL_LABEL},
        syddanmark={"behaviour": "raise"},
    )
    settings = BatchSettings(
        check_data=False,  # a one-CSV folder, not a canonical data folder
        data_dir=data,
        out_dir=root / "outputs",
        notebooks_dir=NOTEBOOKS,
        parameters_dir=params,
        workers=2,
        progress=False,
        preload=FAST_PRELOAD,
        timeout=120,
    )
    return settings, run_batch(settings)


@pytest.fixture(scope="session")
def ok_grid_run(tmp_path_factory):
    """A grid on the local pool whose every job succeeds (two regions, and the summary): the
    reference the cluster executors are compared with. Hovedstaden has markup in a name from the
    data and sleeps a few seconds, long enough for a test to take its worker away mid-run."""
    from batch_helpers import write_parameters

    from evaluation.batch.runner import BatchSettings, run_batch

    root = tmp_path_factory.mktemp("ok-grid")
    data = root / "data"
    data.mkdir()
    (data / "clusters.csv").write_text("cluster_id;region\nC001;Hovedstaden\n", encoding="utf-8")
    params = write_parameters(
        root / "parameters",
        ["hovedstaden", "sjaelland"],
        hovedstaden={"cluster_label": EVIL_LABEL, "behaviour": "sleep", "sleep_s": 6.0},
    )
    settings = BatchSettings(
        check_data=False,  # a one-CSV folder, not a canonical data folder
        data_dir=data,
        out_dir=root / "local",
        notebooks_dir=NOTEBOOKS,
        parameters_dir=params,
        workers=2,
        progress=False,
        preload=FAST_PRELOAD,
        timeout=120,
    )
    outcome = run_batch(settings)
    assert outcome.ok, outcome.manifest["jobs"]
    return settings, outcome
