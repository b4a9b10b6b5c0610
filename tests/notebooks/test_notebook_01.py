"""notebooks/01_prescribing_impact.ipynb runs top to bottom under papermill and reads as a report
(issue 12): reader tables, key findings, the caveats next to their numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notebook_kernels import execute_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_prescribing_impact.ipynb"


@pytest.mark.slow
def test_notebook_01_reads_as_a_report(synthetic_national, tmp_path, report_ready):
    from evaluation.batch.record import read_notebook_records

    out = tmp_path / "01_nordjylland.ipynb"
    execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"region": "nordjylland", "data_dir": str(synthetic_national)},
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
    # the robustness panel (issue 15): recorded numbers equal the methods run on the same data
    _check_robustness_panel(synthetic_national, records, prose)


def _check_robustness_panel(data_dir, records, prose):
    import math

    import numpy as np

    from evaluation.data import load
    from evaluation.data.panel import prescribing_panel
    from evaluation.methods import event_time_series, its_diagnostics, staggered_did
    from evaluation.methods.parallel_trends_sensitivity import breakdown_value

    tables = load(data_dir, tables=["clinics", "meetings", "prescribing"], region="nordjylland")
    panel = prescribing_panel(
        tables["prescribing"], tables["clinics"], tables["meetings"],
        indicator="nsaid", topic="nsaid", start="2016-01", end="2023-12",
    )  # fmt: skip
    n_months = records["sensitivity_months"]
    assert n_months == max(1, min(6, (panel["cluster_id"].nunique() - 2) // 2))
    universal = staggered_did(
        panel, "ddd_per_1000_per_day", "clinic_id", "month", "cohort",
        cluster="cluster_id", base_period="universal",
    )  # fmt: skip
    expected = breakdown_value(
        universal, "relative_magnitude", pre_periods=n_months, post_periods=n_months
    )
    recorded = records["breakdown_value_relative_magnitude"]  # None when not significant at 0
    if math.isnan(expected):
        assert recorded is None and "there is no breakdown value" in prose
    else:
        assert recorded == pytest.approx(expected, rel=1e-9) and "(breakdown value)" in prose
    assert "passed test is not proof" in prose and records["pretrend_slope_80_power"] > 0
    assert 0 <= records["bacon_weight_already_treated_controls"] < 1
    assert "Goodman-Bacon" in prose and "Do other estimators agree?" in prose
    series = event_time_series(panel, months_before=24, months_after=24)
    checks = its_diagnostics(
        series, "ddd", "event_time", intervention=0, population="patient_days_thousands",
        slope_change=True,
    )  # fmt: skip
    assert records["its_fourier_pairs"] == checks.harmonics
    assert records["its_fourier_pairs"] in range(5) and "QAIC" in prose
    assert records["its_placebo_includes_no_change"] is True
    assert "pretend meeting" in prose and "Ljung-Box" in prose
    assert np.isfinite(checks.summary()["ljung_box_p_value"].iloc[0])
