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
    pip = next(
        item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item
    )
    listed = [p for p in pip if not p.startswith("-e")]
    wanted_names, listed_names = set(map(_normalise, wanted)), set(map(_normalise, listed))
    assert sorted(map(_normalise, listed)) == sorted(map(_normalise, wanted)), (
        "environment.yml has drifted from pyproject.toml: "
        f"only in pyproject: {sorted(wanted_names - listed_names)}; "
        f"only in environment.yml: {sorted(listed_names - wanted_names)}"
    )
    assert any(str(item).startswith("python=3.11") for item in env["dependencies"])


def test_lock_file_pins_every_dependency_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {
        m.group(1).lower().replace("_", "-")
        for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", lock, re.M)
    }
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert _name(requirement) in pinned, (
            f"{requirement} is not pinned in requirements.lock (run `make lock`)"
        )


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            assert not cell.get("outputs"), (
                f"{path.name} cell {i} has outputs: clear them before committing"
            )
            assert not cell.get("execution_count"), f"{path.name} cell {i} has an execution count"


AGREED_PARAMETERS = {
    "region": "hovedstaden",
    "indicator": "nsaid",
    "topic": "nsaid",
    "study_start": "2016-01",
    "study_end": "2023-12",
    "data_dir": "data/synthetic",
}
REGION_NOTEBOOKS = (
    "01_prescribing_impact.ipynb",
    "02_meeting_attendance.ipynb",
    "03_interview_themes.ipynb",
)


def notebook_parameters(name: str) -> dict:
    """The defaults of a notebook's one code cell tagged "parameters" (asserted to be one)."""
    nb = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    tagged = [
        c
        for c in nb["cells"]
        if c["cell_type"] == "code" and "parameters" in c["metadata"].get("tags", [])
    ]
    assert len(tagged) == 1, (
        f"{name}: expected one code cell tagged 'parameters', found {len(tagged)}"
    )
    namespace: dict = {}
    exec("".join(tagged[0]["source"]), namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


def test_region_notebooks_declare_the_agreed_parameters():
    for name in REGION_NOTEBOOKS:
        defaults = notebook_parameters(name)
        assert {k: defaults.get(k) for k in AGREED_PARAMETERS} == AGREED_PARAMETERS, name


def test_generated_folders_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text()
    for folder in ("/data/", "/outputs/*", "/.venv/"):
        assert folder in ignored


#: the parameters of the cluster feedback report, shared with `workbench run --per-cluster`
CLUSTER_REPORT_PARAMETERS = {
    "data_dir": "data/synthetic",
    "region": "hovedstaden",
    "cluster_id": "C001",
    "indicators": None,
    "lang": "da",
    "study_start": "2016-01",
    "study_end": "2023-12",
}


def test_the_cluster_report_declares_the_agreed_parameters():
    assert notebook_parameters("05_cluster_feedback.ipynb") == CLUSTER_REPORT_PARAMETERS
