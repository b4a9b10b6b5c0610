"""Parameter files, the grid, and the checks that run before any kernel starts."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from batch_helpers import write_parameters
from nbformat.v4 import new_code_cell, new_notebook

from evaluation.batch.parameters import (
    ParameterError,
    build_grid,
    check_grid,
    declared_parameters,
    load_parameter_sets,
)

PROJECT = Path(__file__).resolve().parents[2]


def notebook(folder: Path, name: str, parameters: str) -> Path:
    path = folder / name
    nb = new_notebook(
        cells=[new_code_cell(parameters, metadata={"tags": ["parameters"]}), new_code_cell("x = 1")]
    )
    nbformat.write(nb, path)
    return path


def grid(tmp_path, notebooks, params_dir, sweeps=()):
    sets = load_parameter_sets(params_dir, sweeps)
    return build_grid(notebooks, sets, data_dir=tmp_path / "data", results_dir=tmp_path / "run")


def test_project_parameter_files_fit_the_project_notebooks(tmp_path):
    """parameters/ has the five regions and every project notebook accepts them (make run's
    grid)."""
    notebooks = sorted((PROJECT / "notebooks").glob("*.ipynb"))
    jobs = grid(tmp_path, notebooks, PROJECT / "parameters", sweeps=("indicators",))
    check_grid(jobs)
    regions = {j.parameters.get("region") for j in jobs if j.kind == "region"}
    assert regions == {"hovedstaden", "sjaelland", "syddanmark", "midtjylland", "nordjylland"}
    assert [(j.kind, j.notebook.name) for j in jobs[-2:]] == [
        ("summary", "00_national_summary.ipynb"),
        ("summary", "04_mixed_methods.ipynb"),
    ]
    assert all(j.parameters["data_dir"] == str(tmp_path / "data") for j in jobs)
    assert sum(1 for j in jobs if j.notebook.stem == "01_prescribing_impact") == 5 * 4, (
        "5 regions x (own + 3 sweeps)"
    )
    # the cluster feedback report runs per cluster, not once per region file
    assert not [j for j in jobs if j.notebook.stem == "05_cluster_feedback"]


def test_every_problem_is_reported_together(tmp_path):
    nb = notebook(
        tmp_path,
        "10_region.ipynb",
        'region = "hovedstaden"\nindicator = "nsaid"\nstudy_start = "2016-01"\nwindow: int = 12\n'
        "weights = None  # required",
    )
    params = write_parameters(
        tmp_path / "parameters",
        ["hovedstaden", "sjaelland", "syddanmark"],
        hovedstaden={"regoin": "x", "weights": [1]},
        sjaelland={"window": 1.5, "study_start": "2016-13", "weights": [1]},
        syddanmark={"region": "jylland", "indicator": "aspirin"},
    )
    jobs = grid(tmp_path, [nb], params)
    with pytest.raises(ParameterError) as caught:
        check_grid(jobs)
    problems = caught.value.problems
    text = str(caught.value)
    assert "nothing was run" in text
    assert any(
        "hovedstaden.yml -> 10_region.ipynb: unknown parameter 'regoin'; did you mean 'region'?"
        in p
        for p in problems
    )
    assert any("indicator 'aspirin' is not one of" in p and "syddanmark.yml" in p for p in problems)
    assert any("parameter 'window' should be int" in p and "got float 1.5" in p for p in problems)
    assert any("study_start '2016-13' is not a month" in p for p in problems)
    assert any("region 'jylland' is not one of" in p for p in problems)
    assert any("parameter 'weights' is required" in p and "syddanmark.yml" in p for p in problems)
    assert len(problems) == 6, problems


def test_values_of_the_right_type_pass(tmp_path):
    nb = notebook(
        tmp_path,
        "10_region.ipynb",
        'region = "hovedstaden"\nrate = 0.5\nwindow: int = 12\nflag = False',
    )
    params = write_parameters(
        tmp_path / "parameters", ["hovedstaden"], hovedstaden={"rate": 2, "window": 6, "flag": True}
    )
    params.joinpath("hovedstaden.yml").write_text(
        params.joinpath("hovedstaden.yml").read_text().replace("indicator: nsaid\n", "")
    )
    check_grid(grid(tmp_path, [nb], params))  # an int where a float is expected is fine


def test_bad_files_are_named_with_line_and_reserved_names(tmp_path):
    folder = tmp_path / "parameters"
    folder.mkdir()
    (folder / "hovedstaden.yml").write_text("region: hovedstaden\n  indicator: [nsaid\n")
    (folder / "sjaelland.yml").write_text("")
    (folder / "syddanmark.yml").write_text("region: syddanmark\ndata_dir: /tmp/elsewhere\n")
    with pytest.raises(ParameterError) as caught:
        load_parameter_sets(folder)
    problems = caught.value.problems
    assert any("hovedstaden.yml line 2" in p and "not valid YAML" in p for p in problems)
    assert any("sjaelland.yml: empty" in p for p in problems)
    assert any("syddanmark.yml: 'data_dir' is set by `workbench run`" in p for p in problems)


def test_sweeps_expand_every_region_and_unknown_sweeps_are_named(tmp_path):
    nb = notebook(tmp_path, "10_region.ipynb", 'region = "hovedstaden"\nindicator = "nsaid"')
    params = write_parameters(tmp_path / "parameters", ["hovedstaden", "sjaelland"])
    (params / "sweeps").mkdir()
    (params / "sweeps" / "indicators.yml").write_text(
        "vary:\n  - {indicator: antibiotics}\n  - {indicator: eye_antibiotics}\n"
    )
    jobs = grid(tmp_path, [nb], params, sweeps=("indicators",))
    assert [j.job_id for j in jobs] == [
        "10_region--hovedstaden",
        "10_region--sjaelland",
        "10_region--hovedstaden--indicator=antibiotics",
        "10_region--sjaelland--indicator=antibiotics",
        "10_region--hovedstaden--indicator=eye_antibiotics",
        "10_region--sjaelland--indicator=eye_antibiotics",
    ]
    with pytest.raises(ParameterError, match="sweep 'topics': no file .* known sweeps: indicators"):
        load_parameter_sets(params, ("topics",))


def test_notebook_without_parameters_cell_is_named(tmp_path):
    path = tmp_path / "10_plain.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("region = 'x'")]), path)
    params = write_parameters(tmp_path / "parameters", ["hovedstaden"])
    with pytest.raises(ParameterError, match="has no cell tagged 'parameters'"):
        check_grid(grid(tmp_path, [path], params))
    assert declared_parameters(path) == {}


def test_a_chosen_coding_store_reaches_every_notebook_that_reads_one(tmp_path):
    from evaluation.batch.runner import BatchError, BatchSettings, plan

    notebooks = [
        PROJECT / "notebooks" / n
        for n in (
            "01_prescribing_impact.ipynb",
            "03_interview_themes.ipynb",
            "04_mixed_methods.ipynb",
        )
    ]
    store = tmp_path / "coding.sqlite"
    sets = load_parameter_sets(PROJECT / "parameters")
    jobs = build_grid(
        notebooks,
        sets,
        data_dir=tmp_path / "data",
        results_dir=tmp_path / "run",
        qualitative_store=store,
    )
    check_grid(jobs)
    given = {j.job_id: j.parameters.get("qualitative_store") for j in jobs}
    assert given["04_mixed_methods"] == str(store)
    assert {v for k, v in given.items() if k.startswith("03_")} == {str(store)}
    assert {v for k, v in given.items() if k.startswith("01_")} == {None}  # 01 reads no store
    # a store that is not there stops the run before any kernel starts, naming the option
    settings = BatchSettings(
        data_dir=tmp_path, notebooks_dir=PROJECT / "notebooks", qualitative_store=store
    )
    with pytest.raises(
        BatchError, match="--qualitative-store .*coding.sqlite: no such coding store"
    ):
        plan(settings)
