"""Fixtures for the interview-themes notebook tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_demo_project(synthetic_small, tmp_path_factory) -> Path:
    """A project folder whose qualitative/demo/ holds the demo built from the small synthetic data
    (4 interviews per region: the small set has 4 clusters in each; the default 5 needs the national
    set), with an empty notebooks/ folder to run from, as `workbench run` and JupyterLab do."""
    from evaluation.qualitative.demo import build_demo

    project = tmp_path_factory.mktemp("project")
    build_demo(synthetic_small, project / "qualitative" / "demo", per_region=4, progress=False)
    (project / "notebooks").mkdir()
    return project
