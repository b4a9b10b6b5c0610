"""Canonical tables: their columns, types, keys and the rules a valid data folder obeys.

A data folder in the canonical layout holds one file per table (``clusters``, ``clinics``,
``gps``, ``meetings``, ``attendance``, ``prescribing``) and, optionally, individual prescription
records under ``register/``. Whatever format a table arrives in, :func:`conform` turns it into
the canonical dtypes and :func:`validate_table` checks it with a pandera schema built from
:data:`TABLES`; :func:`cross_table_problems` checks that the tables agree with each other.

Validation never stops at the first problem: every problem is collected as a :class:`Problem`
(file, table, column, rows, what was expected) and raised together as a
:class:`DataValidationError`.

Canonical dtypes after :func:`conform`: identifiers and labels are Python ``str`` (object
dtype), counts ``int64``, DDD ``float64``, ``attended`` ``bool``, dates and months
``datetime64[ns]`` (months are the first day of the month).

Columns that count persons carry ``persons=True`` in their :class:`ColumnSpec` (GPs, listed
patients, users); :data:`PERSON_COLUMNS` adds the canonical names of the counts the package
derives from them (``invited``, ``attended``, ...). :func:`counts_persons` answers for one column
name; the disclosure check (:mod:`evaluation.reports.disclosure`) goes by this mark, not by how a
column's name reads.

Row numbers in messages count data rows from 1 (the header is not a row; in a CSV file opened
in a text editor, row N is on line N + 1).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from evaluation.data.catalogue import INDICATOR_BY_KEY, REGIONS, STUDY_END, STUDY_START, TOPICS
from evaluation.errors import InputError

Kind = Literal["id", "text", "category", "int", "float", "bool", "date", "month"]


# --------------------------------------------------------------------------------------------
# problems
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data: where it is and what was expected instead.

    ``rows`` are 0-based positions in the table as read; they are shown 1-based.
    """

    table: str
    message: str
    file: str | None = None
    column: str | None = None
    rows: tuple[int, ...] = ()
    n_rows: int | None = None  # number of offending rows when more than ``rows`` lists

    def where(self) -> str:
        parts = []
        if self.column:
            parts.append(f"column {self.column!r}")
        if self.rows:
            parts.append(_format_rows(self.rows, self.n_rows))
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


def _format_rows(rows: Sequence[int], n_rows: int | None = None, limit: int = 8) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:limit])
    total = max(n_rows or 0, len(rows))
    more = f" and {total - min(len(rows), limit)} more" if total > min(len(rows), limit) else ""
    return f"row{'s' if total > 1 else ''} {shown}{more}"


class DataValidationError(InputError):
    """Raised when data do not match the canonical schemas; ``problems`` lists every one."""

    def __init__(
        self, problems: Sequence[Problem], context: str = "the data", hint: str | None = None
    ):
        self.problems = list(problems)
        self.context = context
        self.hint = hint
        super().__init__(self.report())

    def report(self) -> str:
        n = len(self.problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} in {self.context}:"]
        lines += format_problems(self.problems)
        lines.append(
            self.hint
            or "Fix the files (or map their columns to the canonical names) and run "
            "`workbench data check DIR` again."
        )
        return "\n".join(lines)


def format_problems(problems: Iterable[Problem]) -> list[str]:
    """Problems grouped by file (or table when the file is unknown), one line each."""
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.file or f"table {p.table}", []).append(p)
    lines = []
    for source, items in groups.items():
        lines.append(f"{source}:")
        lines += [f"  - {p}" for p in items]
    return lines


