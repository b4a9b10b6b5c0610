"""Disclosure control: no shared report shows a count of fewer than five persons.

Statistics Denmark's rule for published tables is that no cell may describe fewer than five
persons. Two halves enforce it here:

1. **Before display**, notebooks pass every table with counts through
   :func:`suppress_small_counts` (and figure labels through :func:`suppress_count`). Counts
   ``0 < n < threshold`` are replaced by a mark such as ``"<5"``.
2. **After rendering**, :func:`check_html` reads every table and every labelled figure in the
   report's HTML; if a small count slipped through, the batch runner refuses to publish the
   report (status ``blocked``) and says which table, column and row to fix.

Which columns count persons? By meaning, not by how a name reads (why: docs/decisions/0003):

- the canonical schemas mark them (:data:`evaluation.data.schemas.PERSON_COLUMNS`: ``n_gps``,
  ``listed_patients``, ``users``, ``invited``, ``attended``, ...); a table whose columns keep
  those names inherits the mark;
- a table a notebook derives declares its own: ``suppress_small_counts(table, columns=[...])``,
  ``declare_persons(table, [...])``, ``record(name, table, persons=[...])`` or
  ``reader_table(table, persons=[...])``. The declaration travels with the frame (in
  ``frame.attrs["persons"]``) through copies, sorting and ``reset_index``;
- :func:`~evaluation.reports.present.reader_table` writes the mark into the HTML
  (``<th data-unit="persons">``), and the check over the rendered report reads it there.

Only a table that declares nothing at all (no canonical person column, no declaration: a raw
DataFrame, an old notebook) is judged by its column names, as a safety net:
:func:`is_count_column` (``n``, ``count``, ``n_*``, words like *patients*, *users*, *GPs*).
Zero is not suppressed by default (it describes nobody); ``suppress_zero=True`` changes that.

Secondary suppression: a table that shows totals (a row of column totals, ``total_row=``, and/or
a column of row totals, ``row_total=``) would let a reader recover a hidden cell by
subtraction. :func:`suppress_small_counts` then also hides, in every row and column holding a
hidden cell, the total (and where that is not enough the smallest other cell), until no row or
column has exactly one hidden value; those cells show :data:`SECONDARY_MARK`.

The threshold is 5 unless the environment variable ``EVALUATION_DISCLOSURE_THRESHOLD`` says
otherwise; ``workbench run --disclosure-threshold N`` sets it for every notebook it runs, so the
notebooks' suppression and the report check always agree.

What it does not do: read numbers inside raster images that were not passed as labels (label
bars with :func:`suppress_count`), or find totals a table does not say it has (pass
``total_row``/``row_total``), or totals published in another table or in the text.

Example
-------
>>> import pandas as pd
>>> table = pd.DataFrame(
...     {"cluster": ["C001", "C002"], "n_patients": [3, 120], "rate_per_1000": [1.5, 2.0]}
... )
>>> suppress_small_counts(table, threshold=5)
  cluster n_patients  rate_per_1000
0    C001         <5            1.5
1    C002        120            2.0
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.data.schemas import counts_persons
from evaluation.errors import EvaluationError, InputError, MissingColumnsError

DEFAULT_THRESHOLD = 5
THRESHOLD_ENV = "EVALUATION_DISCLOSURE_THRESHOLD"
#: the key in ``DataFrame.attrs`` that lists a table's declared person-count columns
PERSONS_ATTR = "persons"
#: the HTML attribute a reader table's header cell carries when its column counts persons
UNIT_ATTRIBUTE = "data-unit"
#: the HTML attribute of a table that declares its units (its marks are then the whole truth)
UNITS_DECLARED_ATTRIBUTE = "data-units"
#: what a cell hidden only to protect another (secondary suppression) shows
SECONDARY_MARK = "(hidden)"

#: words (after lower-casing and turning spaces/hyphens into underscores) that make a column a count
COUNT_WORDS = (
    "patients",
    "persons",
    "people",
    "individuals",
    "users",
    "gps",
    "doctors",
    "clinics",
    "practices",
    "prescriptions",
    "attended",
    "attendees",
    "absentees",
    "participants",
    "respondents",
    "coordinators",
    "deaths",
    "cases",
    "antal",
)
#: units that are not persons: "n_estimates", "n_months" or "meetings" may be small
NOT_PERSON_UNITS = (
    "estimates",
    "cohorts",
    "periods",
    "months",
    "years",
    "weeks",
    "days",
    "meetings",
    "clusters",
    "regions",
    "topics",
    "indicators",
    "groups",
    "iterations",
    "bootstrap",
    "replications",
    "draws",
    "cells",
    "rows",
    "parameters",
    "lags",
    "leads",
    "knots",
    "terms",
    "df",
)
#: words that make a column a rate, mean or share rather than a count
NOT_COUNT_WORDS = (
    "per",
    "rate",
    "share",
    "pct",
    "percent",
    "proportion",
    "mean",
    "median",
    "average",
    "avg",
    "ratio",
    "sd",
    "se",
    "ci",
    "ddd",
    "change",
    "difference",
    "diff",
    "estimate",
    "log",
    "id",
    "year",
    "month",
    "date",
    "first",
    "last",
)


def disclosure_threshold(threshold: int | None = None) -> int:
    """The threshold in force: the argument, else $EVALUATION_DISCLOSURE_THRESHOLD, else 5."""
    if threshold is not None:
        return int(threshold)
    value = os.environ.get(THRESHOLD_ENV, "").strip()
    if not value:
        return DEFAULT_THRESHOLD
    try:
        return int(value)
    except ValueError:
        raise InputError(
            f"{THRESHOLD_ENV}={value!r} is not a whole number; set it to e.g. 5 or unset it."
        ) from None


def _words(name: object) -> list[str]:
    text = re.sub(r"[^0-9a-zæøå%]+", "_", str(name).strip().lower())
    return [w for w in text.split("_") if w]


def is_count_column(name: object) -> bool:
    """True if a column called ``name`` reads like a count of persons or units.

    >>> names = ["n", "n_gps", "listed patients", "users_per_1000", "n_estimates"]
    >>> [is_count_column(name) for name in names]
    [True, True, True, False, False]
    """
    words = _words(name)
    if not words or "%" in str(name):
        return False
    if any(w in NOT_COUNT_WORDS or w in NOT_PERSON_UNITS for w in words):
        return False
    if words[0] in ("n", "count", "number", "num", "antal", "size", "frequency", "freq"):
        return True
    if words[-1] in ("n", "count", "counts"):
        return True
    return any(w in COUNT_WORDS for w in words)


def declare_persons(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``frame`` (a shallow copy) declaring that ``columns`` count persons.

    The declaration is kept in ``frame.attrs["persons"]``, so it travels with the table to
    :func:`suppress_small_counts`, :func:`~evaluation.records.record` and
    :func:`~evaluation.reports.present.reader_table`.

    >>> table = declare_persons(pd.DataFrame({"week": [1], "came": [3]}), ["came"])
    >>> person_columns(table)
    ['came']
    """
    columns = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(missing, "declare_persons", available=frame.columns)
    out = frame.copy(deep=False)
    out.attrs = {**frame.attrs, PERSONS_ATTR: _declared_in(frame) + columns}
    out.attrs[PERSONS_ATTR] = list(dict.fromkeys(out.attrs[PERSONS_ATTR]))
    return out


