"""Individual prescription records -> clinic-month indicators, out of core with DuckDB.

The national prescription register holds tens of millions of rows a year: more than a laptop
holds comfortably in pandas. DuckDB streams the partitioned Parquet files
(``register/year=YYYY/*.parquet``) one year at a time, classifies each record's ATC code into an
indicator, and counts per clinic, month and indicator within its ``memory_limit``.

Per clinic-month-indicator cell:

- prescriptions = number of records,
- users = number of distinct persons (records without a person_id count as prescriptions
  but not as users),
- ddd = sum of the records' DDD,

on the full grid of clinic-months that have a list size (cells without records are zeros,
which is what they are), joined to the month's list size and turned into rates by
:func:`evaluation.data.clinic_month_outcomes`.

Why DuckDB, and users from sorted per-cell person lists (the engines and the exact distinct-count
formulations measured): docs/decisions/0001-duckdb-register-aggregation.md.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evaluation.data.catalogue import INDICATORS
from evaluation.data.schemas import DEFAULT_WINDOW, DataValidationError, Problem, StudyWindow

REGISTER_COLUMNS = ("person_id", "clinic_id", "date", "atc", "ddd")
DEFAULT_MEMORY_LIMIT = "2GB"


@dataclass
class AggregationReport:
    """What an aggregation read and produced, for the CLI and the benchmark to print."""

    records: int
    records_counted: int
    records_outside: int  # other ATC codes or dates outside the study window
    cells: int
    seconds: float
    memory_limit: str
    threads: int


def register_glob(register: str | os.PathLike) -> str:
    """The Parquet glob for a register folder (``DIR/register`` or a data folder holding one)."""
    path = Path(register)
    if path.is_file():
        return str(path)
    if (path / "register").is_dir():
        path = path / "register"
    if not path.is_dir():
        raise DataValidationError(
            [
                Problem(
                    "register",
                    f"no register folder at {path}: expected register/year=YYYY/*.parquet",
                    str(path),
                )
            ],
            str(path),
        )
    if not any(path.glob("**/*.parquet")):
        raise DataValidationError(
            [
                Problem(
                    "register", "no Parquet files: expected register/year=YYYY/*.parquet", str(path)
                )
            ],
            str(path),
        )
    return str(path / "**" / "*.parquet")


def _indicator_case(column: str = "atc") -> str:
    """SQL CASE classifying an ATC code by the catalogue's prefixes (first match wins, as in
    :func:`evaluation.data.catalogue.indicator_for_atc`)."""
    whens = []
    for ind in INDICATORS:
        condition = " OR ".join(f"starts_with({column}, '{prefix}')" for prefix in ind.atc_prefixes)
        whens.append(f"WHEN {condition} THEN '{ind.key}'")
    return "CASE " + " ".join(whens) + " END"


def connect(
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    temp_directory: str | os.PathLike | None = None,
    threads: int | None = None,
):
    """A DuckDB connection set up for out-of-core work: a memory cap, a spill folder, and
    insertion order not preserved (so large aggregations may stream and spill)."""
    import duckdb

    con = duckdb.connect(":memory:")
    temp_directory = Path(temp_directory or tempfile.gettempdir()) / "evaluation-duckdb-spill"
    temp_directory.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{temp_directory.as_posix()}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
    return con


def _check_register_columns(con, glob: str) -> dict[str, str]:
    """The register's column types by name; a DataValidationError if one is missing or wrong."""
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{glob}', "
        "hive_partitioning = true, union_by_name = true)"
    ).fetchall()
    present = {row[0]: row[1] for row in described}
    problems = [
        Problem(
            "register",
            f"missing column in the register files: expected {', '.join(REGISTER_COLUMNS)}; "
            f"found {', '.join(present)}",
            glob,
            name,
        )
        for name in REGISTER_COLUMNS
        if name not in present
    ]
    if "date" in present and not present["date"].startswith(("DATE", "TIMESTAMP")):
        problems.append(
            Problem(
                "register", f"wrong type: expected a date, found {present['date']}", glob, "date"
            )
        )
    if (
        "ddd" in present
        and present["ddd"] not in ("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INTEGER")
        and not present["ddd"].startswith("DECIMAL")
    ):
        problems.append(
            Problem(
                "register", f"wrong type: expected a number, found {present['ddd']}", glob, "ddd"
            )
        )
    if problems:
        raise DataValidationError(problems, glob)
    return present


