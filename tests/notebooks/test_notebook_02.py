"""notebooks/02_meeting_attendance.ipynb runs top to bottom under papermill (its clean commit and
parameters are checked with every notebook's in tests/project)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from notebook_kernels import execute_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_meeting_attendance.ipynb"


@pytest.mark.slow
def test_notebook_runs_for_a_region_on_the_national_synthetic_data(
    synthetic_national, tmp_path, report_ready
):
    out = tmp_path / "02_nordjylland.ipynb"
    execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"region": "nordjylland", "data_dir": str(synthetic_national)},
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
    text = "".join(
        "".join(o["data"]["text/markdown"]) for o in outputs if "text/markdown" in o.get("data", {})
    )
    assert "Nordjylland: 13 clusters" in text and "Expected change with all GPs present" in text
    # issue 12: a report fit to send (reader tables, key findings, no stray "146")
    report_ready(executed)
    html_text = "".join(
        "".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})
    )
    # the odds ratio per year with its interval on the OR scale: "0.75 (0.68 to 0.83)"
    for match in re.finditer(
        r"<td[^>]*>(\d\.\d\d) \((-?\d\.\d\d) to (-?\d\.\d\d)\)</td>", html_text
    ):
        odds_ratio, low, high = map(float, match.groups())
        assert 0 <= low <= odds_ratio <= high
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
    # the cluster chart is split at the topic meeting (part=): each phase its own average, which
    # falls with the planted reduction, and the same numbers spc gives on the cluster's months
    centres = records["cluster_chart_centres"]
    assert centres["after"] < centres["before"]
    assert "each get their own average and limits" in "".join(
        "".join(cell["source"]) for cell in executed["cells"] if cell["cell_type"] == "markdown"
    )
    assert f"The average rate moved from {centres['before']:.2f} to {centres['after']:.2f}" in text