# --------------------------------------------------------------------------------------------
# study window
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyWindow:
    """The months data may fall in, inclusive: ``StudyWindow("2016-01", "2023-12")``."""

    start: str = STUDY_START
    end: str = STUDY_END

    def __post_init__(self) -> None:
        try:
            start, end = self.first_day, self.last_day
        except ValueError:
            raise InputError(
                f"study window {self.start!r}..{self.end!r}: expected months written YYYY-MM"
            ) from None
        if start > end:
            raise InputError(f"study window starts ({self.start}) after it ends ({self.end})")

    @property
    def first_day(self) -> pd.Timestamp:
        return pd.Timestamp(dt.datetime.strptime(self.start, "%Y-%m"))

    @property
    def last_day(self) -> pd.Timestamp:
        return pd.Timestamp(dt.datetime.strptime(self.end, "%Y-%m")) + pd.offsets.MonthEnd(0)

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


DEFAULT_WINDOW = StudyWindow()


# --------------------------------------------------------------------------------------------
# table specifications
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    description: str
    allowed: tuple[str, ...] | None = None  # for kind "category"
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None  # a regular expression an id or code must match in full
    required: bool = True
    in_window: bool = False  # dates and months must fall inside the study window
    persons: bool = False  # a count of persons: never published below the disclosure threshold


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    # (left column, right column, words) pairs meaning left <= right on every row
    not_greater: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


REGION_NAMES: tuple[str, ...] = tuple(r.name for r in REGIONS)
_CLUSTER_ID = r"C\d{3,}"
_CLINIC_ID = r"K\d{4,}"

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "clusters",
            "one row per quality cluster",
            (
                ColumnSpec("cluster_id", "id", "cluster identifier, e.g. C001"),
                ColumnSpec("cluster_name", "text", "the cluster's name", required=False),
                ColumnSpec("region", "category", "region", allowed=REGION_NAMES),
                ColumnSpec("n_clinics", "int", "number of clinics", minimum=1),
                ColumnSpec("n_gps", "int", "number of GPs", minimum=1, persons=True),
                ColumnSpec(
                    "listed_patients",
                    "int",
                    "patients listed with its clinics",
                    minimum=1,
                    persons=True,
                ),
            ),
            key=("cluster_id",),
        ),
        TableSpec(
            "clinics",
            "one row per general-practice clinic",
            (
                ColumnSpec("clinic_id", "id", "clinic identifier, e.g. K0001"),
                ColumnSpec("cluster_id", "id", "the clinic's quality cluster"),
                ColumnSpec("region", "category", "region", allowed=REGION_NAMES),
                ColumnSpec("n_gps", "int", "number of GPs", minimum=1, persons=True),
                ColumnSpec("listed_patients", "int", "listed patients", minimum=1, persons=True),
                ColumnSpec("urbanicity", "category", "urban or rural", allowed=("urban", "rural")),
                ColumnSpec(
                    "practice_type",
                    "category",
                    "solo or partnership",
                    allowed=("solo", "partnership"),
                ),
            ),
            key=("clinic_id",),
        ),
        TableSpec(
            "gps",
            "one row per general practitioner",
            (
                ColumnSpec("gp_id", "id", "GP identifier, e.g. G00001"),
                ColumnSpec("clinic_id", "id", "the GP's clinic"),
                ColumnSpec("cluster_id", "id", "the GP's quality cluster"),
                ColumnSpec("sex", "category", "F or M", allowed=("F", "M"), required=False),
                ColumnSpec(
                    "birth_year", "int", "year of birth", minimum=1900, maximum=2010, required=False
                ),
            ),
            key=("gp_id",),
        ),
        TableSpec(
            "meetings",
            "one row per cluster meeting",
            (
                ColumnSpec("meeting_id", "id", "meeting identifier, e.g. M00001"),
                ColumnSpec("cluster_id", "id", "the cluster that met"),
                ColumnSpec("date", "date", "the meeting's date", in_window=True),
                ColumnSpec("topic", "category", "the meeting's topic", allowed=tuple(TOPICS)),
            ),
            key=("meeting_id",),
        ),
        TableSpec(
            "attendance",
            "one row per GP invited to a meeting",
            (
                ColumnSpec("meeting_id", "id", "the meeting"),
                ColumnSpec("gp_id", "id", "the GP"),
                ColumnSpec("attended", "bool", "whether the GP attended"),
            ),
            key=("meeting_id", "gp_id"),
        ),
        TableSpec(
            "prescribing",
            "one row per clinic, month and prescribing indicator",
            (
                ColumnSpec("clinic_id", "id", "the clinic"),
                ColumnSpec("month", "month", "first day of the month", in_window=True),
                ColumnSpec(
                    "indicator",
                    "category",
                    "prescribing indicator",
                    allowed=tuple(INDICATOR_BY_KEY),
                ),
                ColumnSpec("ddd", "float", "defined daily doses dispensed", minimum=0),
                ColumnSpec("prescriptions", "int", "prescriptions dispensed", minimum=0),
                ColumnSpec(
                    "users", "int", "distinct patients with a prescription", minimum=0, persons=True
                ),
                ColumnSpec(
                    "listed_patients", "int", "patients listed that month", minimum=1, persons=True
                ),
            ),
            key=("clinic_id", "month", "indicator"),
            not_greater=(
                ("users", "prescriptions", "a patient counts as a user only with a prescription"),
            ),
        ),
        TableSpec(
            "register",
            "one row per dispensed prescription (individual records, register/year=YYYY/*.parquet)",
            (
                ColumnSpec("person_id", "id", "pseudonymous person"),
                ColumnSpec("clinic_id", "id", "the person's clinic"),
                ColumnSpec("date", "date", "dispensing date", in_window=True),
                ColumnSpec(
                    "atc", "id", "ATC code, e.g. M01AE01", pattern=r"[A-Z]\d{2}[A-Z0-9]{0,4}"
                ),
                ColumnSpec("ddd", "float", "defined daily doses", minimum=0),
            ),
        ),
    )
}

