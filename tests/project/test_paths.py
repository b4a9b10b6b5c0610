"""Relative data paths work from notebooks/, where Jupyter starts a notebook's kernel; the
default folders are written once, in evaluation.paths."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from evaluation.data import load
from evaluation.paths import (
    DEFAULT_DATA_DIR,
    DEFAULT_NOTEBOOKS_DIR,
    DEFAULT_OUTPUTS_DIR,
    DEFAULT_PARAMETERS_DIR,
    DEMO_STORE,
    project_path,
    project_root,
)


def test_relative_data_folder_is_found_from_the_notebooks_folder(
    tmp_path, monkeypatch, synthetic_small
):
    root = tmp_path / "checkout"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "evaluation"\n')
    shutil.copytree(synthetic_small, root / "data" / "synthetic")
    monkeypatch.chdir(root / "notebooks")
    assert project_root() == root.resolve()
    assert project_path("data/synthetic") == root.resolve() / "data" / "synthetic"
    assert set(load("data/synthetic", tables=["clusters"])) == {"clusters"}


def test_paths_that_exist_nowhere_are_left_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert project_root() is None
    assert str(project_path("data/nowhere")) == "data/nowhere"


def test_a_copy_of_the_layout_without_pyproject_is_found_from_its_notebooks_folder(
    tmp_path, monkeypatch
):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "qualitative" / "demo").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "notebooks")
    assert project_path("qualitative/demo") == tmp_path / "qualitative" / "demo"


def test_default_folders_are_written_once_in_evaluation_paths():
    from evaluation.batch.cli import run
    from evaluation.batch.runner import BatchSettings
    from evaluation.data.cli import synth

    options = {option.name: option for option in run.params}
    assert options["data_dir"].default == DEFAULT_DATA_DIR == BatchSettings().data_dir
    assert options["out_dir"].default == DEFAULT_OUTPUTS_DIR == BatchSettings().out_dir
    assert options["notebooks_dir"].default == DEFAULT_NOTEBOOKS_DIR
    assert options["parameters_dir"].default == DEFAULT_PARAMETERS_DIR
    assert str(DEMO_STORE) in options["qualitative_store"].help
    assert {o.name: o for o in synth.params}["out"].default == DEFAULT_DATA_DIR

    # no code in the bottom layer, data, batch or reports spells a default folder itself
    src = Path(__file__).resolve().parents[2] / "src" / "evaluation"
    spelled = {str(DEFAULT_DATA_DIR), str(DEMO_STORE)}  # ("outputs" is also a notebook key)
    modules = [*src.glob("*.py"), *(src / "data").glob("*.py"), *(src / "batch").glob("*.py")]
    modules += (src / "reports").glob("*.py")
    for module in modules:
        if module.name == "paths.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in spelled:
                raise AssertionError(f"{module.name}:{node.lineno} spells {node.value!r}")
