"""Rates per clinic-month: the outcomes every method in the workbench models."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.data.schemas import DataValidationError, Problem

OUTCOME_COLUMNS = ("ddd_per_1000_per_day", "prescriptions_per_1000", "users_per_1000")


def clinic_month_outcomes(prescribing: pd.DataFrame) -> pd.DataFrame:
    """Add the three prescribing rates to a clinic-month table.

    .. math::

        \\text{ddd\\_per\\_1000\\_per\\_day} = \\frac{\\text{DDD}}{\\text{listed patients}}
            \\cdot \\frac{1000}{\\text{days in month}}

        \\text{prescriptions\\_per\\_1000} = \\frac{\\text{prescriptions}}{\\text{listed patients}}
            \\cdot 1000, \\qquad
        \\text{users\\_per\\_1000} = \\frac{\\text{users}}{\\text{listed patients}} \\cdot 1000

    DDD per 1,000 inhabitants (here: listed patients) per day is the WHO Collaborating Centre
    for Drug Statistics Methodology's standard measure of drug use (Guidelines for ATC
    classification and DDD assignment); dividing by the days of each month makes February and
    March comparable.

    Parameters
    ----------
    prescribing : DataFrame with ``month`` (any date in the month; datetime64 or date),
        ``ddd``, ``prescriptions``, ``users`` and ``listed_patients``, e.g. the
        ``prescribing`` table from :func:`evaluation.data.load` or the output of
        :func:`evaluation.data.aggregate_register`.

    Returns
    -------
    A copy with ``days_in_month``, ``ddd_per_1000_per_day``, ``prescriptions_per_1000`` and
    ``users_per_1000`` added (the input is not changed).

    Raises
    ------
    DataValidationError if a row has a zero, negative or missing ``listed_patients`` (a rate
    per listed patient has no meaning there), or a required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.data import clinic_month_outcomes
    >>> cell = pd.DataFrame({"clinic_id": ["K0001"], "month": [pd.Timestamp("2020-02-01")],
    ...                      "indicator": ["nsaid"], "ddd": [580.0], "prescriptions": [20],
    ...                      "users": [16], "listed_patients": [2000]})
    >>> clinic_month_outcomes(cell)[["ddd_per_1000_per_day", "prescriptions_per_1000",
    ...                              "users_per_1000"]].round(3).to_dict("records")
    [{'ddd_per_1000_per_day': 10.0, 'prescriptions_per_1000': 10.0, 'users_per_1000': 8.0}]
    """
    needed = ["month", "ddd", "prescriptions", "users", "listed_patients"]
    missing = [c for c in needed if c not in prescribing.columns]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "prescribing",
                    f"missing column: clinic_month_outcomes needs {', '.join(needed)}",
                    column=c,
                )
                for c in missing
            ],
            "the table passed to clinic_month_outcomes",
        )
    listed = pd.to_numeric(prescribing["listed_patients"], errors="coerce")
    bad = (listed.isna() | (listed <= 0)).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = ", ".join(
            f"{prescribing['clinic_id'].iloc[r] if 'clinic_id' in prescribing else '?'} "
            f"{pd.Timestamp(prescribing['month'].iloc[r]):%Y-%m}"
            for r in rows[:3]
        )
        raise DataValidationError(
            [
                Problem(
                    "prescribing",
                    "listed_patients must be a positive number of patients (a rate per listed "
                    f"patient is undefined otherwise); zero or missing for {len(rows)} row(s), "
                    f"e.g. {examples}. Fill in the month's list size or drop those rows",
                    column="listed_patients",
                    rows=tuple(int(r) for r in rows[:20]),
                    n_rows=len(rows),
                )
            ],
            "the table passed to clinic_month_outcomes",
        )
    out = prescribing.copy()
    month = pd.to_datetime(out["month"])
    days = month.dt.days_in_month.to_numpy()
    listed = listed.to_numpy(dtype=float)
    out["days_in_month"] = days
    out["ddd_per_1000_per_day"] = out["ddd"].to_numpy(dtype=float) / listed * 1000.0 / days
    out["prescriptions_per_1000"] = out["prescriptions"].to_numpy(dtype=float) / listed * 1000.0
    out["users_per_1000"] = out["users"].to_numpy(dtype=float) / listed * 1000.0
    return out
