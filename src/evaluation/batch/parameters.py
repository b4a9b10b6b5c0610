"""Parameter files and the grid of notebook runs, checked before anything runs.

The folder ``parameters/`` holds one YAML file per region and, in ``parameters/sweeps/``, one file
per sweep. A region file is a flat mapping of the values every region notebook receives::

    # parameters/hovedstaden.yml
    region: hovedstaden
    indicator: nsaid
    topic: nsaid
    study_start: "2016-01"
    study_end: "2023-12"

A sweep file varies some of them; each variation is run for every region file::

    # parameters/sweeps/indicators.yml
    description: every prescribing indicator with the meeting topic meant to change it
    notebooks: [01_prescribing_impact]      # optional: default every region notebook
    vary:
      - {indicator: antibiotics, topic: antibiotics_respiratory}
      - {indicator: eye_antibiotics, topic: conjunctivitis}

``data_dir`` (and ``results_dir`` for summary notebooks) are set by ``workbench run`` itself and
may not appear in the files; so is ``qualitative_store`` when ``--qualitative-store`` is given.
``cluster.yml`` in the same folder holds the Slurm settings (:mod:`evaluation.batch.cluster`),
not a region. A notebook whose parameters cell declares ``results_dir`` is a
*summary*: it runs once, after every region notebook, and reads their recorded results.

:func:`check_grid` compares each run's values with the notebook's parameters cell, read by
:func:`papermill.inspect_notebook`: unknown names, values of the wrong type (judged from the
annotation, else from the default's literal), missing values (a default of ``None`` means "must
be given") and values outside the catalogue (regions, indicators, topics, months) are collected
and raised together as one :class:`ParameterError`.

Example
-------
>>> from pathlib import Path
>>> sets = load_parameter_sets(Path("parameters"))            # doctest: +SKIP
>>> jobs = build_grid(notebooks, sets, data_dir=Path("data/synthetic").resolve())  # doctest: +SKIP
>>> check_grid(jobs)                                          # doctest: +SKIP
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evaluation.data.catalogue import INDICATOR_BY_KEY, REGION_NAMES, TOPICS
from evaluation.errors import InputError
from evaluation.i18n import LANGUAGES

INJECTED = ("data_dir", "results_dir")
SUMMARY_MARKER = "results_dir"
#: a notebook whose parameters cell declares ``cluster_id`` writes one report per cluster: it is
#: run by ``workbench run --per-cluster`` only, never once per region file
CLUSTER_MARKER = "cluster_id"
#: what ``--per-cluster`` sets itself for each cluster job (never taken from a region file)
CLUSTER_INJECTED = ("region", "cluster_id", "lang")
#: parameters of the cluster report whose default None means "the notebook chooses" (the shared
#: contract of notebook 05: the cluster's topic indicators plus NSAIDs), not "must be given"
CLUSTER_OPTIONAL = ("indicators",)
STORE_PARAMETER = (
    "qualitative_store"  # set for every notebook by `workbench run --qualitative-store`
)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ParameterError(InputError):
    """Every problem found in the parameter files and notebooks, reported together."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{len(problems)} problem(s) with the parameters; nothing was run:\n{listing}\n"
            "Fix the files named above (the notebook's parameters cell lists what it accepts), "
            "then run again."
        )


@dataclass(frozen=True)
class ParameterSet:
    """One region file, possibly with a sweep's variation applied."""

    name: str  # the file stem, e.g. "hovedstaden"
    source: Path
    values: dict[str, Any]
    sweep: str | None = None
    variation: dict[str, Any] = field(default_factory=dict)
    notebooks: tuple[str, ...] | None = None  # sweep restricted to these notebook stems

    @property
    def key(self) -> str:
        if not self.variation:
            return self.name
        extra = ",".join(f"{k}={v}" for k, v in self.variation.items())
        return f"{self.name}--{extra}"


