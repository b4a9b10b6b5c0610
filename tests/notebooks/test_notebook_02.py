"""notebooks/02_meeting_attendance.ipynb runs top to bottom under papermill (its clean commit and
parameters are checked with every notebook's in tests/project)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_meeting_attendance.ipynb"


@pytest.mark.slow
def test_notebook_runs_for_a_region_on_the_national_synthetic_data(synthetic_national, tmp_path):
    import papermill

    out = tmp_path / "02_nordjylland.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"region": "nordjylland", "data_dir": str(synthetic_national)},
        kernel_name="evaluation",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    executed = json.loads(out.read_text(encoding="utf-8"))
    outputs = [
        o
        for cell in executed["cells"]
        if cell["cell_type"] == "code"
        for o in cell.get("outputs", [])
    ]
    assert not [o for o in outputs if o["output_type"] == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 5
    text = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    assert "Nordjylland: 13 clusters" in text and "Expected change with all GPs present" in text
    # what the national summary pools
    from evaluation.batch.record import read_notebook_records

    records = read_notebook_records(out)
    slope = records["dose_response_slope"]
    assert (
        slope["se"] > 0
        and slope["ci_low"] < slope["estimate"] < slope["ci_high"]
        and slope["n"] > 50
    )
    assert 0.5 < records["attendance_rate"] < 1 and records["persistent_absentees"] > 0
