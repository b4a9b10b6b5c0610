"""Fixtures for the interview-themes notebook tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_demo_store(synthetic_small, tmp_path_factory) -> Path:
    """The demo coding store built from the small synthetic data: 4 interviews per region (the
    small set has 4 clusters in each region; the default of 5 needs the national set)."""
    from evaluation.qualitative.demo import build_demo

    out = tmp_path_factory.mktemp("interviews") / "demo"
    return Path(build_demo(synthetic_small, out, per_region=4, progress=False)["store"])
