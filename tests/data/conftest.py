"""Fixtures for the data layer: small canonical tables made by the project's own generator."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for sas_writer


@pytest.fixture(scope="session")
def small_tables() -> dict[str, pd.DataFrame]:
    """The canonical tables of the 'small' synthetic set (seed 7), as written to Parquet."""
    from evaluation.data.synth import generate_tables

    tables, _, _ = generate_tables(7, "small")
    return tables


@pytest.fixture
def data_folder(tmp_path, synthetic_small) -> Path:
    """A private copy of the small synthetic folder that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(synthetic_small, target)
    return target


@pytest.fixture(scope="session")
def small_register(tmp_path_factory, small_tables):
    """Individual records for 8 clinics over 2018-2019, written by the generator's own
    write_register, with the matching slice of the prescribing table (the truth to reproduce).
    About 0.1 M records: big enough to have repeat prescriptions, small enough to be fast."""
    from evaluation.data.synth import write_register

    clinics = small_tables["clinics"].head(8).reset_index(drop=True)
    prescribing = small_tables["prescribing"]
    month = pd.to_datetime(prescribing["month"])
    part = prescribing[
        prescribing["clinic_id"].isin(clinics["clinic_id"]) & month.dt.year.isin([2018, 2019])
    ].reset_index(drop=True)
    out = tmp_path_factory.mktemp("register")
    records = write_register(7, part, clinics, out, progress=False)
    return out, part, records
