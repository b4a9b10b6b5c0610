"""Load a whole data folder in the canonical layout, validated, and write files safely.

A data folder holds one file per table, named after it, in any supported format::

    DIR/clusters.parquet   DIR/clinics.csv   DIR/gps.dta   DIR/meetings.xlsx
    DIR/attendance.sas7bdat   DIR/prescribing.parquet   [DIR/register/year=YYYY/*.parquet]

:func:`load` reads the tables asked for (and those they refer to, for the cross-table
checks), converts them to the canonical dtypes, validates every rule and raises one
:class:`~evaluation.data.schemas.DataValidationError` listing every problem, or returns the
tables, optionally restricted to one region.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evaluation.data.catalogue import REGION_NAMES, REGIONS
from evaluation.data.readers import SUFFIXES, ReadError, read_table
from evaluation.data.schemas import (
    CANONICAL_TABLES,
    DEFAULT_WINDOW,
    REFERENCES,
    DataValidationError,
    Problem,
    StudyWindow,
    conform,
    cross_table_problems,
    spec_for,
    validate_table,
)
from evaluation.errors import InputError
from evaluation.files import atomic_path

# --------------------------------------------------------------------------------------------
# finding and reading tables
# --------------------------------------------------------------------------------------------


def find_table_file(data_dir: str | os.PathLike, table: str) -> Path | None:
    """The file holding ``table`` in ``data_dir`` (``<table>.<suffix>`` for any supported
    suffix, case-insensitive), or None. Raises when two files could both be the table."""
    data_dir = Path(data_dir)
    found = [
        p
        for p in sorted(data_dir.iterdir())
        if p.is_file() and p.stem.casefold() == table and p.suffix.lower() in SUFFIXES
    ]
    if len(found) > 1:
        raise DataValidationError(
            [
                Problem(
                    table,
                    f"more than one file for table {table}: {', '.join(p.name for p in found)}; "
                    "keep exactly one",
                    str(data_dir),
                )
            ],
            str(data_dir),
        )
    return found[0] if found else None


#: tables read and validated ahead by :func:`preload_tables`, keyed by the file's path, size and
#: modification time, the table and the study window
_PRELOADED: dict[tuple, tuple[pd.DataFrame | None, tuple[Problem, ...]]] = {}


def _preload_key(path: Path, table: str, window: StudyWindow) -> tuple:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, table, window)


def preload_tables(data_dir: str | os.PathLike, window: StudyWindow = DEFAULT_WINDOW) -> list[str]:
    """Read and validate every canonical table of ``data_dir`` now, so that later reads of the
    same unchanged files in this process (and in processes forked from it) take a copy instead
    of reading and validating again. Returns the tables kept.

    ``workbench run`` calls it in the process its fresh kernels are forked from: each of ~114
    cluster reports would otherwise read and validate the national tables again (seconds per
    report). Every read returns its own copy, and a file whose size or modification time
    changed is read again, so nothing one report does can reach another.

    >>> import tempfile
    >>> from evaluation.data.synth import write_synthetic
    >>> folder = write_synthetic(tempfile.mkdtemp() + "/small", scale="small", progress=False)
    >>> preload_tables(folder)
    ['clusters', 'clinics', 'gps', 'meetings', 'attendance', 'prescribing']
    >>> load(folder, "clusters")["clusters"] is load(folder, "clusters")["clusters"]
    False
    """
    kept = []
    for table in CANONICAL_TABLES:
        try:
            path = find_table_file(data_dir, table)
        except (DataValidationError, OSError):
            continue
        if path is None:
            continue
        frame, problems = read_canonical(path, table, window)
        _PRELOADED[_preload_key(path, table, window)] = (frame, tuple(problems))
        kept.append(table)
    return kept


def read_canonical(
    path: str | os.PathLike,
    table: str,
    window: StudyWindow = DEFAULT_WINDOW,
    columns: dict[str, str] | None = None,
    **read_options,
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read one table file, conform it to the canonical dtypes and validate it on its own.

    Returns the frame (None when the file could not be read at all) and every problem found.
    ``read_options`` go to :func:`~evaluation.data.readers.read_table` (encoding, sep, ...).
    A file kept by :func:`preload_tables` (unchanged since) is returned as a copy."""
    path = Path(path)
    if not columns and not read_options and _PRELOADED:
        try:
            kept = _PRELOADED.get(_preload_key(path, table, window))
        except OSError:
            kept = None
        if kept is not None:
            frame, problems = kept
            return (frame.copy(deep=True) if frame is not None else None), list(problems)
    spec = spec_for(table)
    text_columns = [c.name for c in spec.columns if c.kind in ("id", "text", "category")]
    if columns:
        text_columns += [src for src, dst in columns.items() if dst in text_columns]
    read_options.setdefault("text_columns", text_columns)
    try:
        raw = read_table(path, **read_options)
    except ReadError as err:
        return None, [Problem(table, err.reason, str(path))]
    if raw.shape[1] == 0 and len(raw) == 0:
        return None, [
            Problem(table, "the file is empty: expected a header row and data rows", str(path))
        ]
    frame, problems, unconvertible = conform(raw, table, str(path), columns)
    problems += validate_table(frame, table, window, str(path), skip=unconvertible)
    return frame, problems