def aggregate_register(
    register: str | os.PathLike,
    list_sizes: pd.DataFrame,
    *,
    window: StudyWindow = DEFAULT_WINDOW,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    temp_directory: str | os.PathLike | None = None,
    threads: int | None = None,
    with_outcomes: bool = True,
    report: list | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Aggregate individual prescription records to clinic-month indicators with DuckDB.

    Parameters
    ----------
    register : the register folder (``DIR/register`` with ``year=YYYY/*.parquet``), a data
        folder containing it, or one Parquet file; columns person_id, clinic_id, date, atc, ddd.
    list_sizes : one row per clinic and month with ``clinic_id``, ``month`` and
        ``listed_patients`` (e.g. the distinct rows of the prescribing table, or a list-size
        register). It defines the grid: every clinic-month in it gets every indicator.
    window : records outside the study window are ignored.
    memory_limit, temp_directory, threads : DuckDB's cap, spill folder and thread count.
    with_outcomes : add the three rates (see :func:`evaluation.data.clinic_month_outcomes`).
    report : if a list is given, an :class:`AggregationReport` is appended to it.
    progress : show a progress bar, one step per year.

    Returns
    -------
    A table like ``prescribing``: clinic_id, month, indicator, ddd, prescriptions, users,
    listed_patients (and the rates), sorted by clinic, indicator and month.

    Raises
    ------
    DataValidationError when the register lacks a column, or holds records (inside the
    window, of a catalogue indicator) for clinic-months without a list size: their rates
    would be undefined, and silently dropping them would undercount.

    Examples
    --------
    >>> from evaluation.data import aggregate_register, load               # doctest: +SKIP
    >>> sizes = load("data/register", "prescribing")["prescribing"]        # doctest: +SKIP
    >>> sizes = sizes[["clinic_id", "month", "listed_patients"]].drop_duplicates()  # doctest: +SKIP
    >>> indicators = aggregate_register("data/register", sizes)             # doctest: +SKIP
    """
    from evaluation.data.outcomes import clinic_month_outcomes

    started = time.perf_counter()
    sizes = _list_size_frame(list_sizes)
    glob = register_glob(register)
    con = connect(memory_limit, temp_directory, threads)
    try:
        columns = _check_register_columns(con, glob)
        source = f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
        con.register("list_sizes_frame", sizes)
        con.execute(
            "CREATE TEMP TABLE list_sizes AS SELECT clinic_id::VARCHAR AS clinic_id, "
            "month::DATE AS month, listed_patients::BIGINT AS listed_patients FROM list_sizes_frame"
        )
        con.execute(
            "CREATE TEMP TABLE indicators AS SELECT * FROM (VALUES "
            + ", ".join(f"('{ind.key}', {k})" for k, ind in enumerate(INDICATORS))
            + ") AS t(indicator, indicator_key)"
        )
        # The few distinct ATC codes are classified once, not per record; records join this
        # small table (cheap next to the per-cell work below).
        con.execute(
            f"""
            CREATE TEMP TABLE atc_indicator AS
            SELECT a.atc, i.indicator_key::UTINYINT AS indicator_key
            FROM (SELECT atc, {_indicator_case("atc")} AS indicator
                  FROM (SELECT DISTINCT atc::VARCHAR AS atc FROM {source})) AS a
            JOIN indicators AS i USING (indicator)
            """
        )
        con.execute(
            "CREATE TEMP TABLE cell_counts (clinic_id VARCHAR, month DATE, indicator_key UTINYINT, "
            "prescriptions BIGINT, users BIGINT, ddd DOUBLE)"
        )
        person = _person_list_element(con, glob, columns["person_id"])
        first_year, last_year = window.first_day.year, window.last_day.year
        years = range(first_year, last_year + 1)
        from tqdm.auto import tqdm

        # One year at a time: a cell (clinic, month, indicator) never spans two years, so each
        # query holds one year's cells, and Parquet min/max statistics let DuckDB skip the row
        # groups of other years.
        for year in tqdm(years, desc="aggregating register", unit="year", disable=not progress):
            start = max(window.first_day, pd.Timestamp(year, 1, 1)).date().isoformat()
            stop = min(window.last_day, pd.Timestamp(year, 12, 31)).date().isoformat()
            con.execute(
                f"""
                INSERT INTO cell_counts
                WITH per_cell AS (
                    SELECT r.clinic_id::VARCHAR AS clinic_id, month(r.date) AS month_of_year,
                           a.indicator_key, count(*) AS prescriptions, sum(r.ddd) AS ddd,
                           -- users: each cell's persons, sorted so that repeats sit side by
                           -- side, then counted once each. Exact, and at register scale about
                           -- a third less CPU than a hash table of (cell, person) pairs,
                           -- which holds nearly one entry per record and misses the CPU
                           -- cache on most of them. The lists hold a year's person ids (4 bytes per
                           -- record when they fit), well inside memory_limit.
                           list_sort(list({person}) FILTER (WHERE r.person_id IS NOT NULL))
                               AS persons
                    FROM {source} AS r
                    JOIN atc_indicator AS a ON r.atc::VARCHAR = a.atc
                    WHERE r.date >= DATE '{start}' AND r.date <= DATE '{stop}'
                    GROUP BY ALL
                )
                SELECT clinic_id, make_date({year}, month_of_year, 1), indicator_key,
                       prescriptions, coalesce({_distinct_in_sorted("persons")}, 0), ddd
                FROM per_cell
                """
            )
        con.execute(
            """
            CREATE TEMP TABLE cells AS
            SELECT n.clinic_id, n.month, i.indicator, n.prescriptions, n.users, n.ddd
            FROM cell_counts AS n JOIN indicators AS i USING (indicator_key)
            """
        )
        orphans = con.execute(
            """
            SELECT c.clinic_id, strftime(c.month, '%Y-%m') AS month, sum(c.prescriptions) AS n
            FROM cells c ANTI JOIN list_sizes s USING (clinic_id, month)
            GROUP BY ALL
            ORDER BY c.clinic_id, month
            """
        ).fetchall()
        if orphans:
            shown = ", ".join(f"{c} {m} ({n} prescriptions)" for c, m, n in orphans[:10])
            more = f" and {len(orphans) - 10} more" if len(orphans) > 10 else ""
            raise DataValidationError(
                [
                    Problem(
                        "register",
                        f"records for {len(orphans)} clinic-month(s) without a list size: "
                        f"{shown}{more}. "
                        "Expected a listed_patients value for every clinic and month with records; "
                        "add them to the list sizes (or the clinics to the clinic table)",
                        glob,
                        "clinic_id",
                    )
                ],
                glob,
            )
        result = con.execute(
            """
            SELECT s.clinic_id, s.month, i.indicator,
                   coalesce(c.ddd, 0.0) AS ddd,
                   coalesce(c.prescriptions, 0)::BIGINT AS prescriptions,
                   coalesce(c.users, 0)::BIGINT AS users,
                   s.listed_patients
            FROM list_sizes s CROSS JOIN indicators i
            LEFT JOIN cells c USING (clinic_id, month, indicator)
            ORDER BY s.clinic_id, i.indicator, s.month
            """
        ).df()
        if report is not None:
            records = int(con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])
            counted = int(
                con.execute("SELECT coalesce(sum(prescriptions), 0) FROM cells").fetchall()[0][0]
            )
            report.append(
                AggregationReport(
                    records=records,
                    records_counted=counted,
                    records_outside=records - counted,
                    cells=len(result),
                    seconds=time.perf_counter() - started,
                    memory_limit=memory_limit,
                    threads=int(con.execute("SELECT current_setting('threads')").fetchall()[0][0]),
                )
            )
    finally:
        con.close()
    result["month"] = pd.to_datetime(result["month"]).astype("datetime64[ns]")
    result["ddd"] = result["ddd"].astype(float)
    if with_outcomes:
        result = clinic_month_outcomes(result)
    return result


def _person_list_element(con, glob: str, person_type: str) -> str:
    """The SQL for one person in a cell's list of persons.

    Sorting 4-byte integers takes about a quarter less CPU than 8-byte ones, so an integer
    person_id whose range (from the Parquet statistics, no scan) spans fewer than 2**32 values
    is stored as its offset from the smallest; any other person_id (text, no statistics, a wider
    range) is kept as it is, which is just as exact, only slower.
    """
    if person_type not in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER"):
        return "r.person_id"
    row_groups, with_stats, low, high = con.execute(
        f"""
        SELECT count(*), count(stats_min_value), min(TRY_CAST(stats_min_value AS HUGEINT)),
               max(TRY_CAST(stats_max_value AS HUGEINT))
        FROM parquet_metadata('{glob}') WHERE path_in_schema = 'person_id'
        """
    ).fetchall()[0]
    if row_groups == 0 or with_stats < row_groups or low is None or high is None:
        return "r.person_id"
    if int(high) - int(low) >= 2**32:
        return "r.person_id"
    # signed ids widened first, so that subtracting a negative minimum cannot overflow
    person = "r.person_id" if person_type == "UBIGINT" else "r.person_id::BIGINT"
    return f"({person} - {int(low)})::UINTEGER"


def _distinct_in_sorted(persons: str) -> str:
    """SQL for the number of distinct values in a sorted list: its length less the elements
    equal to their predecessor (the lambda's index i is 1-based, so persons[i] is the element
    just before x in persons[2:])."""
    return f"len({persons}) - len(list_filter({persons}[2:], lambda x, i: x = {persons}[i]))"


def _list_size_frame(list_sizes: pd.DataFrame) -> pd.DataFrame:
    needed = ["clinic_id", "month", "listed_patients"]
    missing = [c for c in needed if c not in list_sizes.columns]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "list_sizes", f"missing column: list sizes need {', '.join(needed)}", column=c
                )
                for c in missing
            ],
            "the list sizes",
        )
    sizes = list_sizes[needed].drop_duplicates().reset_index(drop=True)
    sizes["month"] = pd.to_datetime(sizes["month"]).dt.to_period("M").dt.to_timestamp()
    problems = []
    bad = sizes["listed_patients"].isna() | (
        pd.to_numeric(sizes["listed_patients"], errors="coerce") <= 0
    )
    if bad.any():
        problems.append(
            Problem(
                "list_sizes",
                "listed_patients must be a positive number for every clinic-month "
                "(zero or missing makes every rate undefined)",
                column="listed_patients",
                rows=tuple(int(i) for i in sizes.index[bad][:20]),
                n_rows=int(bad.sum()),
            )
        )
    dup = sizes.duplicated(["clinic_id", "month"], keep=False)
    if dup.any():
        problems.append(
            Problem(
                "list_sizes",
                "more than one list size for the same clinic and month; expected one",
                column="listed_patients",
                rows=tuple(int(i) for i in sizes.index[dup][:20]),
                n_rows=int(dup.sum()),
            )
        )
    if problems:
        raise DataValidationError(problems, "the list sizes")
    return sizes


def list_sizes_from_folder(
    data_dir: str | os.PathLike, window: StudyWindow = DEFAULT_WINDOW
) -> pd.DataFrame:
    """Monthly list sizes for a data folder: the clinic-months of its prescribing table."""
    from evaluation.data.io import load

    prescribing = load(data_dir, tables=["prescribing"], window=window)["prescribing"]
    return (
        prescribing[["clinic_id", "month", "listed_patients"]]
        .drop_duplicates()
        .reset_index(drop=True)
    )