#: counts of persons the package derives from the canonical tables, under the names its methods
#: and notebooks give them (attendance: GPs invited to / attending meetings; coordinators
#: interviewed). Tables whose columns keep these names, or the canonical ones, inherit the mark.
DERIVED_PERSON_COLUMNS: tuple[str, ...] = (
    "invited",
    "attended",
    "attending",
    "absent",
    "gps",
    "flagged_gps",
    "persistent_absentees",
    "patients",
    "n_patients",
    "n_users",
    "n_invited",
    "n_attended",
    "coordinators",
    "n_coordinators",
    "interviews",
    "n_interviews",
)
#: every column name that counts persons: marked ``persons=True`` in :data:`TABLES`, or derived
PERSON_COLUMNS: frozenset[str] = frozenset(
    [c.name for spec in TABLES.values() for c in spec.columns if c.persons]
    + list(DERIVED_PERSON_COLUMNS)
)


def counts_persons(column: object) -> bool:
    """True if a column of this canonical name counts persons (see :data:`PERSON_COLUMNS`).

    >>> [counts_persons(c) for c in ("listed_patients", "invited", "ddd", "n_clinics")]
    [True, True, False, False]
    """
    return str(column) in PERSON_COLUMNS


CANONICAL_TABLES: tuple[str, ...] = (
    "clusters",
    "clinics",
    "gps",
    "meetings",
    "attendance",
    "prescribing",
)


def spec_for(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise InputError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}") from None


# --------------------------------------------------------------------------------------------
# conform: any reader's output -> canonical dtypes, reporting values that cannot be converted
# --------------------------------------------------------------------------------------------

_REGION_ALIASES = {
    **{r.name.casefold(): r.name for r in REGIONS},
    **{r.slug: r.name for r in REGIONS},
    **{f"region {r.name.casefold()}": r.name for r in REGIONS},
    **{f"region {r.slug}": r.name for r in REGIONS},
    "sjaelland": "Sjælland",
    "region sjaelland": "Sjælland",
}
_TRUE = {"true", "t", "1", "yes", "y", "ja", "j", "sand"}
_FALSE = {"false", "f", "0", "no", "n", "nej", "falsk"}
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y%m%d", "%Y-%m-%d %H:%M:%S")
_MONTH_FORMATS = ("%Y-%m", "%YM%m", "%Y%m")