def _region_name(region: str) -> str:
    if region in REGION_NAMES.values():
        return region
    names = {r.slug: r.name for r in REGIONS} | {r.name.casefold(): r.name for r in REGIONS}
    try:
        return names[region.casefold()]
    except KeyError:
        slugs = ", ".join(r.slug for r in REGIONS)
        region_names = ", ".join(r.name for r in REGIONS)
        raise InputError(
            f"unknown region {region!r}; expected one of {slugs} (or their names {region_names})"
        ) from None


def _dependencies(tables: Iterable[str]) -> list[str]:
    """The tables needed to check ``tables``' references, transitively, in canonical order."""
    needed = set(tables)
    changed = True
    while changed:
        changed = False
        for table, _, ref_table, _ in REFERENCES:
            if table in needed and ref_table not in needed:
                needed.add(ref_table)
                changed = True
    return [t for t in CANONICAL_TABLES if t in needed]


@dataclass
class FolderReading:
    """What reading a data folder found: the conformed tables, their files and the problems."""

    data_dir: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: files the folder holds that are no canonical table (ignored, but a user should know)
    warnings: list[str] = field(default_factory=list)


# What a data folder may hold besides the canonical tables without a warning.
_KNOWN_EXTRAS = {"truth.json", "register", "readme.md", "readme.txt"}


def unknown_files(data_dir: Path) -> list[str]:
    """A warning for each file of ``data_dir`` that is no canonical table, so that a table saved
    under another name (``clinic.csv``, ``Klinikker.xlsx``) does not pass silently.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "clinic.csv").write_text("clinic_id\\n")
    >>> print(unknown_files(folder)[0])
    clinic.csv: not a canonical table, ignored; did you mean clinics?
    """
    import difflib

    warnings = []
    for path in sorted(Path(data_dir).iterdir()):
        name = path.name
        if name.startswith(".") or name.casefold() in _KNOWN_EXTRAS:
            continue
        if path.stem.casefold() in CANONICAL_TABLES:
            continue  # a canonical table (an unsupported format is a problem, named there)
        close = difflib.get_close_matches(path.stem.casefold(), CANONICAL_TABLES, n=1)
        hint = (
            f"did you mean {close[0]}?"
            if close
            else (f"the tables are {', '.join(CANONICAL_TABLES)}")
        )
        warnings.append(f"{name}: not a canonical table, ignored; {hint}")
    return warnings


def _unsupported_file(data_dir: Path, table: str) -> Path | None:
    """A file named like ``table`` in a format the workbench does not read (``clinics.feather``)."""
    for path in sorted(data_dir.iterdir()):
        if path.is_file() and path.stem.casefold() == table and path.suffix.lower() not in SUFFIXES:
            return path
    return None


