"""Fixtures for the methods tests: published reference data in tests/fixtures and the NSAID
clinic-month panel of the national synthetic set (seed 2026)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")  # figures are drawn, never shown

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "did" / "mpdta.csv")


@pytest.fixture(scope="session")
def ref_attgt() -> pd.DataFrame:
    ref = pd.read_csv(FIXTURES / "did" / "ref_attgt.csv")
    return ref[ref["scenario"] != "sim_nev_dr"]  # its data are not shipped


@pytest.fixture(scope="session")
def ref_aggte() -> pd.DataFrame:
    ref = pd.read_csv(FIXTURES / "did" / "ref_aggte.csv")
    return ref[ref["scenario"] != "sim_nev_dr"]


@pytest.fixture(scope="session")
def sicily() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "its" / "sicily.csv")


@pytest.fixture(scope="session")
def nsaid_national(synthetic_national) -> tuple[pd.DataFrame, dict]:
    """NSAID clinic-month panel of every national clinic, and truth.json."""
    from evaluation.data.panel import prescribing_panel

    tables = {
        name: pd.read_parquet(synthetic_national / f"{name}.parquet")
        for name in ("prescribing", "clinics", "meetings")
    }
    panel = prescribing_panel(tables["prescribing"], tables["clinics"], tables["meetings"], "nsaid")
    # Meetings in the study's last month treat nothing inside the data: untreated here, as in truth.
    last = panel["month"].max()
    after = panel["first_treated_month"] > last
    panel.loc[after, "cohort"] = 0
    panel.loc[after, "first_treated_month"] = pd.NaT
    # 1,000 patient-days: a Poisson offset that makes the fitted rate DDD per 1,000 patients per
    # day.
    panel["thousand_patient_days"] = (
        panel["listed_patients"] * panel["month"].dt.days_in_month / 1000
    )
    truth = json.loads((synthetic_national / "truth.json").read_text())
    return panel, truth


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