@dataclass(frozen=True)
class Job:
    """One notebook run with one set of parameters."""

    job_id: str
    notebook: Path
    parameters: dict[str, Any]
    kind: str  # "region", "summary" or "cluster"
    source: str  # where the values came from, for error messages and the index
    label: str
    # a cluster job's report, inside the run folder ("hovedstaden/C001-da.html"); None: the
    # usual reports/<job_id>.html
    report_name: str | None = None
    cluster: dict[str, Any] | None = None  # a cluster job's {id, name, region, lang}

    def to_dict(self) -> dict[str, Any]:
        entry = {
            "job_id": self.job_id,
            "notebook": str(self.notebook),
            "parameters": self.parameters,
            "kind": self.kind,
            "source": self.source,
            "label": self.label,
        }
        if self.report_name is not None:
            entry["report_name"] = self.report_name
        if self.cluster is not None:
            entry["cluster"] = dict(self.cluster)
        return entry


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}).")
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text; save it as UTF-8.")
    return None


def _check_flat_mapping(path: Path, data: Any, problems: list[str]) -> dict[str, Any] | None:
    if data is None:
        problems.append(
            f"{path}: empty; expected 'name: value' lines such as 'region: hovedstaden'."
        )
        return None
    if not isinstance(data, dict):
        problems.append(
            f"{path}: expected a mapping of parameter names to values, found {type(data).__name__}."
        )
        return None
    for key in data:
        if key in INJECTED:
            problems.append(
                f"{path}: '{key}' is set by `workbench run` (--data / the run folder); "
                "remove it from the file."
            )
    return {k: v for k, v in data.items() if k not in INJECTED}


def load_parameter_sets(folder: Path, sweeps: tuple[str, ...] = ()) -> list[ParameterSet]:
    """Read ``folder/*.yml`` (one per region) and expand the named sweeps from ``folder/sweeps``;
    raise one :class:`ParameterError` listing every problem."""
    sets, problems = read_parameter_sets(folder, sweeps)
    if problems:
        raise ParameterError(problems)
    return sets


def read_parameter_sets(
    folder: Path, sweeps: tuple[str, ...] = ()
) -> tuple[list[ParameterSet], list[str]]:
    """The parameter sets of every well-formed file in ``folder`` (and the named sweeps), and the
    problems of the others: one malformed file must not hide what is wrong in the rest, so the
    good files still go on to be checked against the notebooks (``workbench run``)."""
    folder = Path(folder)
    problems: list[str] = []
    if not folder.is_dir():
        return [], [f"{folder}: no such folder; expected one YAML file per region there."]
    files = sorted(
        path
        for path in list(folder.glob("*.yml")) + list(folder.glob("*.yaml"))
        if path.name != "cluster.yml"  # the Slurm settings (evaluation.batch.cluster), no region
    )
    if not files:
        return [], [f"{folder}: no .yml files; expected one per region, e.g. hovedstaden.yml."]
    base: list[ParameterSet] = []
    for path in files:
        values = _check_flat_mapping(path, _read_yaml(path, problems), problems)
        if values is not None:
            base.append(ParameterSet(path.stem, path, values))
    sets = list(base)
    for sweep in sweeps:
        path = folder / "sweeps" / f"{sweep}.yml"
        if not path.exists():
            known = sorted(p.stem for p in (folder / "sweeps").glob("*.yml"))
            problems.append(
                f"sweep '{sweep}': no file {path}; known sweeps: {', '.join(known) or 'none'}."
            )
            continue
        data = _read_yaml(path, problems)
        if not isinstance(data, dict) or not isinstance(data.get("vary"), list) or not data["vary"]:
            problems.append(
                f"{path}: expected a mapping with 'vary:' listing one or more variations."
            )
            continue
        unknown_keys = set(data) - {"description", "notebooks", "vary"}
        if unknown_keys:
            problems.append(
                f"{path}: unknown key(s) {sorted(unknown_keys)}; allowed: description, "
                "notebooks, vary."
            )
        notebooks = data.get("notebooks")
        if notebooks is not None and not (
            isinstance(notebooks, list) and all(isinstance(n, str) for n in notebooks)
        ):
            problems.append(
                f"{path}: 'notebooks' must be a list of notebook names such as "
                "01_prescribing_impact."
            )
            notebooks = None
        for number, variation in enumerate(data["vary"], start=1):
            variation = _check_flat_mapping(
                Path(f"{path} (variation {number})"), variation, problems
            )
            if variation is None:
                continue
            for region_set in base:
                sets.append(
                    ParameterSet(
                        region_set.name,
                        path,
                        {**region_set.values, **variation},
                        sweep,
                        variation,
                        tuple(notebooks) if notebooks else None,
                    )
                )
    return sets, problems