def read_folder(
    data_dir: str | os.PathLike,
    tables: Iterable[str] | None = None,
    window: StudyWindow = DEFAULT_WINDOW,
    required: bool = True,
    progress: bool = False,
) -> FolderReading:
    """Read, conform and validate tables of a data folder, collecting every problem (no raise).

    ``tables``: the canonical tables to read (default all six); with ``required`` a table
    without a file is a problem, otherwise it is skipped."""
    data_dir = Path(data_dir)
    reading = FolderReading(data_dir)
    if not data_dir.is_dir():
        reading.problems.append(
            Problem(
                "folder",
                f"no such data folder {data_dir}: expected a folder in the canonical layout",
                str(data_dir),
            )
        )
        return reading
    wanted = list(CANONICAL_TABLES if tables is None else tables)
    for name in wanted:
        spec_for(name)
    reading.warnings = unknown_files(data_dir)
    iterator = wanted
    if progress:
        # imported only when asked for: in a notebook's kernel tqdm.auto loads the widgets
        # (a noticeable part of a small report's time)
        from tqdm.auto import tqdm

        iterator = tqdm(wanted, desc="reading tables", unit="table")
    for name in iterator:
        try:
            path = find_table_file(data_dir, name)
        except DataValidationError as err:
            reading.problems += err.problems
            continue
        if path is None:
            unsupported = _unsupported_file(data_dir, name)
            if unsupported is not None:
                reading.problems.append(
                    Problem(
                        name,
                        f"{unsupported.name} is table {name} in a format the workbench does not "
                        f"read ({unsupported.suffix}); save it as {name}.parquet (or .csv, .dta, "
                        ".sas7bdat, .xlsx)",
                        str(unsupported),
                    )
                )
            elif required:
                reading.problems.append(
                    Problem(
                        name,
                        f"missing table {name}: expected a file {name}.parquet (or .csv, .dta, "
                        f".sas7bdat, .xlsx) in {data_dir}",
                        str(data_dir),
                    )
                )
            continue
        reading.files[name] = str(path)
        frame, problems = read_canonical(path, name, window)
        reading.problems += problems
        if frame is not None:
            reading.tables[name] = frame
    reading.problems += cross_table_problems(reading.tables, reading.files)
    return reading


def load(
    data_dir: str | os.PathLike,
    tables: Iterable[str] | str | None = None,
    region: str | None = None,
    window: StudyWindow | tuple[str, str] | None = None,
    outside_window: str = "error",
) -> dict[str, pd.DataFrame]:
    """Load a data folder in the canonical layout, validated, as ``{table name: DataFrame}``.

    Parameters
    ----------
    data_dir : folder with ``clusters``, ``clinics``, ``gps``, ``meetings``, ``attendance`` and
        ``prescribing`` files (each ``.parquet``, ``.csv``, ``.dta``, ``.sas7bdat`` or ``.xlsx``).
    tables : the tables to return (a name or a list; default all six). Tables they refer to
        are read too, to check that every reference resolves, but are not returned.
    region : keep only one region's rows (slug ``"sjaelland"`` or name ``"Sjælland"``):
        clusters and clinics by their region, GPs and meetings by their cluster, attendance by
        its meeting and prescribing by its clinic.
    window : study window ``("2016-01", "2023-12")``, the default.
    outside_window : ``"error"`` (default): a meeting date or prescribing month outside the
        window is a validation problem, as in ``workbench data check``; ``"drop"``: such rows
        are left out (with the attendance of dropped meetings), for an analysis of part of
        the data.

    Returns
    -------
    dict of DataFrames in the canonical dtypes: ids and labels ``str``, counts ``int64``,
    ``ddd`` ``float64``, ``attended`` ``bool``, ``date`` and ``month`` ``datetime64[ns]``.

    Raises
    ------
    DataValidationError
        listing every problem found (missing files or columns, wrong types, negative counts,
        zero or missing list sizes, duplicate keys, values outside the study window, unknown
        clinics, clusters, meetings or GPs), each with its file, column and rows.

    Examples
    --------
    >>> import tempfile
    >>> from evaluation.data import load
    >>> from evaluation.data.synth import write_synthetic
    >>> folder = write_synthetic(tempfile.mkdtemp() + "/small", scale="small", progress=False)
    >>> tables = load(folder, "prescribing", region="sjaelland")
    >>> sorted(tables), tables["prescribing"]["clinic_id"].dtype
    (['prescribing'], dtype('O'))
    """
    if isinstance(tables, str):
        tables = [tables]
    wanted = list(CANONICAL_TABLES if tables is None else tables)
    if isinstance(window, tuple):
        window = StudyWindow(*window)
    window = window or DEFAULT_WINDOW
    if outside_window not in ("error", "drop"):
        raise InputError(f"outside_window must be 'error' or 'drop', not {outside_window!r}")
    validation_window = window if outside_window == "error" else _ANY_TIME
    region_name = _region_name(region) if region is not None else None
    to_read = _dependencies(wanted)
    if region_name is not None:
        # the region filter needs the chain of tables that leads to a region column
        to_read = _dependencies(to_read + [t for t in ("clusters",) if t not in to_read])
        if any(t in to_read for t in ("prescribing", "gps")):
            to_read = _dependencies(to_read + ["clinics"])
    from evaluation.paths import project_path

    # a notebook's kernel runs in notebooks/: "data/synthetic" means the project's folder
    data_dir = project_path(data_dir)
    reading = read_folder(data_dir, to_read, validation_window)
    if reading.problems:
        hint = None
        if any("inside the study window" in p.message for p in reading.problems):
            hint = (
                f"Fix the files, or, to analyse only the study window {window}, pass "
                "outside_window='drop' to load()."
            )
        raise DataValidationError(reading.problems, str(data_dir), hint)
    if outside_window == "drop":
        _drop_outside(reading.tables, window)
    result = {name: reading.tables[name] for name in wanted}
    if region_name is not None:
        result = _filter_region(result, reading.tables, region_name)
    return result


