"""preload_tables(): tables read once for the kernels forked after it, never shared state."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from evaluation.data import DataValidationError, load
from evaluation.data import io as data_io


@pytest.fixture
def preloaded(tmp_path, synthetic_small):
    folder = tmp_path / "data"
    shutil.copytree(synthetic_small, folder)
    data_io._PRELOADED.clear()
    kept = data_io.preload_tables(folder)
    yield folder, kept
    data_io._PRELOADED.clear()


def test_a_preloaded_folder_loads_the_same_tables(preloaded, synthetic_small):
    folder, kept = preloaded
    assert kept == ["clusters", "clinics", "gps", "meetings", "attendance", "prescribing"]
    for region in (None, "sjaelland"):
        fresh = load(synthetic_small, region=region)  # another folder: read from its files
        again = load(folder, region=region)
        for name in fresh:
            pd.testing.assert_frame_equal(again[name], fresh[name])


def test_what_one_reader_changes_never_reaches_the_next(preloaded):
    folder, _ = preloaded
    first = load(folder, "clusters")["clusters"]
    expected = first.copy()
    first.loc[0, "cluster_name"] = "changed by an earlier report"
    first.drop(columns="n_gps", inplace=True)
    pd.testing.assert_frame_equal(load(folder, "clusters")["clusters"], expected)


def test_a_file_changed_since_is_read_again(preloaded):
    folder, _ = preloaded
    path = folder / "clusters.parquet"
    clusters = pd.read_parquet(path)
    clusters.loc[0, "n_gps"] = -3  # now invalid: the check must see the new file
    clusters.to_parquet(path)
    os.utime(path, ns=(1, 1))  # a different modification time, even on a coarse clock
    with pytest.raises(DataValidationError, match="n_gps"):
        load(folder, "clusters")
