"""Everything ``workbench run`` checks before it runs anything, reported together.

The output folder (writable, a folder), the notebooks (found, matching ``-n``), the regions
(``-r``, with suggestions and Danish names), the coding store, the data folder (as
``workbench data check`` does) and every parameter file against every notebook. One malformed
file does not hide the others' problems, and a problem reached through several notebooks is
listed once. Any problem stops the run with one :class:`RunCheckError` grouped by file; nothing
has been written by then (no run folder, ``outputs/latest`` untouched).
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evaluation.batch import parameters as params_mod
from evaluation.batch.errors import BatchError
from evaluation.batch.parameters import ParameterError
from evaluation.data.catalogue import REGIONS
from evaluation.errors import EvaluationError
from evaluation.files import check_output_folder

# ``settings`` below is an evaluation.batch.runner.BatchSettings; not imported, as the runner
# imports this module
BatchSettings = Any

__all__ = ["RunCheckError", "check_before_run", "region_slug", "suggest"]

#: the key under which problems of the run's options (not of a file) are grouped
OPTIONS = "workbench run options"


class RunCheckError(ParameterError, BatchError):
    """Every problem found before ``workbench run`` started, grouped by the file (or option)
    it is in. A :class:`ParameterError` and a :class:`BatchError`, as the checks it gathers
    used to raise one or the other."""

    def __init__(self, problems_by_file: dict[str, list[str]]):
        self.problems_by_file = problems_by_file
        self.problems = [f"{file}: {p}" for file, items in problems_by_file.items() for p in items]
        n = len(self.problems)
        lines = [f"{n} problem(s) found before the run; nothing was run and nothing was written:"]
        for file, items in problems_by_file.items():
            lines.append(f"{file}:")
            lines += [f"  - {item}" for item in items]
        lines.append("Fix them, then run again.")
        Exception.__init__(self, "\n".join(lines))


def suggest(name: str, known: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the known name closest to ``name`` (any case), else "".

    >>> suggest("sjeland", ["hovedstaden", "sjaelland"])
    "; did you mean 'sjaelland'?"
    """
    known = list(known)
    by_fold = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(name.casefold(), list(by_fold), n=1, cutoff=0.6)
    return f"; did you mean '{by_fold[close[0]]}'?" if close else ""


def _ascii_fold(text: str) -> str:
    text = text.casefold().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]+", "", text.encode("ascii", "ignore").decode())


def region_slug(name: str) -> str | None:
    """The region slug ``name`` stands for, in any case, as slug or Danish name (with or without
    "Region"), or None when it names no region or more than one.

    >>> region_slug("Sjælland"), region_slug("SJAELLAND"), region_slug("Region Midtjylland")
    ('sjaelland', 'sjaelland', 'midtjylland')
    >>> region_slug("jylland") is None
    True
    """
    folded = _ascii_fold(name).removeprefix("region")
    matches = {
        region.slug
        for region in REGIONS
        if folded in (_ascii_fold(region.slug), _ascii_fold(region.name))
    }
    return matches.pop() if len(matches) == 1 else None


def _where_to_run() -> str:
    """A hint saying where ``workbench run`` expects to be started."""
    here = Path.cwd()
    if here.name == "notebooks" or any(here.glob("*.ipynb")):
        return (
            f" You are in {here}, a notebooks folder: run from the project root, {here.parent} "
            "(cd ..), or pass --notebooks and --parameters."
        )
    return (
        " Start `workbench run` in the project root (the folder with notebooks/ and "
        "parameters/), or pass --notebooks and --parameters."
    )