def declared_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell as papermill reads it.

    Returns name -> {inferred_type_name, default, help}.

    A notebook saved without kernel metadata is read as Python (the batch runs it with the
    project's Python kernel anyway).
    """
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    try:
        nb = load_notebook_node(str(notebook))
    except Exception as exc:
        raise ParameterError(
            [f"{notebook}: not a readable notebook ({type(exc).__name__}: {exc})."]
        ) from None
    kernelspec = nb.metadata.get("kernelspec", {})
    name = kernelspec.get("name") or "python3"
    language = (
        kernelspec.get("language") or nb.metadata.get("language_info", {}).get("name") or "python"
    )
    return {p.name: p._asdict() for p in _infer_parameters(nb, name=name, language=language)}


def notebook_imports(notebook: Path) -> tuple[str, ...]:
    """Modules a notebook imports at the top level of its code cells, in order of appearance.

    The batch runner imports these in each spare kernel before the notebook starts, so a
    notebook's import cell finds them loaded. Magics and shell lines are skipped; a cell that
    does not parse as Python is ignored; relative imports are left out.
    """
    import json

    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return ()
    modules: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.append(node.module)
    return tuple(dict.fromkeys(modules))


def find_notebooks(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` in ``folder`` (not checkpoints), in name order."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,-]+", "_", text)


def is_cluster_notebook(declared: dict[str, dict[str, Any]]) -> bool:
    """True if a notebook's parameters cell (as :func:`declared_parameters` reads it) declares
    ``cluster_id``: a per-cluster report, run by ``workbench run --per-cluster`` only."""
    return CLUSTER_MARKER in declared


@dataclass(frozen=True)
class Cluster:
    """One quality cluster as the data folder's ``clusters`` table lists it."""

    cluster_id: str
    name: str | None
    region: str  # the region's slug, e.g. "hovedstaden"


def cluster_report_name(cluster: Cluster, lang: str) -> str:
    """Where a cluster's report goes in the run folder, named so a quality unit can mail it:
    ``<region>/<cluster>-<lang>.html``.

    >>> cluster_report_name(Cluster("C001", "Klynge Nord", "hovedstaden"), "da")
    'hovedstaden/C001-da.html'
    """
    return f"{_slug(cluster.region)}/{_slug(cluster.cluster_id)}-{lang}.html"


def build_cluster_grid(
    notebooks: list[Path],
    clusters: list[Cluster],
    langs: tuple[str, ...],
    data_dir: Path,
    region_values: dict[str, dict[str, Any]] | None = None,
    declared: dict[Path, dict[str, dict[str, Any]]] | None = None,
) -> list[Job]:
    """One job per cluster notebook x cluster x language (``workbench run --per-cluster``).

    Each job gets ``region`` (the slug), ``cluster_id``, ``lang`` and ``data_dir``; from the
    cluster's region file (``region_values[slug]``, e.g. parameters/hovedstaden.yml) it takes
    the values the notebook also declares, such as the study window, so cluster and region
    reports cover the same months. Jobs are ordered by region, cluster and language.

    >>> from pathlib import Path
    >>> nb = Path("05_cluster_feedback.ipynb")
    >>> declared = {nb: {"region": {}, "cluster_id": {}, "lang": {}, "data_dir": {},
    ...                  "study_start": {}}}
    >>> jobs = build_cluster_grid([nb], [Cluster("C001", "Klynge Nord", "hovedstaden")],
    ...                           ("da", "en"), Path("/data"),
    ...                           {"hovedstaden": {"study_start": "2017-01", "indicator": "nsaid"}},
    ...                           declared)
    >>> [(job.job_id, job.report_name) for job in jobs]
    [('05_cluster_feedback--C001-da', 'hovedstaden/C001-da.html'), \
('05_cluster_feedback--C001-en', 'hovedstaden/C001-en.html')]
    >>> jobs[0].parameters
    {'study_start': '2017-01', 'region': 'hovedstaden', 'cluster_id': 'C001', 'lang': 'da', \
'data_dir': '/data'}
    """
    declared = (
        declared if declared is not None else {nb: declared_parameters(nb) for nb in notebooks}
    )
    region_values = region_values or {}
    jobs: list[Job] = []
    for notebook in notebooks:
        params = declared[notebook]
        for cluster in clusters:
            from_region = {
                key: value
                for key, value in region_values.get(cluster.region, {}).items()
                if key in params and key not in CLUSTER_INJECTED
            }
            for lang in langs:
                values = {
                    **from_region,
                    "region": cluster.region,
                    "cluster_id": cluster.cluster_id,
                    "lang": lang,
                }
                if "data_dir" in params:
                    values["data_dir"] = str(data_dir)
                region_name = REGION_NAMES.get(cluster.region, cluster.region)
                jobs.append(
                    Job(
                        _slug(f"{notebook.stem}--{cluster.cluster_id}-{lang}"),
                        notebook,
                        values,
                        "cluster",
                        f"clusters table of the data folder ({cluster.cluster_id})",
                        " · ".join([region_name, cluster.name or cluster.cluster_id, lang]),
                        report_name=cluster_report_name(cluster, lang),
                        cluster={
                            "id": cluster.cluster_id,
                            "name": cluster.name,
                            "region": cluster.region,
                            "lang": lang,
                        },
                    )
                )
    return jobs


def _label(values: dict[str, Any]) -> str:
    parts = []
    if "region" in values:
        parts.append(REGION_NAMES.get(values["region"], str(values["region"])))
    for key in ("indicator", "topic"):
        if key in values:
            parts.append(f"{key} {values[key]}")
    return " · ".join(parts) or "defaults"


def build_grid(
    notebooks: list[Path],
    parameter_sets: list[ParameterSet],
    data_dir: Path,
    results_dir: Path,
    declared: dict[Path, dict[str, dict[str, Any]]] | None = None,
    qualitative_store: Path | None = None,
) -> list[Job]:
    """Region notebooks x parameter sets, then one run per summary notebook. Cluster notebooks
    (declaring :data:`CLUSTER_MARKER`) are not part of this grid.

    ``qualitative_store`` (``workbench run --qualitative-store``) is given to every notebook that
    declares a ``qualitative_store`` parameter, in place of its default."""
    declared = (
        declared if declared is not None else {nb: declared_parameters(nb) for nb in notebooks}
    )
    jobs: list[Job] = []
    summaries: list[Job] = []
    for notebook in notebooks:
        params = declared[notebook]
        if is_cluster_notebook(params):  # one report per cluster: --per-cluster runs those
            continue
        injected = {"data_dir": str(data_dir)} if "data_dir" in params else {}
        if qualitative_store is not None and STORE_PARAMETER in params:
            injected[STORE_PARAMETER] = str(qualitative_store)
        if SUMMARY_MARKER in params:
            summaries.append(
                Job(
                    notebook.stem,
                    notebook,
                    {**injected, "results_dir": str(results_dir)},
                    "summary",
                    "workbench run",
                    "national summary",
                )
            )
            continue
        if CLUSTER_MARKER in params:  # a cluster report: the region grid leaves it out
            continue
        for pset in parameter_sets:
            if pset.notebooks is not None and notebook.stem not in pset.notebooks:
                continue
            values = {**pset.values, **injected}
            jobs.append(
                Job(
                    _slug(f"{notebook.stem}--{pset.key}"),
                    notebook,
                    values,
                    "region",
                    str(pset.source) + (f" (sweep {pset.sweep})" if pset.sweep else ""),
                    _label(values),
                )
            )
    return jobs + summaries


def _type_of_default(info: dict[str, Any]) -> tuple[str | None, bool]:
    """(expected type name or None for 'any', required?) from papermill's view of a parameter."""
    annotated = info.get("inferred_type_name") or "None"
    default = info.get("default")
    try:
        literal = ast.literal_eval(default) if default is not None else None
    except (ValueError, SyntaxError):
        literal = ...  # an expression: we cannot tell its type; accept anything
    required = default is None or (literal is None)
    if annotated not in ("None", ""):
        name = annotated.replace("typing.", "")
        optional = name.startswith("Optional[") or "None" in name
        inner = re.sub(r"^Optional\[(.*)\]$", r"\1", name)
        return (
            inner if inner in ("str", "int", "float", "bool", "list", "dict") else None
        ), required and not optional
    if literal is ... or literal is None:
        return None, required
    return type(literal).__name__, False


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return type(value).__name__ == expected or (expected == "list" and isinstance(value, tuple))


def _catalogue_problems(values: dict[str, Any]) -> list[str]:
    problems = []
    if "region" in values and values["region"] not in REGION_NAMES:
        problems.append(f"region '{values['region']}' is not one of {', '.join(REGION_NAMES)}")
    if "indicator" in values and values["indicator"] not in INDICATOR_BY_KEY:
        problems.append(
            f"indicator '{values['indicator']}' is not one of {', '.join(INDICATOR_BY_KEY)}"
        )
    if "topic" in values and values["topic"] not in TOPICS:
        problems.append(f"topic '{values['topic']}' is not one of {', '.join(TOPICS)}")
    if "lang" in values and values["lang"] not in LANGUAGES:
        problems.append(f"lang '{values['lang']}': reports are written in {' or '.join(LANGUAGES)}")
    months = {}
    for key in ("study_start", "study_end"):
        if key in values and values[key] is not None:
            if not (isinstance(values[key], str) and _MONTH.match(values[key])):
                problems.append(
                    f"{key} {values[key]!r} is not a month written YYYY-MM "
                    '(quote it in YAML: "2016-01")'
                )
            else:
                months[key] = values[key]
    if len(months) == 2 and months["study_start"] > months["study_end"]:
        problems.append(
            f"study_start {months['study_start']} is after study_end {months['study_end']}"
        )
    return problems


@dataclass(frozen=True)
class Finding:
    """One problem of the grid: the parameter file it is in, the notebook it was checked against
    (None when it is about the file's values alone) and what is wrong."""

    file: str
    notebook: str | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file} -> {self.notebook}: {self.message}"
            if self.notebook
            else (f"{self.file}: {self.message}")
        )