def normalise_column_name(name: object) -> str:
    """'Clinic ID ' -> 'clinic_id': SAS and Excel files often differ only in case and spaces."""
    return re.sub(r"[\s\-]+", "_", str(name).strip()).casefold()


def _offending(mask: np.ndarray | pd.Series, limit: int = 20) -> tuple[tuple[int, ...], int]:
    positions = np.flatnonzero(np.asarray(mask))
    return tuple(int(p) for p in positions[:limit]), int(len(positions))


def _examples(values: pd.Series, limit: int = 3) -> str:
    shown = ", ".join(repr(v) for v in pd.unique(values.astype(object))[:limit])
    return shown


def _as_text(series: pd.Series) -> pd.Series:
    """Strings, keeping missing values as None; whole floats lose their '.0'."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.notna() & (series == np.floor(series))
        out = series.astype(object)
        out[whole] = series[whole].astype(np.int64).astype(str)
        out[series.notna() & ~whole] = series[series.notna() & ~whole].astype(str)
        return out.where(series.notna(), None)
    if pd.api.types.is_integer_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(str).astype(object)
    # Clean each distinct value once: identifiers repeat on many rows.
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    cleaned = np.array([_clean_text(v) for v in uniques] + [None], dtype=object)
    return pd.Series(cleaned[codes], index=series.index, dtype=object)


def _clean_text(value: object) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        return str(int(value)) if value == np.floor(value) else str(value)
    text = str(value).strip()
    return text or None


def _parse_dates(values: pd.Series, formats: Sequence[str]) -> pd.Series:
    """Parse strings trying each format in turn per value; unparsable values become NaT."""
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = values.notna()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(values[todo], format=fmt, errors="coerce")
        result[parsed.index] = result[parsed.index].where(parsed.isna(), parsed)
        todo = todo & result.isna()
    return result


def _compact_dates(series: pd.Series, kind: Kind) -> pd.Series | None:
    """Numbers such as 20190314 (YYYYMMDD) or, for months, 201903 (YYYYMM) as dates; None if
    any present value is not one."""
    present = series.dropna()
    if present.empty or not (present == np.floor(present)).all():
        return None
    digits = present.astype(np.int64).astype(str)
    for width, fmt in ((8, "%Y%m%d"), (6, "%Y%m")):
        if width == 6 and kind != "month":
            continue
        if (digits.str.len() == width).all():
            parsed = pd.to_datetime(digits, format=fmt, errors="coerce")
            if parsed.notna().all() and parsed.dt.year.between(1900, 2100).all():
                return parsed.reindex(series.index).astype("datetime64[ns]")
    return None


def _conform_column(
    series: pd.Series, spec: ColumnSpec, table: str, file: str | None
) -> tuple[pd.Series, list[Problem]]:
    problems: list[Problem] = []

    def problem(mask, message):
        rows, n = _offending(mask)
        problems.append(Problem(table, message, file, spec.name, rows, n))

    missing = series.isna().to_numpy()
    if series.dtype == object or isinstance(series.dtype, pd.CategoricalDtype):
        missing = _as_text(series).isna().to_numpy()  # blank strings count as missing
    if missing.any():
        problem(missing, f"missing value; expected {spec.description} on every row")

    kind = spec.kind
    if kind in ("id", "text", "category"):
        out = _as_text(series)
        if spec.name == "region":
            out = out.map(
                lambda v: _REGION_ALIASES.get(v.casefold(), v) if isinstance(v, str) else v
            )
        return out, problems

    if kind in ("int", "float"):
        if pd.api.types.is_bool_dtype(series.dtype):
            numbers = series.astype(float)
        elif pd.api.types.is_numeric_dtype(series.dtype):
            numbers = series.astype(float)
        else:
            numbers = pd.to_numeric(_as_text(series), errors="coerce")
        # infinities are not counts or doses either
        bad = ~np.isfinite(numbers.to_numpy(dtype=float)) & ~missing
        numbers = numbers.where(~bad)
        if bad.any():
            problem(
                bad,
                f"wrong type: expected a {'whole number' if kind == 'int' else 'number'} "
                f"({spec.description}), found {_examples(series[bad])}",
            )
        if kind == "int":
            fractional = numbers.notna().to_numpy() & (numbers != np.floor(numbers)).to_numpy()
            if fractional.any():
                problem(
                    fractional,
                    f"wrong type: expected a whole number ({spec.description}), "
                    f"found {_examples(series[fractional])}",
                )
                bad = bad | fractional
            if not (bad.any() or missing.any()):
                return numbers.astype(np.int64), problems
        elif not bad.any():
            return numbers.astype(np.float64), problems
        return numbers, problems

    if kind == "bool":
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.astype(bool), problems
        text = _as_text(series).map(lambda v: v.casefold() if isinstance(v, str) else v)
        text = text.map(lambda v: v[:-2] if isinstance(v, str) and v.endswith(".0") else v)
        out = text.map(lambda v: True if v in _TRUE else False if v in _FALSE else None)
        bad = out.isna().to_numpy() & ~missing
        if bad.any():
            problem(
                bad, f"wrong type: expected true/false (or 1/0), found {_examples(series[bad])}"
            )
        if bad.any() or missing.any():
            return out, problems
        return out.astype(bool), problems

    # dates and months
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = series
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        out = out.astype("datetime64[ns]")
    elif pd.api.types.is_numeric_dtype(series.dtype) and _compact_dates(series, kind) is not None:
        # registers often write dates as numbers: 20190314 (or months as 201903)
        out = _compact_dates(series, kind)
    elif pd.api.types.is_numeric_dtype(series.dtype) and not missing.all():
        problem(
            ~missing,
            f"wrong type: expected a date ({spec.description}), found numbers such as "
            f"{_examples(series[~missing])}; give the column a date format in SAS/Stata "
            "or write dates as YYYY-MM-DD",
        )
        return series, problems
    else:
        objects = series.astype(object)
        if pd.api.types.infer_dtype(objects, skipna=True) in ("date", "datetime", "datetime64"):
            is_date = objects.notna()
        else:
            is_date = objects.map(lambda v: isinstance(v, (dt.date, pd.Timestamp, np.datetime64)))
        out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
        if is_date.any():
            out[is_date] = pd.to_datetime(objects[is_date])
        text = _as_text(objects.where(~is_date, None))
        formats = _DATE_FORMATS + (_MONTH_FORMATS if kind == "month" else ())
        if text.notna().any():
            parsed = _parse_dates(text, formats)
            out = out.where(out.notna(), parsed)
        bad = out.isna().to_numpy() & ~missing
        if bad.any():
            example = "2019-03" if kind == "month" else "2019-03-14"
            problem(
                bad,
                f"wrong type: expected a {'month' if kind == 'month' else 'date'} like {example}, "
                f"found {_examples(series[bad])}",
            )
            return out, problems
    return out, problems


def conform(
    frame: pd.DataFrame,
    table: str,
    file: str | None = None,
    columns: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[Problem], set[str]]:
    """Rename and convert a table as read to the canonical dtypes.

    ``columns`` maps names in the file to canonical names (``{"praksis_id": "clinic_id"}``);
    otherwise names are matched after lower-casing and replacing spaces with underscores.
    Returns the conformed frame (canonical columns first, extra columns kept as they were), the
    problems found, and the names of columns that could not be converted (their values are
    left as read, and schema checks skip them so each problem is reported once).
    """
    spec = spec_for(table)
    problems: list[Problem] = []
    frame = frame.reset_index(drop=True)
    rename = {c: normalise_column_name(c) for c in frame.columns}
    if columns:
        rename.update({src: dst for src, dst in columns.items() if src in frame.columns})
    frame = frame.rename(columns=rename)
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        problems.append(
            Problem(table, f"column(s) {', '.join(dupes)} appear more than once; keep one", file)
        )
        frame = frame.loc[:, ~frame.columns.duplicated()]
    missing_cols = [c for c in spec.required_columns if c not in frame.columns]
    for name in missing_cols:
        problems.append(
            Problem(
                table,
                f"missing column: expected {spec.column(name).description}; the table needs "
                f"{', '.join(spec.required_columns)} "
                f"and has {', '.join(map(str, frame.columns)) or 'no columns'}",
                file,
                name,
            )
        )
    unconvertible: set[str] = set(missing_cols)
    out = {}
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        converted, col_problems = _conform_column(frame[col.name], col, table, file)
        out[col.name] = converted
        if col_problems:
            problems += col_problems
            unconvertible.add(col.name)
    extra = [c for c in frame.columns if c not in out]
    conformed = pd.DataFrame(out, index=frame.index)
    for name in extra:
        conformed[name] = frame[name]
    return conformed, problems, unconvertible


# --------------------------------------------------------------------------------------------
# validate: pandera schemas for the value rules
# --------------------------------------------------------------------------------------------

_PANDERA_DTYPE = {
    "id": object,
    "text": object,
    "category": object,
    "int": "int64",
    "float": "float64",
    "bool": "bool",
    "date": "datetime64[ns]",
    "month": "datetime64[ns]",
}


def pandera_schema(
    table: str,
    window: StudyWindow = DEFAULT_WINDOW,
    skip: Iterable[str] = (),
    only: Iterable[str] | None = None,
):
    """The pandera schema for a conformed table. Checks carry their expectation in words,
    which pandera reports as the failing check's name. ``skip`` leaves columns out; ``only``
    keeps just those columns' own checks (no keys, no checks across columns)."""
    import pandera.pandas as pa

    spec = spec_for(table)
    skip = set(skip)
    if only is not None:
        only = set(only)
        skip |= {c.name for c in spec.columns if c.name not in only}
    columns = {}
    for col in spec.columns:
        if col.name in skip:
            continue
        checks = []
        if col.allowed is not None:
            checks.append(
                pa.Check.isin(list(col.allowed), error=f"one of {', '.join(col.allowed)}")
            )
        if col.pattern is not None:
            checks.append(
                pa.Check.str_matches(f"^(?:{col.pattern})$", error=f"a code matching {col.pattern}")
            )
        if col.minimum is not None:
            checks.append(pa.Check.ge(col.minimum, error=f"{col.minimum:g} or more"))
        if col.maximum is not None:
            checks.append(pa.Check.le(col.maximum, error=f"{col.maximum:g} or less"))
        if col.kind == "month":
            checks.append(
                pa.Check(
                    lambda s: s.dt.is_month_start & (s.dt.normalize() == s),
                    error="the first day of a month",
                )
            )
        if col.in_window:
            checks.append(
                pa.Check.in_range(
                    window.first_day,
                    window.last_day,
                    error=f"inside the study window {window} "
                    f"({window.first_day:%Y-%m-%d} to {window.last_day:%Y-%m-%d})",
                )
            )
        columns[col.name] = pa.Column(
            _PANDERA_DTYPE[col.kind], checks=checks, nullable=False, required=col.required
        )
    frame_checks = []
    for left, right, why in spec.not_greater:
        if only is not None or left in skip or right in skip:
            continue
        frame_checks.append(
            pa.Check(
                lambda df, left=left, right=right: df[left] <= df[right],
                error=f"{left} <= {right} ({why})",
            )
        )
    key = [k for k in spec.key if k not in skip]
    unique = key if only is None and key and len(key) == len(spec.key) else None
    return pa.DataFrameSchema(
        columns, checks=frame_checks, unique=unique, strict=False, coerce=False
    )