def _select_notebooks(settings: BatchSettings, problems: dict[str, list[str]]) -> list[Path]:
    folder = Path(settings.notebooks_dir)
    if not folder.is_dir():
        problems.setdefault(OPTIONS, []).append(
            f"--notebooks {folder}: no such folder.{_where_to_run()}"
        )
        return []
    notebooks = params_mod.find_notebooks(folder)
    if not notebooks:
        problems.setdefault(OPTIONS, []).append(
            f"--notebooks {folder}: no notebooks to run.{_where_to_run()}"
        )
        return []
    if not settings.notebooks:
        return notebooks
    chosen = []
    for pattern in settings.notebooks:
        matched = [
            nb
            for nb in notebooks
            if fnmatch.fnmatch(nb.stem, pattern) or fnmatch.fnmatch(nb.name, pattern)
        ]
        if not matched:
            names = [nb.stem for nb in notebooks]
            problems.setdefault(OPTIONS, []).append(
                f"-n {pattern}: no notebook in {folder} matches{suggest(pattern, names)} "
                f"The notebooks are: {', '.join(names)}."
            )
        chosen += [nb for nb in matched if nb not in chosen]
    return [nb for nb in notebooks if nb in chosen]


def _select_regions(
    settings: BatchSettings, sets: list[params_mod.ParameterSet], problems: dict[str, list[str]]
) -> list[params_mod.ParameterSet]:
    if not settings.regions or not sets:
        return sets
    names = {s.name for s in sets} | {str(s.values.get("region")) for s in sets}
    wanted = set()
    for requested in settings.regions:
        if requested in names:
            wanted.add(requested)
            continue
        slug = region_slug(requested)
        if slug is not None and slug in names:
            wanted.add(slug)
            continue
        problems.setdefault(OPTIONS, []).append(
            f"-r {requested}: no parameter file in {settings.parameters_dir} for this region"
            f"{suggest(slug or requested, sorted(names))} Known: {', '.join(sorted(names))}."
        )
    return [s for s in sets if s.name in wanted or s.values.get("region") in wanted]


def read_clusters(data_dir: Path, problems: dict[str, list[str]]) -> list[params_mod.Cluster]:
    """The clusters the data folder's ``clusters`` table lists, in the order of the regions
    (as :data:`~evaluation.data.catalogue.REGIONS`) and then of their ids; its problems (no
    table, a malformed one, no rows) go to ``problems`` under the table's file."""
    from evaluation.data.io import find_table_file, read_canonical

    data_dir = Path(data_dir)
    where = f"{data_dir} (--data)"
    if not data_dir.is_dir():
        problems.setdefault(where, []).append(
            "no such folder; --per-cluster makes one report per cluster of its clusters table."
        )
        return []
    try:
        path = find_table_file(data_dir, "clusters")
    except EvaluationError as error:
        problems.setdefault(where, []).append(str(error))
        return []
    if path is None:
        problems.setdefault(where, []).append(
            "no clusters table (clusters.parquet, clusters.csv, ...): --per-cluster makes one "
            "report per cluster listed there. Add it (`workbench data check` lists the "
            "canonical tables), or run without --per-cluster."
        )
        return []
    frame, table_problems = read_canonical(path, "clusters")
    if table_problems:
        problems.setdefault(str(path), []).extend(str(problem) for problem in table_problems)
        return []
    if frame is None or frame.empty:
        problems.setdefault(str(path), []).append(
            "lists no clusters, so --per-cluster has no report to write; expected one row per "
            "quality cluster (cluster_id, region, ...)."
        )
        return []
    order = {region.slug: i for i, region in enumerate(REGIONS)}
    slugs = {region.name: region.slug for region in REGIONS}
    names = frame["cluster_name"] if "cluster_name" in frame.columns else [None] * len(frame)
    clusters = [
        params_mod.Cluster(
            str(cluster_id),
            str(name) if isinstance(name, str) and name.strip() else None,
            slugs.get(region, region),
        )
        for cluster_id, name, region in zip(frame["cluster_id"], names, frame["region"])
    ]
    return sorted(clusters, key=lambda c: (order.get(c.region, len(order)), c.cluster_id))


