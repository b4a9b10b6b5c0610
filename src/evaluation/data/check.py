"""Check a whole data folder and list every problem: ``workbench data check DIR``.

Reads every canonical table (any supported format), validates each on its own and against the
others, and - when the folder has individual records under ``register/`` - checks those out of
core with DuckDB (columns, types, missing values, negative DDD, dates outside the study window,
malformed ATC codes, clinics missing from the clinic table), without loading them into memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.data.io import read_folder
from evaluation.data.schemas import (
    DEFAULT_WINDOW,
    DataValidationError,
    Problem,
    StudyWindow,
    format_problems,
)


@dataclass
class CheckResult:
    """The outcome of checking a data folder."""

    data_dir: Path
    window: StudyWindow
    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    register_records: int | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """A short report: what was checked and, if any, every problem grouped by file."""
        lines = [f"Warning: {warning}" for warning in self.warnings]
        if self.ok:
            tables = ", ".join(f"{name} ({self.rows[name]:,} rows)" for name in self.files)
            lines.append(
                f"OK: {self.data_dir} matches the canonical layout (study window {self.window})."
            )
            lines.append(f"Checked {tables}.")
            if self.register_records is not None:
                lines.append(f"Checked {self.register_records:,} register records.")
            return "\n".join(lines)
        n = len(self.problems)
        n_files = len({p.file or p.table for p in self.problems})
        problems = f"{n} problem{'s' if n != 1 else ''}"
        files = f"{n_files} file{'s' if n_files != 1 else ''}"
        lines.append(f"{problems} in {files} under {self.data_dir}:")
        lines += format_problems(self.problems)
        return "\n".join(lines)


def check_folder(
    data_dir: str | os.PathLike,
    window: StudyWindow = DEFAULT_WINDOW,
    register: bool = True,
    progress: bool = False,
    memory_limit: str = "2GB",
) -> CheckResult:
    """Validate every table of a data folder (and its register records, if any), collecting
    all problems rather than stopping at the first.

    Examples
    --------
    >>> import tempfile
    >>> from evaluation.data import check_folder
    >>> from evaluation.data.synth import write_synthetic
    >>> folder = write_synthetic(tempfile.mkdtemp() + "/small", scale="small", progress=False)
    >>> result = check_folder(folder)
    >>> result.ok, len(result.problems)
    (True, 0)
    """
    data_dir = Path(data_dir)
    reading = read_folder(data_dir, window=window, progress=progress)
    result = CheckResult(
        data_dir,
        window,
        dict(reading.files),
        problems=list(reading.problems),
        warnings=list(reading.warnings),
    )
    result.rows = {name: len(frame) for name, frame in reading.tables.items()}
    register_dir = data_dir / "register"
    if register and register_dir.is_dir():
        clinic_ids = (
            list(reading.tables["clinics"]["clinic_id"])
            if "clinics" in reading.tables and "clinic_id" in reading.tables["clinics"]
            else None
        )
        records, problems = check_register(register_dir, window, clinic_ids, memory_limit)
        result.register_records = records
        result.problems += problems
    return result


def check_register(
    register_dir: str | os.PathLike,
    window: StudyWindow = DEFAULT_WINDOW,
    clinic_ids: list[str] | None = None,
    memory_limit: str = "2GB",
) -> tuple[int, list[Problem]]:
    """Check individual prescription records out of core; returns (records, problems).

    Problems name the Parquet file they occur in, with counts and example values (register
    files are too large for row lists to help)."""

    from evaluation.data.aggregate import REGISTER_COLUMNS, connect, register_glob

    register_dir = Path(register_dir)
    try:
        glob = register_glob(register_dir)
    except DataValidationError as err:
        return 0, err.problems
    con = connect(memory_limit)
    problems: list[Problem] = []
    try:
        source = f"read_parquet('{glob}', filename = true, union_by_name = true)"
        try:
            described = dict(
                (row[0], row[1])
                for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            )
        except Exception as err:  # duckdb raises its own error types for unreadable files
            return 0, [Problem("register", f"not readable as Parquet: {err}", str(register_dir))]
        missing = [c for c in REGISTER_COLUMNS if c not in described]
        for name in missing:
            problems.append(
                Problem(
                    "register",
                    f"missing column: expected {', '.join(REGISTER_COLUMNS)}; found "
                    f"{', '.join(c for c in described if c != 'filename')}",
                    str(register_dir),
                    name,
                )
            )
        records = int(con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])
        if records == 0:
            problems.append(
                Problem(
                    "register", "no records: expected one row per prescription", str(register_dir)
                )
            )
        if "date" in described and not described["date"].startswith(("DATE", "TIMESTAMP")):
            problems.append(
                Problem(
                    "register",
                    f"wrong type: expected a date, found {described['date']}",
                    str(register_dir),
                    "date",
                )
            )
            missing.append("date")
        numeric = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "HUGEINT", "DECIMAL")
        if "ddd" in described and not described["ddd"].startswith(numeric):
            problems.append(
                Problem(
                    "register",
                    f"wrong type: expected a number, found {described['ddd']}",
                    str(register_dir),
                    "ddd",
                )
            )
            missing.append("ddd")
        present = [c for c in REGISTER_COLUMNS if c not in missing]
        first, last = window.first_day.date().isoformat(), window.last_day.date().isoformat()
        rules: list[tuple[str, str, str]] = []  # (column, SQL condition for a bad row, expectation)
        for name in present:
            rules.append((name, f"{name} IS NULL", "a value on every row (found missing values)"))
        if "ddd" in present:
            rules.append(("ddd", "ddd < 0", "0 or more DDD (found negative values)"))
        if "date" in present:
            rules.append(
                (
                    "date",
                    f"date NOT BETWEEN DATE '{first}' AND DATE '{last}'",
                    f"dates inside the study window {window}",
                )
            )
        if rules and records:
            # one streaming pass of cheap aggregates per file
            selects = ", ".join(
                f"count(*) FILTER (WHERE {cond}) AS n{i}, "
                f"[min({col}::VARCHAR) FILTER (WHERE {cond}), "
                f"max({col}::VARCHAR) FILTER (WHERE {cond})] AS e{i}"
                for i, (col, cond, _) in enumerate(rules)
            )
            rows = con.execute(
                f"SELECT filename, {selects} FROM {source} GROUP BY filename ORDER BY filename"
            ).fetchall()
            for row in rows:
                for i, (col, _, expectation) in enumerate(rules):
                    count, examples = row[1 + 2 * i], row[2 + 2 * i]
                    if count:
                        shown = ", ".join(
                            repr(e) for e in dict.fromkeys(examples or []) if e is not None
                        )
                        problems.append(
                            Problem(
                                "register",
                                f"expected {expectation}: "
                                f"{count:,} record{'s' if count != 1 else ''}"
                                + (f", e.g. {shown}" if shown else ""),
                                row[0],
                                col,
                            )
                        )
        # codes and clinics take few distinct values: check those, not every record
        distinct_checks = []
        if "atc" in present:
            distinct_checks.append(
                (
                    "atc",
                    "ATC codes such as M01AE01 "
                    "(letter, two digits, then up to four letters or digits)",
                )
            )
        if "clinic_id" in present and clinic_ids is not None:
            distinct_checks.append(("clinic_id", "clinics listed in the clinic table"))
        known = set(map(str, clinic_ids or []))
        import re

        atc_pattern = re.compile(r"[A-Z]\d{2}[A-Z0-9]{0,4}")
        for col, expectation in distinct_checks:
            values = con.execute(
                f"SELECT filename, {col}::VARCHAR AS value, count(*) AS n FROM {source} "
                f"WHERE {col} IS NOT NULL GROUP BY ALL ORDER BY filename, value"
            ).df()
            if col == "atc":
                bad = ~values["value"].map(lambda v: bool(atc_pattern.fullmatch(v)))
            else:
                bad = ~values["value"].isin(known)
            for filename, group in values[bad].groupby("filename", sort=True):
                shown = ", ".join(repr(v) for v in group["value"].head(5))
                more = f" and {len(group) - 5} more" if len(group) > 5 else ""
                problems.append(
                    Problem(
                        "register",
                        f"expected {expectation}: {int(group['n'].sum()):,} records with "
                        f"{shown}{more}",
                        filename,
                        col,
                    )
                )
    finally:
        con.close()
    return records, problems
