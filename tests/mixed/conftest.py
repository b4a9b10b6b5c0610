"""Fixtures for the mixed-methods tests: the demo interview project on the national synthetic data."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def national_demo(synthetic_national, tmp_path_factory) -> Path:
    """A project folder whose qualitative/demo/ holds the 25-interview demo (seed 2026) built from
    the national synthetic data (seed 2026), as `make run` makes them, with an empty notebooks/."""
    from evaluation.qualitative.demo import build_demo

    project = tmp_path_factory.mktemp("mixed-project")
    build_demo(synthetic_national, project / "qualitative" / "demo", seed=2026, progress=False)
    (project / "notebooks").mkdir()
    return project