def check_grid(
    jobs: list[Job], declared: dict[Path, dict[str, dict[str, Any]]] | None = None
) -> None:
    """Raise one :class:`ParameterError` listing every problem in the grid, or return quietly."""
    findings = grid_findings(jobs, declared)
    if findings:
        raise ParameterError([str(finding) for finding in findings])


def grid_findings(
    jobs: list[Job], declared: dict[Path, dict[str, dict[str, Any]]] | None = None
) -> list[Finding]:
    """Every problem of the grid, each once: a value checked against several notebooks is
    named per notebook only where the notebooks disagree (unknown, ill-typed, missing), and a
    value no notebook accepts (an unknown region, topic or month) once for its file."""
    declared = declared if declared is not None else {}
    findings: list[Finding] = []
    for job in jobs:
        if job.notebook not in declared:
            declared[job.notebook] = declared_parameters(job.notebook)
        params = declared[job.notebook]
        source, notebook = job.source, job.notebook.name
        if not params:
            findings.append(
                Finding(
                    str(job.notebook),
                    None,
                    "has no cell tagged 'parameters'; tag the cell that sets region, indicator, "
                    "... (JupyterLab: property inspector -> cell tags).",
                )
            )
            continue
        for name, value in job.parameters.items():
            if name not in params:
                close = difflib.get_close_matches(name, list(params), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                findings.append(
                    Finding(
                        source,
                        notebook,
                        f"unknown parameter '{name}'{hint} The notebook declares: "
                        f"{', '.join(params)}.",
                    )
                )
                continue
            expected, _ = _type_of_default(params[name])
            if value is None:
                findings.append(
                    Finding(source, notebook, f"parameter '{name}' has no value; give one.")
                )
            elif expected and not _type_ok(value, expected):
                findings.append(
                    Finding(
                        source,
                        notebook,
                        f"parameter '{name}' should be {expected} (the notebook's default is "
                        f"{params[name].get('default')}), got {type(value).__name__} {value!r}.",
                    )
                )
        for name, info in params.items():
            _, required = _type_of_default(info)
            if job.kind == "cluster" and name in CLUSTER_OPTIONAL:
                required = False
            if required and name not in job.parameters:
                findings.append(
                    Finding(
                        source,
                        notebook,
                        f"parameter '{name}' is required (its default is None) but not given; "
                        "add it to the parameter file.",
                    )
                )
        for problem in _catalogue_problems(job.parameters):
            findings.append(Finding(source, None, f"{problem}."))
    return list(dict.fromkeys(findings))
