"""notebooks/01_prescribing_impact.ipynb runs top to bottom under papermill and reads as a report
(issue 12): reader tables, key findings, the caveats next to their numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_prescribing_impact.ipynb"


@pytest.mark.slow
def test_notebook_01_reads_as_a_report(synthetic_national, tmp_path, report_ready):
    import papermill

    from evaluation.batch.record import read_notebook_records

    out = tmp_path / "01_nordjylland.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"region": "nordjylland", "data_dir": str(synthetic_national)},
        kernel_name="evaluation",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    executed = json.loads(out.read_text(encoding="utf-8"))
    report_ready(executed)
    prose = "".join(
        "".join(o["data"]["text/markdown"])
        for cell in executed["cells"]
        for o in cell.get("outputs", [])
        if "text/markdown" in o.get("data", {})
    )
    # the caveats of issue 12, where the reader meets the numbers
    assert "little power" in prose and "no proof that the trends were parallel" in prose
    assert "does not include seasonal terms" in prose
    records = read_notebook_records(out)
    its_n, did_n = (
        records["its_level_rate_ratio_log"]["n"],
        records["att_ddd_per_1000_per_day"]["n"],
    )
    assert f"**Interrupted time series**: {its_n} clinics" in prose
    assert f"difference-in-differences**: the {did_n} clinics" in prose
    assert records["n_clinics"] > did_n > its_n
