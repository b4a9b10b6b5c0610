"""Where the project is, so relative paths mean the same from the shell and from a notebook.

`make run` and the CLI work from the project folder, but Jupyter starts a notebook's kernel in
the notebook's own folder (notebooks/): there "data/synthetic" would point nowhere. Relative
paths that do not exist where we are are therefore also tried from the project folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DEFAULT_CODING_STORE",
    "DEFAULT_DATA_DIR",
    "DEFAULT_NOTEBOOKS_DIR",
    "DEFAULT_OUTPUTS_DIR",
    "DEFAULT_PARAMETERS_DIR",
    "DEMO_STORE",
    "project_path",
    "project_root",
]

# The project's default folders, relative to the project folder (`make run` and the CLI work
# from there; notebooks find them through project_path). Written once here so that a CLI
# default, a runner default and an error message's advice cannot drift apart.

#: the synthetic national data set, as `make data` / `workbench data synth` write it
DEFAULT_DATA_DIR = Path("data/synthetic")
#: where `workbench run` puts its run folders (and the `latest` link)
DEFAULT_OUTPUTS_DIR = Path("outputs")
#: one YAML file per region (and sweeps/), read by `workbench run`
DEFAULT_PARAMETERS_DIR = Path("parameters")
#: the notebooks `workbench run` runs
DEFAULT_NOTEBOOKS_DIR = Path("notebooks")
#: the demo coding store (25 synthetic interviews), built by `workbench qual demo`
DEMO_STORE = Path("qualitative/demo/coding.sqlite")
#: the user's own coding store, made by `workbench qual init`
DEFAULT_CODING_STORE = Path("qualitative/coding.sqlite")


def project_root(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the current folder) that holds this
    project's pyproject.toml, or None outside a checkout."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        marker = folder / "pyproject.toml"
        if marker.is_file() and 'name = "evaluation"' in marker.read_text(
            encoding="utf-8", errors="replace"
        ):
            return folder
    return None


def project_path(path: str | os.PathLike) -> Path:
    """``path`` as given if it is absolute or exists from here; else the same relative path
    from the project folder (or from the parent of a ``notebooks/`` working folder), if it
    exists there; else ``path`` unchanged (so errors name what the user wrote).

    >>> project_path("/tmp") == Path("/tmp")
    True
    """
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    here = Path.cwd()
    # the checkout's folder, or - for a copy of the layout without pyproject.toml - the folder
    # that holds notebooks/
    roots = [project_root(here), here.parent if here.name == "notebooks" else None]
    for root in roots:
        if root is not None and (root / path).exists():
            return root / path
    return path
