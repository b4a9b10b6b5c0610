"""notebooks/00_national_summary.ipynb pools the regions' recorded estimates with the
Hartung-Knapp interval (fewer than 10 regions) and says why; its recorded national estimates are
pool()'s, run on a run folder whose manifest holds five regions' records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from notebook_kernels import execute_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "00_national_summary.ipynb"
REGIONS = ["hovedstaden", "sjaelland", "syddanmark", "midtjylland", "nordjylland"]
ATT = [(-2.1, 0.45), (-1.4, 0.6), (-2.6, 0.5), (-1.9, 0.4), (-2.8, 0.9)]
LOG_RR = [(-0.12, 0.03), (-0.05, 0.05), (-0.16, 0.04), (-0.10, 0.04), (-0.02, 0.06)]


def _estimate(estimate: float, se: float, label: str, n: int) -> dict:
    return {
        "kind": "estimate",
        "value": {
            "estimate": estimate,
            "se": se,
            "ci_low": estimate - 1.959964 * se,
            "ci_high": estimate + 1.959964 * se,
            "n": n,
            "label": label,
            "unit": None,
        },
    }


def _run_folder(folder: Path) -> Path:
    jobs = []
    for region, att, log_rr in zip(REGIONS, ATT, LOG_RR):
        records = {
            "att_ddd_per_1000_per_day": _estimate(*att, "Change in DDD per 1,000 per day", 150),
            "its_level_rate_ratio_log": _estimate(
                *log_rr, "ITS: log rate ratio of DDD per 1,000 per day at the meeting", 80
            ),
        }
        for name, document in records.items():
            document["name"] = name
        jobs.append(
            {
                "job_id": f"01_prescribing_impact-{region}",
                "notebook": "notebooks/01_prescribing_impact.ipynb",
                "kind": "region",
                "label": region,
                "status": "ok",
                "parameters": {"region": region, "indicator": "nsaid", "topic": "nsaid"},
                "records": records,
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"jobs": jobs}), encoding="utf-8")
    return folder


@pytest.mark.slow
def test_notebook_00_pools_with_hartung_knapp_and_says_why(tmp_path, report_ready):
    from evaluation.batch.record import read_notebook_records
    from evaluation.methods import pool

    results = _run_folder(tmp_path / "run")
    out = tmp_path / "00_national.ipynb"
    execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"results_dir": str(results), "data_dir": str(tmp_path)},
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
    assert "The interval is Hartung-Knapp's: with only 5 regions" in prose
    assert "t interval on 4 degrees of freedom" in prose
    records = read_notebook_records(out)
    for name, values in (("att_ddd_per_1000_per_day", ATT), ("its_level_rate_ratio_log", LOG_RR)):
        regions = pd.DataFrame(values, columns=["estimate", "se"]).assign(region=REGIONS)
        hk = pool(regions, ci="hk").summary().iloc[0]
        normal = pool(regions, ci="normal").summary().iloc[0]
        national = records[f"national_{name}"]
        for column in ("estimate", "se", "ci_low", "ci_high"):
            assert national[column] == pytest.approx(hk[column], rel=1e-9), (name, column)
        # Hartung-Knapp's interval here is wider than the normal one it replaces
        assert national["ci_high"] - national["ci_low"] > normal["ci_high"] - normal["ci_low"]
        assert np.isfinite(national["ci_low"])
