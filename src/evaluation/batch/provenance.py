"""What a run depended on: data checksums, the notebook, package versions, the git commit.

These go into every report's run metadata and into ``manifest.json``; :func:`job_fingerprint`
folds them into the single hash that ``workbench run --resume`` compares to decide whether a
finished run is still current.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from evaluation.errors import MissingFileError
from evaluation.paths import DEFAULT_DATA_DIR

#: packages whose versions are shown in reports and taken into the resume fingerprint
TRACKED_PACKAGES = (
    "evaluation",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "duckdb",
    "pyarrow",
    "papermill",
    "nbconvert",
    "ipykernel",
)
_CHUNK = 1 << 20
#: what truth.json of the synthetic set names as its generator (evaluation.data.synth)
SYNTHETIC_GENERATOR = "evaluation.data.synth"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def data_checksums(data_dir: Path) -> dict[str, str]:
    """sha256 of every file under ``data_dir`` by relative path (hidden files and temporaries
    skipped)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise MissingFileError(
            f"{data_dir}: no such data folder. Generate the demo data with "
            f"`workbench data synth --out {DEFAULT_DATA_DIR}`, or pass --data with a folder in "
            "the canonical layout."
        )
    sums = {}
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            sums[rel.as_posix()] = file_sha256(path)
    return sums


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def synthetic_data(data_dir: Path) -> dict[str, Any] | None:
    """{"seed", "scale"} if ``data_dir`` is the workbench's synthetic set, else None.

    The set is recognised by the ``truth.json`` that :func:`evaluation.data.synth.write_synthetic`
    writes beside the tables, naming its generator; reports then carry a "synthetic demo data"
    banner.
    """
    truth = Path(data_dir) / "truth.json"
    if not truth.is_file():
        return None
    try:
        content = json.loads(truth.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("generator") != SYNTHETIC_GENERATOR:
        return None
    return {"seed": content.get("seed"), "scale": content.get("scale")}


def git_commit(folder: Path | None = None) -> dict[str, Any]:
    """The commit the notebooks came from, and whether the work tree had uncommitted changes."""
    folder = Path(folder or os.getcwd())
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return {"commit": head, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def notebook_sha256(path: Path) -> str:
    return file_sha256(Path(path))


def job_fingerprint(
    notebook_sha: str,
    parameters: dict[str, Any],
    data_sums: dict[str, str],
    versions: dict[str, str],
    settings: dict[str, Any],
) -> str:
    """One hash of everything a run's result depends on."""
    payload = json.dumps(
        {
            "notebook": notebook_sha,
            "parameters": parameters,
            "data": data_sums,
            "versions": versions,
            "settings": settings,
            "python": sys.version_info[:2],
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