def _declared_in(frame: pd.DataFrame) -> list:
    return list(getattr(frame, "attrs", {}).get(PERSONS_ATTR) or [])


def declared_person_columns(frame: pd.DataFrame, persons=None) -> list:
    """The columns of ``frame`` that count persons by meaning: canonical names the schemas mark
    (:func:`evaluation.data.schemas.counts_persons`), the frame's declaration
    (:func:`declare_persons`) and ``persons``; in the frame's column order.

    >>> frame = pd.DataFrame({"year": [2019], "invited": [3], "n_things": [2]})
    >>> declared_person_columns(frame), declared_person_columns(frame, ["n_things"])
    (['invited'], ['invited', 'n_things'])
    """
    wanted = set(_declared_in(frame)) | set(
        [persons] if isinstance(persons, str) else persons or []
    )
    return [c for c in frame.columns if c in wanted or counts_persons(c)]


def person_columns(frame: pd.DataFrame, persons=None) -> list:
    """The columns to suppress: :func:`declared_person_columns`, or, for a table that declares
    nothing, the numeric columns whose names read like counts (:func:`is_count_column`)."""
    declared = declared_person_columns(frame, persons)
    if declared:
        return declared
    return [
        c
        for c in frame.columns
        if is_count_column(c)
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def suppress_mark(threshold: int | None = None) -> str:
    """The text shown instead of a small count: ``"<5"`` for the default threshold."""
    return f"<{disclosure_threshold(threshold)}"


def _is_small(value: object, threshold: int, suppress_zero: bool) -> bool:
    if value is None or isinstance(value, bool) or pd.isna(value):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    lower_ok = number >= 0 if suppress_zero else number > 0
    return lower_ok and number < threshold


def suppress_count(n: object, threshold: int | None = None, suppress_zero: bool = False) -> str:
    """A figure label for a count: the number, or the mark if it is too small to show.

    >>> suppress_count(3), suppress_count(12)
    ('<5', '12')
    """
    limit = disclosure_threshold(threshold)
    if _is_small(n, limit, suppress_zero):
        return suppress_mark(limit)
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    return f"{n:,}" if isinstance(n, int) else str(n)


def publishable_count(n: object, threshold: int | None = None) -> object:
    """A count of persons as it may be recorded in a shared run: the number itself, or the
    suppression mark when it is below the threshold.

    ``record()`` keeps its values in the executed notebook and the run's manifest, which are
    shared with the reports, so a person count recorded there obeys the same rule as a table.

    >>> publishable_count(3), publishable_count(12)
    ('<5', 12)
    """
    limit = disclosure_threshold(threshold)
    if _is_small(n, limit, suppress_zero=False):
        return suppress_mark(limit)
    return int(n) if isinstance(n, float) and n.is_integer() else n


def suppress_small_counts(
    frame: pd.DataFrame | pd.Series,
    columns: list[str] | None = None,
    threshold: int | None = None,
    mark: str | None = None,
    suppress_zero: bool = False,
    *,
    total_row=None,
    row_total: str | None = None,
    secondary_mark: str = SECONDARY_MARK,
) -> pd.DataFrame | pd.Series:
    """Replace counts ``0 < n < threshold`` by a mark, in a copy ready to display; hide totals
    (and where needed a second cell) that would give a hidden count away.

    Parameters
    ----------
    frame : DataFrame or Series
        The table to show. A Series is treated as one column named after it.
    columns : list of str, optional
        The columns that count persons; naming them declares them (the copy carries the
        declaration, see :func:`declare_persons`). Default: :func:`person_columns` (the
        canonical and declared person counts; for a table declaring none, names that read like
        counts).
    threshold : int, optional
        Smallest count that may be shown (default 5, or $EVALUATION_DISCLOSURE_THRESHOLD).
    mark : str, optional
        Text shown instead (default ``"<5"``).
    suppress_zero : bool
        Also hide zeros (default False: a zero describes nobody).
    total_row : index label or boolean mask, optional
        The row holding each column's total over the other rows.
    row_total : str, optional
        The column holding each row's total over the other ``columns``.
    secondary_mark : str
        Text shown in a cell hidden only to protect another (default ``"(hidden)"``).

    Returns
    -------
    A copy; suppressed columns become text (object) columns.

    Secondary suppression: the cells that add up to one total (a column with ``total_row``, a
    row with ``row_total``) form a group. While some group has exactly one unknown cell and it is
    hidden, its total is hidden too, or, when the total already is, the smallest other visible
    cell. Then no hidden count can be worked out by subtracting shown numbers from a shown
    total, along rows, columns or both in turn.

    Example
    -------
    >>> table = pd.DataFrame({"region": ["A", "B", "C", "All"], "gps": [3, 40, 57, 100]})
    >>> suppress_small_counts(table, total_row=3)["gps"].tolist()
    ['<5', 40, 57, '(hidden)']
    """
    limit = disclosure_threshold(threshold)
    mark = suppress_mark(limit) if mark is None else mark
    if isinstance(frame, pd.Series):
        name = frame.name if frame.name is not None else "count"
        out = suppress_small_counts(
            frame.to_frame(name), [name], limit, mark, suppress_zero, total_row=total_row
        )
        return out[name]
    if columns is None:
        columns = person_columns(frame)
    columns = list(columns)
    if row_total is not None and row_total not in columns:
        columns.append(row_total)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(missing, "suppress_small_counts", available=frame.columns)
    out = frame.copy()
    primary = pd.DataFrame(
        {c: out[c].map(lambda v: _is_small(v, limit, suppress_zero)).astype(bool) for c in columns},
        index=out.index,
    )
    secondary = _secondary_suppression(out, columns, primary, total_row, row_total)
    for column in columns:
        for hide, text in ((primary[column], mark), (secondary[column], secondary_mark)):
            if hide.any():
                shown = out[column].astype(object)
                shown[hide.to_numpy()] = text
                out[column] = shown
    out.attrs = {**frame.attrs, PERSONS_ATTR: list(dict.fromkeys(_declared_in(frame) + columns))}
    return out


def _total_row_position(frame: pd.DataFrame, total_row) -> int:
    if isinstance(total_row, (pd.Series, list, tuple)) or hasattr(total_row, "dtype"):
        positions = [i for i, flag in enumerate(list(total_row)) if bool(flag)]
        if len(positions) != 1:
            raise InputError(
                f"suppress_small_counts: total_row marks {len(positions)} rows; mark exactly the "
                "one row that holds the column totals."
            )
        return positions[0]
    try:
        position = frame.index.get_loc(total_row)
    except KeyError:
        raise InputError(
            f"suppress_small_counts: total_row={total_row!r} is not a row label of the table "
            f"(its index runs {list(frame.index[:5])}...); give the label or a boolean mask."
        ) from None
    if not isinstance(position, int):
        raise InputError(
            f"suppress_small_counts: total_row={total_row!r} labels more than one row; give a "
            "boolean mask that marks the one total row."
        )
    return position


def _secondary_suppression(
    frame: pd.DataFrame, columns: list, primary: pd.DataFrame, total_row, row_total
) -> pd.DataFrame:
    """Cells to hide besides ``primary`` so that no hidden count follows by subtraction."""
    secondary = pd.DataFrame(False, index=frame.index, columns=columns)
    if total_row is None and row_total is None:
        return secondary
    values = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    hidden = primary.to_numpy(copy=True)
    added = np.zeros_like(hidden)
    n_rows = len(frame)
    groups: list[tuple[list[tuple[int, int]], tuple[int, int]]] = []
    if total_row is not None:
        t = _total_row_position(frame, total_row)
        body = [r for r in range(n_rows) if r != t]
        groups += [([(r, c) for r in body], (t, c)) for c in range(len(columns))]
    if row_total is not None:
        k = columns.index(row_total)
        parts = [c for c in range(len(columns)) if c != k]
        groups += [([(r, c) for c in parts], (r, k)) for r in range(n_rows)]
    changed = True
    while changed:
        changed = False
        for parts, total in groups:
            members = [*parts, total]
            unknown = [m for m in members if hidden[m] or np.isnan(values[m])]
            if len(unknown) != 1 or not hidden[unknown[0]]:
                continue
            if not hidden[total] and not np.isnan(values[total]):
                choice = total
            else:
                visible = [m for m in parts if not hidden[m] and not np.isnan(values[m])]
                if not visible:
                    continue
                choice = min(visible, key=lambda m: (values[m], m))
            hidden[choice] = added[choice] = True
            changed = True
    return pd.DataFrame(added, index=frame.index, columns=columns)


# --- the check over rendered HTML ------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """One small count found in a rendered report."""

    where: str  # "table 2" or "figure 3"
    column: str
    row: str
    value: str

    def __str__(self) -> str:
        # where, never the value: this text goes into the run's manifest and index, which are
        # shared; the analyst finds the number in the withheld notebook
        return f"{self.where}, column '{self.column}', row '{self.row}'"


class DisclosureError(EvaluationError, RuntimeError):
    """A rendered report shows a count below the threshold; it must not be shared."""

    def __init__(self, leaks: list[Leak], threshold: int, report: str = "the report"):
        self.leaks = leaks
        self.threshold = threshold
        lines = "\n".join(f"  - {leak}" for leak in leaks[:20])
        more = f"\n  ... and {len(leaks) - 20} more" if len(leaks) > 20 else ""
        super().__init__(
            f"Disclosure check failed for {report}: {len(leaks)} count(s) below "
            f"{threshold} would be shown (persons), in\n{lines}{more}\nPass the table through "
            "evaluation.reports.disclosure.suppress_small_counts() (figure labels through "
            "suppress_count()) before displaying it, then run again."
        )


_NUMBER = re.compile(r"^[+-]?\d{1,3}(?:[,\u00a0 ]\d{3})*(?:\.0+)?$|^[+-]?\d+(?:\.0+)?$")


def _as_count(text: str) -> int | None:
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    return int(float(re.sub(r"[,\u00a0 ]", "", text)))


def _table_grid(table) -> tuple[list[list[str]], int]:
    """Expand a <table> into a grid of cell texts (rowspan/colspan resolved), and return it with
    the number of header rows."""
    rows = table.xpath("./thead/tr | ./tbody/tr | ./tr | ./tfoot/tr")
    n_header = len(table.xpath("./thead/tr"))
    grid: list[list[str]] = []
    pending: dict[tuple[int, int], str] = {}
    for r, row in enumerate(rows):
        out: list[str] = []
        c = 0
        cells = row.xpath("./th | ./td")
        i = 0
        while i < len(cells) or (r, c) in pending:
            if (r, c) in pending:
                out.append(pending.pop((r, c)))
                c += 1
                continue
            cell = cells[i]
            i += 1
            text = " ".join(cell.text_content().split())
            span_c = int(cell.get("colspan", "1") or 1)
            span_r = int(cell.get("rowspan", "1") or 1)
            for dc in range(span_c):
                out.append(text)
                for dr in range(1, span_r):
                    pending[(r + dr, c + dc)] = text
            c += span_c
        grid.append(out)
    if n_header == 0 and grid and rows and not rows[0].xpath("./td"):
        n_header = 1
    return grid, n_header


def _marked_columns(table) -> set[int] | None:
    """Positions of the columns a table marks as counting persons, or None if the table does
    not declare its units (then its headers are judged by name)."""
    if table.get(UNITS_DECLARED_ATTRIBUTE) is None:
        return None
    marked: set[int] = set()
    for row in table.xpath("./thead/tr | ./tr[th and not(td)]"):
        position = 0
        for cell in row.xpath("./th | ./td"):
            span = int(cell.get("colspan", "1") or 1)
            if cell.get(UNIT_ATTRIBUTE) == "persons":
                marked.update(range(position, position + span))
            position += span
    return marked


def _table_leaks(table, number: int, threshold: int) -> list[Leak]:
    grid, n_header = _table_grid(table)
    if not n_header or len(grid) <= n_header:
        return []
    width = max(len(r) for r in grid)
    labels = []
    for c in range(width):
        parts = [grid[h][c] for h in range(n_header) if c < len(grid[h]) and grid[h][c]]
        labels.append(" ".join(dict.fromkeys(parts)))
    marked = _marked_columns(table)

    def counts_persons_at(c: int) -> bool:  # by the table's marks; by name only if it has none
        return c in marked if marked is not None else is_count_column(labels[c])

    # the row label: the leading <th> cells of a body row (a DataFrame's index); a reader
    # table has none, and is named by its first cell (or the row's number)
    leaks = []
    rows = table.xpath("./thead/tr | ./tbody/tr | ./tr")[n_header:]
    for position, (row_cells, row) in enumerate(zip(grid[n_header:], rows), start=1):
        n_index = len(row.xpath("./th"))
        row_label = " / ".join(row_cells[:n_index])
        for c, text in enumerate(row_cells):
            if c < n_index or c >= len(labels) or not counts_persons_at(c):
                continue
            value = _as_count(text)
            if value is not None and 0 < value < threshold:
                name = row_label or (row_cells[0] if c > 0 and row_cells[0] else f"row {position}")
                leaks.append(Leak(f"table {number}", labels[c], name, text))
    return leaks


_ALT_LABELS = re.compile(r"Values labelled: (.*?)(?:\.$|\. |$)")
#: the <img> attribute holding a figure's value labels as a JSON list (see reports.figures)
LABELS_ATTRIBUTE = "data-value-labels"


def _figure_labels(img) -> tuple[str, list[str]] | None:
    """(what the figure is described as, its value labels), or None if it has no labels.

    The labels come from the image's ``data-value-labels`` attribute; reports rendered before
    figures carried it listed them in the alt text after "Values labelled:".
    """
    alt = img.get("alt") or ""
    stored = img.get(LABELS_ATTRIBUTE)
    if stored:
        try:
            labels = [str(label) for label in json.loads(stored)]
        except (ValueError, TypeError):
            labels = [stored]  # unreadable: judge the raw text rather than skip the figure
        return alt, labels
    match = _ALT_LABELS.search(alt)
    if not match:
        return None
    return alt[: match.start()], match.group(1).split(",")


def _figure_leaks(img, number: int, threshold: int) -> list[Leak]:
    """A figure whose axis or title names a count and whose labels show a small number."""
    found = _figure_labels(img)
    if found is None:
        return []
    described, labels = found
    # the title, axis labels and legend, each judged like a column name
    if not any(is_count_column(part) for part in re.split(r"[;:.]|, (?!\d)", described)):
        return []
    leaks = []
    for label in labels:
        value = _as_count(label)
        if value is not None and 0 < value < threshold:
            leaks.append(Leak(f"figure {number}", "labels", described.strip()[:60], label.strip()))
    return leaks


def find_small_counts(html: str, threshold: int | None = None) -> list[Leak]:
    """Every count below ``threshold`` that a rendered HTML page shows in a table or a figure's
    labels."""
    import lxml.html

    limit = disclosure_threshold(threshold)
    document = lxml.html.fromstring(html)
    leaks: list[Leak] = []
    for number, table in enumerate(document.iter("table"), start=1):
        if table.get("data-disclosure") == "exempt":  # run metadata (checksums etc.), not data
            continue
        leaks.extend(_table_leaks(table, number, limit))
    for number, img in enumerate(document.iter("img"), start=1):
        leaks.extend(_figure_leaks(img, number, limit))
    return leaks


def check_html(html: str, threshold: int | None = None, report: str = "the report") -> None:
    """Raise :class:`DisclosureError` naming every small count the page would show."""
    limit = disclosure_threshold(threshold)
    leaks = find_small_counts(html, limit)
    if leaks:
        raise DisclosureError(leaks, limit, report)