def _select_cluster_regions(
    settings: BatchSettings, clusters: list[params_mod.Cluster], problems: dict[str, list[str]]
) -> list[params_mod.Cluster]:
    """The clusters of the regions asked for with ``-r`` (all without it); an unknown region is
    a problem with the nearest name the data have."""
    if not settings.regions or not clusters:
        return clusters
    present = sorted({c.region for c in clusters}, key=[r.slug for r in REGIONS].index)
    wanted = set()
    for requested in settings.regions:
        slug = region_slug(requested)
        if slug is not None and slug in present:
            wanted.add(slug)
            continue
        known = ", ".join(present)
        why = (
            "its data folder has no cluster in this region"
            if slug is not None
            else "no region of that name"
        )
        hint = suggest(requested, present) if slug is None else ""  # a real region: no guess
        problems.setdefault(OPTIONS, []).append(
            f"-r {requested}: {why}{hint} Regions with clusters: {known}."
        )
    return [c for c in clusters if c.region in wanted]


def _check_langs(settings: BatchSettings, problems: dict[str, list[str]]) -> tuple[str, ...]:
    from evaluation.i18n import LANGUAGES

    langs = tuple(getattr(settings, "langs", ("da",)))
    if not langs:
        problems.setdefault(OPTIONS, []).append(
            f"--lang: no language given; reports are written in {' or '.join(LANGUAGES)}."
        )
    for lang in langs:
        if lang not in LANGUAGES:
            problems.setdefault(OPTIONS, []).append(
                f"--lang {lang}: reports are written in {' or '.join(LANGUAGES)}"
                f"{suggest(lang, LANGUAGES)} Give e.g. --lang da or --lang da,en."
            )
    return tuple(lang for lang in langs if lang in LANGUAGES)


def _data_problems(data_dir: Path, problems: dict[str, list[str]]) -> None:
    """``workbench data check``'s problems of ``data_dir``, under each file's name."""
    from evaluation.data.check import check_folder

    try:
        result = check_folder(data_dir)
    except EvaluationError as error:
        problems.setdefault(f"{data_dir} (--data)", []).append(str(error))
        return
    for problem in result.problems:
        where = problem.file or f"{data_dir}: table {problem.table}"
        problems.setdefault(where, []).append(str(problem))


def _parameter_file(problem: str, folder: Path) -> tuple[str, str]:
    """Split "parameters/x.yml line 2: not valid YAML" into its file and the rest."""
    match = re.match(
        r"^(.*?\.ya?ml)((?: \(variation \d+\))?(?: line \d+, column \d+)?): (.*)$", problem, re.S
    )
    if match:
        return match.group(1), (
            match.group(2).strip() + ": " if match.group(2) else ""
        ) + match.group(3)
    return str(folder), problem


def _grid_problems(findings: list[params_mod.Finding], problems: dict[str, list[str]]) -> None:
    """Findings grouped by file; the same message from several notebooks becomes one line."""
    notebooks_of: dict[tuple[str, str], list[str]] = {}
    for finding in findings:
        seen = notebooks_of.setdefault((finding.file, finding.message), [])
        if finding.notebook and finding.notebook not in seen:
            seen.append(finding.notebook)
    for (file, message), notebooks in notebooks_of.items():
        where = f" ({', '.join(notebooks)})" if notebooks else ""
        problems.setdefault(file, []).append(f"{message}{where}")


def _split_cluster_notebooks(
    settings: BatchSettings,
    notebooks: list[Path],
    declared: dict[Path, dict[str, Any]],
    per_cluster: bool,
    problems: dict[str, list[str]],
) -> list[Path]:
    """The notebooks this run executes: with ``--per-cluster`` only the cluster reports (whose
    parameters cell declares ``cluster_id``), without it only the others, so a plain
    ``workbench run`` is the region run it always was."""
    cluster_notebooks = [nb for nb in notebooks if params_mod.is_cluster_notebook(declared[nb])]
    if per_cluster:
        if notebooks and not cluster_notebooks:
            names = ", ".join(nb.name for nb in notebooks)
            problems.setdefault(OPTIONS, []).append(
                f"--per-cluster: no notebook in {settings.notebooks_dir} declares cluster_id in "
                f"its parameters cell (looked at {names}); the cluster report is "
                "05_cluster_feedback.ipynb."
            )
        return cluster_notebooks
    if settings.notebooks:
        for notebook in cluster_notebooks:
            problems.setdefault(OPTIONS, []).append(
                f"-n: {notebook.name} writes one report per cluster (it declares cluster_id); "
                "run it with --per-cluster."
            )
    region_notebooks = [nb for nb in notebooks if nb not in cluster_notebooks]
    if notebooks and not region_notebooks and not settings.notebooks:
        problems.setdefault(OPTIONS, []).append(
            f"--notebooks {settings.notebooks_dir}: only cluster reports there (they declare "
            "cluster_id); run them with --per-cluster."
        )
    return region_notebooks


