"""Relative data paths work from notebooks/, where Jupyter starts a notebook's kernel."""

from __future__ import annotations

import shutil

from evaluation.data import load
from evaluation.paths import project_path, project_root


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
