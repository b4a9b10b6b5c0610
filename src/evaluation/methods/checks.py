"""The input checks every function of the methods and mixed wings makes, written once.

A missing column, a repeated key, a gap in a panel or a zero population raise the same error
with the same kind of message whichever method meets them first (in the spirit of pingouin's
``_check_dataframe``): the message names the table, the column and the first offending rows,
and says what to do. A missing column is always :class:`evaluation.errors.MissingColumnsError`
(an :class:`~evaluation.errors.EvaluationError`, and a ``KeyError`` for older callers); the
other checks raise :class:`~evaluation.errors.InputError` or the calling method's own subclass of
it (``error=DiDInputError``), so that code catching the method's error keeps catching them.

>>> import pandas as pd
>>> from evaluation.methods.checks import require_columns
>>> require_columns(pd.DataFrame({"clinic_id": ["K1"]}), ["clinic_id", "month"], where="panel")
Traceback (most recent call last):
...
evaluation.errors.MissingColumnsError: panel: missing column 'month'; it has 'clinic_id'.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from evaluation.errors import EvaluationError, InputError, MissingColumnsError

__all__ = [
    "NotAFrameError",
    "require_frame",
    "require_columns",
    "require_unique",
    "require_complete_panel",
    "require_positive",
]

#: rows quoted in a message: enough to find the problem, short enough to read
_SHOWN_ROWS = 5


class NotAFrameError(EvaluationError, TypeError):
    """A function that takes a table was given something else (a list, a path, None)."""


def require_frame(data, where: str = "data") -> pd.DataFrame:
    """``data`` itself if it is a pandas DataFrame; otherwise :class:`NotAFrameError`.

    >>> require_frame([1, 2], where="funnel: data")
    Traceback (most recent call last):
    ...
    evaluation.methods.checks.NotAFrameError: funnel: data must be a pandas DataFrame, got list.
    """
    if not isinstance(data, pd.DataFrame):
        raise NotAFrameError(f"{where} must be a pandas DataFrame, got {type(data).__name__}.")
    return data


def require_columns(frame, columns: Iterable[str | None], where: str = "data") -> pd.DataFrame:
    """Check that ``frame`` is a DataFrame with every one of ``columns`` (``None`` entries, for
    optional arguments left out, are skipped); return it.

    Parameters
    ----------
    frame : the table to check.
    columns : the column names the caller needs, in the order it names them.
    where : the table in words for the message, e.g. ``"staggered_did: data"``.

    Returns
    -------
    ``frame`` unchanged.

    Raises
    ------
    MissingColumnsError naming every missing column and the columns the table has.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"clinic_id": ["K1"], "month": ["2021-01"]})
    >>> require_columns(frame, ["clinic_id", None, "month"]) is frame
    True
    """
    require_frame(frame, where)
    wanted = [c for c in dict.fromkeys(columns) if c is not None]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise MissingColumnsError(missing, where=where, available=list(frame.columns))
    return frame


def _rows(index: pd.Index) -> str:
    shown = index[:_SHOWN_ROWS].tolist()
    return f"{len(index)} row(s) (first rows {shown})"


def require_unique(
    frame: pd.DataFrame,
    keys: Iterable[str],
    where: str = "data",
    *,
    what: str | None = None,
    hint: str = "aggregate first, so that each key appears once",
    error: type[InputError] = InputError,
) -> pd.DataFrame:
    """Check that no two rows of ``frame`` share a value of ``keys`` (one row per unit and
    period, per GP and meeting, ...); return ``frame``.

    ``what`` says in words what one row should be ("one row per clinic and month"); ``error``
    is the class raised (the calling method's subclass of InputError).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"clinic_id": ["K1", "K1"], "month": [1, 1], "ddd": [5.0, 6.0]})
    >>> require_unique(rows, ["clinic_id", "month"], where="panel")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    evaluation.errors.InputError: panel: 2 row(s) (first rows [0, 1]) repeat a ... value, ...
    """
    keys = list(keys)
    require_columns(frame, keys, where)
    repeated = frame.duplicated(keys, keep=False)
    if repeated.any():
        example = frame.loc[repeated, keys].iloc[0].to_dict()
        raise error(
            f"{where}: {_rows(frame.index[repeated])} repeat a ({', '.join(keys)}) value, "
            f"e.g. {example}; expected {what or 'one row per (' + ', '.join(keys) + ')'}: {hint}."
        )
    return frame


def require_complete_panel(
    frame: pd.DataFrame,
    unit: str,
    time: str,
    where: str = "data",
    *,
    error: type[InputError] = InputError,
) -> pd.Index:
    """Check that ``frame`` is a balanced panel: one row per ``unit`` and ``time``, every unit
    observed in every period, neither key missing. Returns the sorted periods.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({"unit": ["a", "a", "b"], "year": [2020, 2021, 2020]})
    >>> require_complete_panel(panel, "unit", "year", where="panel")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    evaluation.errors.InputError: panel: not a balanced panel: 1 unit(s) lack some of the ...
    """
    require_columns(frame, [unit, time], where)
    for key in (unit, time):
        if frame[key].isna().any():
            raise error(
                f"{where}: column {key!r} is missing in {_rows(frame.index[frame[key].isna()])}; "
                "every row needs its unit and period."
            )
    require_unique(
        frame,
        [unit, time],
        where,
        what=f"one row per {unit} and {time} (a panel)",
        hint="aggregate first (e.g. sum DDD per clinic-month)",
        error=error,
    )
    periods = pd.Index(np.sort(frame[time].unique()))
    counts = frame.groupby(unit, sort=True)[time].size()
    short = counts[counts != len(periods)]
    if len(short):
        raise error(
            f"{where}: not a balanced panel: {len(short)} unit(s) lack some of the {len(periods)} "
            f"periods (e.g. {short.index[0]!r} has {int(short.iloc[0])}). Keep units observed in "
            "every period, or restrict the window to periods all units share."
        )
    return periods


def require_positive(
    frame: pd.DataFrame,
    column: str,
    where: str = "data",
    *,
    allow_zero: bool = False,
    hint: str = "",
    error: type[InputError] = InputError,
) -> pd.DataFrame:
    """Check that ``column`` is a finite number above zero (or at least zero with
    ``allow_zero``) in every row; return ``frame``.

    ``hint`` says what to do ("fix the list sizes or drop those months").

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"listed_patients": [1600, 0, None]})
    >>> require_positive(rows, "listed_patients", where="prescribing")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    evaluation.errors.InputError: prescribing: column 'listed_patients' must be > 0; it is ...
    """
    require_columns(frame, [column], where)
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values) | (values < 0 if allow_zero else values <= 0)
    if bad.any():
        rule = ">= 0" if allow_zero else "> 0"
        words = "negative or missing" if allow_zero else "zero, negative or missing"
        raise error(
            f"{where}: column {column!r} must be {rule}; it is {words} in "
            f"{_rows(frame.index[bad])}" + (f"; {hint}." if hint else ".")
        )
    return frame