def validate_table(
    frame: pd.DataFrame,
    table: str,
    window: StudyWindow = DEFAULT_WINDOW,
    file: str | None = None,
    skip: Iterable[str] = (),
) -> list[Problem]:
    """Every rule of the table's schema broken by a conformed frame, as problems."""
    spec = spec_for(table)
    if len(frame) == 0:
        return [Problem(table, f"no data rows: expected {spec.description}", file)]
    problems = _run_schema(pandera_schema(table, window, skip), frame, spec, file)
    # Columns that failed conversion still get their value checks on the rows that did
    # convert, so a list size column with one blank and one zero reports both.
    for name in skip:
        if name not in frame.columns:
            continue
        partial = _converted_rows(frame[name], spec.column(name))
        if partial is not None and len(partial):
            problems += _run_schema(
                pandera_schema(table, window, only=[name]), partial.to_frame(), spec, file
            )
    return problems


def _run_schema(schema, frame: pd.DataFrame, spec: TableSpec, file: str | None) -> list[Problem]:
    import pandera.errors

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        return _problems_from_pandera(err.failure_cases, frame, spec, file)
    return []


def _converted_rows(series: pd.Series, spec: ColumnSpec) -> pd.Series | None:
    """The values of a partly converted column that did convert, in the canonical dtype
    (index kept, so rows are reported where they are in the file)."""
    present = series[series.notna()]
    if spec.kind == "int" and pd.api.types.is_float_dtype(present.dtype):
        return present[present == present.round()].astype(np.int64)
    if spec.kind == "float" and pd.api.types.is_float_dtype(present.dtype):
        return present.astype(np.float64)
    if spec.kind in ("date", "month") and pd.api.types.is_datetime64_any_dtype(present.dtype):
        return present.astype("datetime64[ns]")
    if spec.kind == "bool" and present.map(lambda v: isinstance(v, bool)).all():
        return present.astype(bool)
    if spec.kind in ("id", "text", "category") and present.map(lambda v: isinstance(v, str)).all():
        return present.astype(object)
    return None


