"""Promises about the project's own files: environments agree, notebooks carry no outputs."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _normalise(requirement: str) -> str:
    return requirement.replace(" ", "").lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item)
    listed = [p for p in pip if not p.startswith("-e")]
    assert sorted(map(_normalise, listed)) == sorted(map(_normalise, wanted)), (
        "environment.yml has drifted from pyproject.toml: "
        f"only in pyproject: {sorted(set(map(_normalise, wanted)) - set(map(_normalise, listed)))}; "
        f"only in environment.yml: {sorted(set(map(_normalise, listed)) - set(map(_normalise, wanted)))}"
    )
    assert any(str(item).startswith("python=3.11") for item in env["dependencies"])


def test_lock_file_pins_every_dependency_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", lock, re.M)}
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert _name(requirement) in pinned, f"{requirement} is not pinned in requirements.lock (run `make lock`)"


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs: clear them before committing"
            assert not cell.get("execution_count"), f"{path.name} cell {i} has an execution count"


def test_region_notebooks_declare_the_agreed_parameters():
    import papermill

    for name in ("01_prescribing_impact.ipynb",):
        params = papermill.inspect_notebook(str(ROOT / "notebooks" / name))
        assert {"region", "indicator", "topic", "study_start", "study_end", "data_dir"} <= set(params)


def test_generated_folders_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text()
    for folder in ("/data/", "/outputs/*", "/.venv/"):
        assert folder in ignored
