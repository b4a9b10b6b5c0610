"""Fixtures for the qualitative module: stores, the demo project, files in every format."""

from __future__ import annotations

from pathlib import Path

import pytest

REFI_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "refi"


@pytest.fixture
def refi_data() -> Path:
    return REFI_DATA


@pytest.fixture
def store(tmp_path):
    from evaluation.qualitative.store import Store

    opened = Store.create(tmp_path / "coding.sqlite", name="test project")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def demo_project(synthetic_national, tmp_path_factory) -> Path:
    """The 25-interview demo, generated once per session from the national synthetic data."""
    from evaluation.qualitative.demo import build_demo

    out = tmp_path_factory.mktemp("qualitative") / "demo"
    build_demo(synthetic_national, out, seed=2026, progress=False)
    return out