def _problems_from_pandera(
    cases: pd.DataFrame, frame: pd.DataFrame, spec: TableSpec, file: str | None
) -> list[Problem]:
    problems: list[Problem] = []
    table = spec.name
    cases = cases.copy()
    cases["column"] = cases["column"].astype(object).where(cases["column"].notna(), None)
    seen_frame_checks: set[str] = set()
    for (context, column, check), group in cases.groupby(
        ["schema_context", "column", "check"], dropna=False, sort=False
    ):
        column = None if pd.isna(column) else column
        index = pd.to_numeric(group["index"], errors="coerce").dropna().astype(int).unique()
        rows = tuple(sorted(int(i) for i in index))
        if check == "multiple_fields_uniqueness" or check == "field_uniqueness":
            continue  # reported below from the frame itself, with the repeated keys
        if context == "DataFrameSchema" and column is not None and check not in seen_frame_checks:
            # a row-wise frame check lists each failing row once per column: report once
            seen_frame_checks.add(check)
            problems.append(Problem(table, f"expected {check}", file, None, rows[:20], len(rows)))
            continue
        if context == "DataFrameSchema":
            continue
        if check.startswith("dtype("):
            actual = str(group["failure_case"].iloc[0])
            problems.append(
                Problem(
                    table,
                    f"wrong type: expected {_PANDERA_DTYPE[spec.column(column).kind]}, "
                    f"found {actual}",
                    file,
                    column,
                )
            )
            continue
        examples = _examples(group["failure_case"])
        problems.append(
            Problem(
                table,
                f"expected {check}, found {examples}",
                file,
                column,
                rows[:20],
                len(rows),
            )
        )
    problems += _duplicate_key_problems(frame, spec, file)
    return problems