_ANY_TIME = StudyWindow("1000-01", "9999-12")


def _drop_outside(tables: dict[str, pd.DataFrame], window: StudyWindow) -> None:
    """Keep the rows inside ``window`` (in place), and the attendance of kept meetings."""
    for name, column in (("meetings", "date"), ("prescribing", "month")):
        if name in tables:
            frame = tables[name]
            inside = frame[column].between(window.first_day, window.last_day)
            tables[name] = frame[inside].reset_index(drop=True)
    if "attendance" in tables and "meetings" in tables:
        attendance = tables["attendance"]
        kept = attendance["meeting_id"].isin(tables["meetings"]["meeting_id"])
        tables["attendance"] = attendance[kept].reset_index(drop=True)


def _filter_region(
    result: dict[str, pd.DataFrame], everything: dict[str, pd.DataFrame], region: str
) -> dict[str, pd.DataFrame]:
    clusters = everything["clusters"]
    cluster_ids = set(clusters.loc[clusters["region"] == region, "cluster_id"])
    clinic_ids = (
        set(everything["clinics"].loc[everything["clinics"]["region"] == region, "clinic_id"])
        if "clinics" in everything
        else set()
    )
    meeting_ids = (
        set(
            everything["meetings"].loc[
                everything["meetings"]["cluster_id"].isin(cluster_ids), "meeting_id"
            ]
        )
        if "meetings" in everything
        else set()
    )
    keep = {
        "clusters": lambda f: f["cluster_id"].isin(cluster_ids),
        "clinics": lambda f: f["clinic_id"].isin(clinic_ids),
        "gps": lambda f: f["cluster_id"].isin(cluster_ids),
        "meetings": lambda f: f["cluster_id"].isin(cluster_ids),
        "attendance": lambda f: f["meeting_id"].isin(meeting_ids),
        "prescribing": lambda f: f["clinic_id"].isin(clinic_ids),
    }
    return {name: frame[keep[name](frame)].reset_index(drop=True) for name, frame in result.items()}


# --------------------------------------------------------------------------------------------
# safe writing
# --------------------------------------------------------------------------------------------


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table atomically as Parquet or CSV (by suffix; ``.csv`` is UTF-8 with ``,``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"{path}: can write .parquet or .csv, not {suffix!r}")
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%d")
    return path