def check_before_run(
    settings: BatchSettings,
) -> tuple[list[params_mod.Job], dict[Path, dict[str, Any]]]:
    """The checked grid for ``settings``, or one :class:`RunCheckError` listing every problem of
    the output folder, notebooks, regions, coding store, data folder and parameter files."""
    problems: dict[str, list[str]] = {}
    try:
        check_output_folder(settings.out_dir)
    except EvaluationError as error:
        problems.setdefault(OPTIONS, []).append(str(error))
    notebooks = _select_notebooks(settings, problems)
    sets, file_problems = params_mod.read_parameter_sets(settings.parameters_dir, settings.sweeps)
    for problem in file_problems:
        file, message = _parameter_file(problem, Path(settings.parameters_dir))
        problems.setdefault(file, []).append(message)
    per_cluster = bool(getattr(settings, "per_cluster", False))
    if per_cluster and settings.sweeps:
        problems.setdefault(OPTIONS, []).append(
            "--sweep varies the region reports' parameters; it cannot be combined with "
            "--per-cluster. Run the sweep without --per-cluster."
        )
    if not per_cluster:
        sets = _select_regions(settings, sets, problems)
    store = None
    if settings.qualitative_store is not None:
        store = Path(settings.qualitative_store).resolve()
        if not store.is_file():
            problems.setdefault(OPTIONS, []).append(
                f"--qualitative-store {settings.qualitative_store}: no such coding store. "
                "Expected a coding.sqlite made by `workbench qual`."
            )
            store = None
    declared: dict[Path, dict[str, Any]] = {}
    jobs: list[params_mod.Job] = []
    for notebook in notebooks:
        try:
            declared[notebook] = params_mod.declared_parameters(notebook)
        except ParameterError as error:
            problems.setdefault(str(notebook), []).extend(error.problems)
    notebooks = [nb for nb in notebooks if nb in declared]
    notebooks = _split_cluster_notebooks(settings, notebooks, declared, per_cluster, problems)
    if notebooks and settings.check_data and any("data_dir" in declared[nb] for nb in notebooks):
        _data_problems(Path(settings.data_dir), problems)
    if per_cluster:
        langs = _check_langs(settings, problems)
        found: dict[str, list[str]] = {}
        clusters = read_clusters(Path(settings.data_dir), found)
        for file, items in found.items():  # the data check may have said the same already
            known = problems.setdefault(file, [])
            known += [item for item in items if item not in known]
        clusters = _select_cluster_regions(settings, clusters, problems)
        if notebooks and clusters and langs:
            region_values = {s.name: s.values for s in sets if s.sweep is None}
            region_values.update(
                {str(s.values["region"]): s.values for s in sets if s.values.get("region")}
            )
            jobs = params_mod.build_cluster_grid(
                notebooks,
                clusters,
                langs,
                data_dir=Path(settings.data_dir).resolve(),
                region_values=region_values,
                declared=declared,
            )
            _grid_problems(params_mod.grid_findings(jobs, declared), problems)
    elif notebooks and sets:
        jobs = params_mod.build_grid(
            notebooks,
            sets,
            data_dir=Path(settings.data_dir).resolve(),
            results_dir=Path(settings.out_dir).resolve() / "RUN_DIR",
            declared=declared,
            qualitative_store=store,
        )
        _grid_problems(params_mod.grid_findings(jobs, declared), problems)
    if problems:
        raise RunCheckError(problems)
    return jobs, declared
