"""`workbench run --qualitative-store`: the chosen store reaches the notebooks that read one, and
a changed store re-runs them on --resume while an unchanged one is reused."""

from __future__ import annotations

import nbformat
import pytest
from batch_helpers import jobs_by_id, read_manifest, write_parameters
from nbformat.v4 import new_code_cell, new_notebook

from evaluation.batch.runner import run_batch

pytestmark = pytest.mark.slow


def test_chosen_store_is_read_and_a_changed_store_reruns_on_resume(
    tmp_path, settings_for, notebooks_dir
):
    for old in notebooks_dir.glob("*.ipynb"):
        old.unlink()
    # a stand-in for notebook 03: it records what the store it was given holds
    nbformat.write(
        new_notebook(
            metadata={
                "kernelspec": {
                    "name": "evaluation",
                    "display_name": "Python (evaluation workbench)",
                    "language": "python",
                }
            },
            cells=[
                new_code_cell(
                    'region = "hovedstaden"\nindicator = "nsaid"\ndata_dir = "data/synthetic"\n'
                    'qualitative_store = "qualitative/demo/coding.sqlite"',
                    metadata={"tags": ["parameters"]},
                ),
                new_code_cell(
                    "from pathlib import Path\nfrom evaluation.batch.record import record\n"
                    "record('store_text', Path(qualitative_store).read_text())"
                ),
            ],
        ),
        notebooks_dir / "03_store_reader.ipynb",
    )
    params = write_parameters(tmp_path / "parameters", ["hovedstaden"])
    store = tmp_path / "coding.sqlite"
    store.write_text("first coding")

    first = run_batch(settings_for(params, qualitative_store=store, run_id="r1"))
    job = jobs_by_id(read_manifest(first.run_dir))["03_store_reader--hovedstaden"]
    assert job["status"] == "ok" and job["parameters"]["qualitative_store"] == str(store.resolve())

    unchanged = run_batch(settings_for(params, qualitative_store=store, run_id="r1", resume=True))
    assert (
        jobs_by_id(read_manifest(unchanged.run_dir))["03_store_reader--hovedstaden"]["reused"]
        is True
    )

    store.write_text("second coding, after a coding session")
    changed = run_batch(settings_for(params, qualitative_store=store, run_id="r1", resume=True))
    rerun = jobs_by_id(read_manifest(changed.run_dir))["03_store_reader--hovedstaden"]
    assert rerun["reused"] is False and rerun["status"] == "ok"
    assert rerun["records"]["store_text"]["value"] == "second coding, after a coding session"