def _duplicate_key_problems(
    frame: pd.DataFrame, spec: TableSpec, file: str | None
) -> list[Problem]:
    key = list(spec.key)
    if not key or any(k not in frame.columns for k in key):
        return []
    dup = frame.duplicated(key, keep=False)
    if not dup.any():
        return []
    problems = []
    groups = frame[dup].groupby(key, sort=False, dropna=False).groups
    n_groups = len(groups)
    for i, (values, index) in enumerate(groups.items()):
        if i == 5:
            problems.append(
                Problem(
                    spec.name, f"and {n_groups - 5} more repeated keys ({', '.join(key)})", file
                )
            )
            break
        values = values if isinstance(values, tuple) else (values,)
        shown = ", ".join(f"{k}={_show(v)}" for k, v in zip(key, values))
        problems.append(
            Problem(
                spec.name,
                f"duplicate key: {shown} appears {len(index)} times; expected one row per "
                f"{', '.join(key)}",
                file,
                None,
                tuple(int(i) for i in sorted(index))[:20],
                len(index),
            )
        )
    return problems


def _show(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


# --------------------------------------------------------------------------------------------
# cross-table rules
# --------------------------------------------------------------------------------------------

# (table, column, referenced table, referenced column)
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("clinics", "cluster_id", "clusters", "cluster_id"),
    ("gps", "clinic_id", "clinics", "clinic_id"),
    ("gps", "cluster_id", "clusters", "cluster_id"),
    ("meetings", "cluster_id", "clusters", "cluster_id"),
    ("attendance", "meeting_id", "meetings", "meeting_id"),
    ("attendance", "gp_id", "gps", "gp_id"),
    ("prescribing", "clinic_id", "clinics", "clinic_id"),
)


