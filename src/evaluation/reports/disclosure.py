"""Disclosure control: no shared report shows a count of fewer than five persons.

Statistics Denmark's rule for published tables is that no cell may describe fewer than five
persons. Two halves enforce it here:

1. **Before display**, notebooks pass every table with counts through
   :func:`suppress_small_counts` (and figure labels through :func:`suppress_count`). Counts
   ``0 < n < threshold`` are replaced by a mark such as ``"<5"``.
2. **After rendering**, :func:`check_html` reads every table and every labelled figure in the
   report's HTML; if a small count slipped through, the batch runner refuses to publish the
   report (status ``blocked``) and says which table, column and row to fix.

Which columns are counts? A column whose name reads like a number of persons
(``n``, ``count``, ``n_*``, ``*_count``, or containing *patients*, *persons*, *users*, *GPs*,
*clinics*, *prescriptions*, *attended*, ...) and not like a rate (``per``, ``rate``, ``share``,
``mean``, ``%``, ...) nor a number of things that are not persons (``n_estimates``,
``meetings``, ``n_months``, ...). See :data:`COUNT_WORDS`, :data:`NOT_COUNT_WORDS` and
:data:`NOT_PERSON_UNITS`; pass ``columns=`` to be explicit. Zero is not suppressed by default
(it describes nobody); ``suppress_zero=True`` changes that.

The threshold is 5 unless the environment variable ``EVALUATION_DISCLOSURE_THRESHOLD`` says
otherwise; ``workbench run --disclosure-threshold N`` sets it for every notebook it runs, so the
notebooks' suppression and the report check always agree.

What it does not do: secondary suppression (a suppressed cell recomputed from a total and the
other cells) and numbers inside raster images that were not passed as labels. Keep totals out of
tables that contain suppressed cells, and label bars with :func:`suppress_count`.

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

import pandas as pd

from evaluation.errors import EvaluationError, InputError, MissingColumnsError

DEFAULT_THRESHOLD = 5
THRESHOLD_ENV = "EVALUATION_DISCLOSURE_THRESHOLD"

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


def suppress_small_counts(
    frame: pd.DataFrame | pd.Series,
    columns: list[str] | None = None,
    threshold: int | None = None,
    mark: str | None = None,
    suppress_zero: bool = False,
) -> pd.DataFrame | pd.Series:
    """Replace counts ``0 < n < threshold`` by a mark, in a copy ready to display.

    Parameters
    ----------
    frame : DataFrame or Series
        The table to show. A Series is treated as one column named after it.
    columns : list of str, optional
        The count columns. Default: every numeric column :func:`is_count_column` recognises.
    threshold : int, optional
        Smallest count that may be shown (default 5, or $EVALUATION_DISCLOSURE_THRESHOLD).
    mark : str, optional
        Text shown instead (default ``"<5"``).
    suppress_zero : bool
        Also hide zeros (default False: a zero describes nobody).

    Returns
    -------
    A copy; suppressed columns become text (object) columns.
    """
    limit = disclosure_threshold(threshold)
    mark = suppress_mark(limit) if mark is None else mark
    if isinstance(frame, pd.Series):
        name = frame.name if frame.name is not None else "count"
        out = suppress_small_counts(frame.to_frame(name), [name], limit, mark, suppress_zero)
        return out[name]
    if columns is None:
        columns = [
            c
            for c in frame.columns
            if is_count_column(c)
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(missing, "suppress_small_counts", available=frame.columns)
    out = frame.copy()
    for column in columns:
        small = out[column].map(lambda v: _is_small(v, limit, suppress_zero)).astype(bool)
        if small.any():
            shown = out[column].astype(object)
            shown[small] = mark
            out[column] = shown
    return out


# --- the check over rendered HTML ------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """One small count found in a rendered report."""

    where: str  # "table 2" or "figure 3"
    column: str
    row: str
    value: str

    def __str__(self) -> str:
        return f"{self.where}, column '{self.column}', row '{self.row}': shows {self.value}"


class DisclosureError(EvaluationError, RuntimeError):
    """A rendered report shows a count below the threshold; it must not be shared."""

    def __init__(self, leaks: list[Leak], threshold: int, report: str = "the report"):
        self.leaks = leaks
        self.threshold = threshold
        lines = "\n".join(f"  - {leak}" for leak in leaks[:20])
        more = f"\n  ... and {len(leaks) - 20} more" if len(leaks) > 20 else ""
        super().__init__(
            f"Disclosure check failed for {report}: {len(leaks)} count(s) below {threshold} "
            f"would be shown.\n{lines}{more}\nPass the table through "
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


def _table_leaks(table, number: int, threshold: int) -> list[Leak]:
    grid, n_header = _table_grid(table)
    if not n_header or len(grid) <= n_header:
        return []
    width = max(len(r) for r in grid)
    labels = []
    for c in range(width):
        parts = [grid[h][c] for h in range(n_header) if c < len(grid[h]) and grid[h][c]]
        labels.append(" ".join(dict.fromkeys(parts)))
    # the row label: the leading <th> cells of a body row (a DataFrame's index); a reader
    # table has none, and is named by its first cell (or the row's number)
    leaks = []
    rows = table.xpath("./thead/tr | ./tbody/tr | ./tr")[n_header:]
    for position, (row_cells, row) in enumerate(zip(grid[n_header:], rows), start=1):
        n_index = len(row.xpath("./th"))
        row_label = " / ".join(row_cells[:n_index])
        for c, text in enumerate(row_cells):
            if c < n_index or c >= len(labels) or not is_count_column(labels[c]):
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
