"""record()/record_estimate() in a notebook's outputs, and the readers the summary uses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from evaluation.batch.record import (
    RECORD_MIME,
    decode,
    encode,
    read_estimates,
    read_jobs,
    read_records,
    records_in_notebook,
)


def test_values_survive_the_round_trip_through_json():
    table = pd.DataFrame(
        {
            "cluster": ["C1", "C2"],
            "n": [12, 30],
            "month": pd.to_datetime(["2020-01-01", "2021-06-01"]),
        }
    )
    for value in (3, -0.25, "text", None, True, {"a": [1, 2.5]}, np.float64(1.5), np.int64(7)):
        document = json.loads(json.dumps(encode("x", value)))
        assert decode(document) == (value.item() if hasattr(value, "item") else value)
    assert decode(encode("nan", float("nan"))) is None
    back = decode(json.loads(json.dumps(encode("t", table))))
    pd.testing.assert_frame_equal(back, table)
    with pytest.raises(TypeError, match="cannot record a object"):
        encode("bad", object())
    with pytest.raises(ValueError, match="non-empty string"):
        encode("", 1)


def test_records_are_found_in_a_notebook_and_last_one_wins():
    nb = new_notebook(
        cells=[
            new_code_cell(
                "record",
                outputs=[
                    new_output(
                        "display_data", data={RECORD_MIME: encode("a", 1), "text/plain": "a"}
                    )
                ],
            ),
            new_code_cell(
                "again",
                outputs=[
                    new_output(
                        "display_data", data={RECORD_MIME: encode("a", 2), "text/plain": "a"}
                    ),
                    new_output("stream", name="stdout", text="hi"),
                ],
            ),
        ]
    )
    assert {name: decode(doc) for name, doc in records_in_notebook(nb).items()} == {"a": 2}


def test_readers_turn_a_manifest_into_tidy_frames(tmp_path):
    def job(job_id, region, status, estimate):
        return {
            "job_id": job_id,
            "notebook": "/p/notebooks/01_x.ipynb",
            "kind": "region",
            "label": region,
            "status": status,
            "error": None if status == "ok" else "ValueError: x\nmore",
            "parameters": {"region": region, "indicator": "nsaid", "data_dir": "/d"},
            "records": {
                "effect": {
                    "name": "effect",
                    "kind": "estimate",
                    "value": {
                        "estimate": estimate,
                        "se": 0.1,
                        "ci_low": estimate - 0.196,
                        "ci_high": estimate + 0.196,
                        "n": 40,
                        "label": "Effect",
                        "unit": None,
                    },
                },
                "n": encode("n", 40),
            },
        }

    manifest = {
        "jobs": [
            job("a", "hovedstaden", "ok", -0.3),
            job("b", "sjaelland", "failed", -0.1),
            job("c", "syddanmark", "ok", -0.2),
        ]
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    estimates = read_estimates(tmp_path)
    assert estimates["region"].tolist() == ["hovedstaden", "syddanmark"], "only finished runs"
    assert estimates[["estimate", "se", "n"]].to_dict("list") == {
        "estimate": [-0.3, -0.2],
        "se": [0.1, 0.1],
        "n": [40, 40],
    }
    assert "data_dir" not in estimates.columns
    records = read_records(tmp_path)
    assert sorted(records["name"]) == ["effect", "effect", "n", "n"]
    jobs = read_jobs(tmp_path)
    assert jobs.set_index("job_id")["error"].to_dict() == {
        "a": None,
        "b": "ValueError: x",
        "c": None,
    }
    with pytest.raises(FileNotFoundError, match="no manifest"):
        read_estimates(tmp_path / "elsewhere")


def test_record_returns_nothing_so_a_cell_ending_with_it_echoes_no_bare_value():
    # issue 12: `record("persistent_absentees", 146)` as a cell's last line showed "146"
    from evaluation.batch.record import record

    assert record("persistent_absentees", 146) is None
    assert record("a_table", pd.DataFrame({"x": [1]})) is None