def cross_table_problems(
    tables: dict[str, pd.DataFrame], files: dict[str, str] | None = None
) -> list[Problem]:
    """References between tables that point nowhere, and disagreements between tables
    (a clinic's region or cluster differing from its cluster's or GP's)."""
    files = files or {}
    problems: list[Problem] = []
    for table, column, ref_table, ref_column in REFERENCES:
        if table not in tables or ref_table not in tables:
            continue
        frame, ref = tables[table], tables[ref_table]
        if column not in frame.columns or ref_column not in ref.columns:
            continue
        unknown = ~frame[column].isin(ref[ref_column]) & frame[column].notna()
        if unknown.any():
            rows, n = _offending(unknown)
            values = pd.unique(frame.loc[unknown, column])
            shown = ", ".join(map(str, values[:5])) + (
                f" and {len(values) - 5} more" if len(values) > 5 else ""
            )
            problems.append(
                Problem(
                    table,
                    f"unknown {ref_column.removesuffix('_id')} {shown}: expected every {column} "
                    f"to appear in {files.get(ref_table, ref_table)}",
                    files.get(table),
                    column,
                    rows,
                    n,
                )
            )
    # the same clinic must sit in the same cluster and region everywhere
    if {"clinics", "clusters"} <= tables.keys():
        clinics, clusters = tables["clinics"], tables["clusters"]
        if {"cluster_id", "region"} <= set(clinics.columns) and {"cluster_id", "region"} <= set(
            clusters.columns
        ):
            region_of = clusters.drop_duplicates("cluster_id").set_index("cluster_id")["region"]
            expected = clinics["cluster_id"].map(region_of)
            wrong = expected.notna() & (clinics["region"] != expected)
            if wrong.any():
                rows, n = _offending(wrong)
                problems.append(
                    Problem(
                        "clinics",
                        "region differs from the region of the clinic's cluster in "
                        f"{files.get('clusters', 'clusters')}",
                        files.get("clinics"),
                        "region",
                        rows,
                        n,
                    )
                )
    if {"gps", "clinics"} <= tables.keys():
        gps, clinics = tables["gps"], tables["clinics"]
        if "cluster_id" in gps.columns and {"clinic_id", "cluster_id"} <= set(clinics.columns):
            cluster_of = clinics.drop_duplicates("clinic_id").set_index("clinic_id")["cluster_id"]
            expected = gps["clinic_id"].map(cluster_of)
            wrong = expected.notna() & (gps["cluster_id"] != expected)
            if wrong.any():
                rows, n = _offending(wrong)
                problems.append(
                    Problem(
                        "gps",
                        "cluster_id differs from the cluster of the GP's clinic in "
                        f"{files.get('clinics', 'clinics')}",
                        files.get("gps"),
                        "cluster_id",
                        rows,
                        n,
                    )
                )
    return problems
