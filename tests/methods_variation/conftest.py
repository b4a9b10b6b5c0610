"""Fixtures for the practice-variation, attendance and pooling tests."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")  # figures are drawn, never shown

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def national_tables(synthetic_national) -> dict:
    """The national synthetic set's tables (read once) and its truth.json under "truth"."""
    names = ("clusters", "clinics", "gps", "meetings", "attendance", "prescribing")
    tables = {name: pd.read_parquet(synthetic_national / f"{name}.parquet") for name in names}
    tables["truth"] = json.loads((synthetic_national / "truth.json").read_text(encoding="utf-8"))
    return tables


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
