"""The analyses of one cluster's feedback report, as small functions of tidy frames.

- :func:`spc_in_phases` -- a control chart of the cluster's monthly rate whose centre line and
  limits are computed separately before and after its topic meeting (qicharts2's ``part``);
- :func:`cluster_change` -- the step in the cluster's own series at its topic meeting
  (interrupted time series on calendar months);
- :func:`region_change` -- the same step for all the region's clinics whose cluster took the
  topic up, each at its own cluster's meeting (the comparison a coordinator asks for);
- :func:`practice_variation` -- the funnel of the region's clinics: each clinic's
  prescriptions against what the region's monthly rates would give its list.

Each returns a tidy frame (or a :class:`~evaluation.methods.FunnelResult`); the words and the
figures are drawn from them by :mod:`evaluation.reports.feedback`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.control_charts import spc
from evaluation.methods.descriptives import event_time_series
from evaluation.methods.funnel_plots import FunnelResult, expected_counts, funnel
from evaluation.methods.interrupted_time_series import its

__all__ = [
    "MIN_CLINICS_FOR_FUNNEL",
    "MIN_CLUSTER_CLINICS_FOR_FUNNEL",
    "MIN_PHASE_POINTS",
    "MIN_REGION_CLINICS",
    "cluster_change",
    "practice_variation",
    "region_change",
    "spc_in_phases",
]

#: the runs rules of a control chart are calibrated for at least 10 points per phase
MIN_PHASE_POINTS = 10
#: fewer clinics than this in the region and a funnel says nothing about variation
MIN_CLINICS_FOR_FUNNEL = 10
#: a cluster of one or two clinics would recognise its colleagues' points: no funnel then
MIN_CLUSTER_CLINICS_FOR_FUNNEL = 3


def spc_in_phases(
    series: pd.DataFrame,
    y: str,
    x: str,
    split=None,
    improvement: str | None = "down",
) -> pd.DataFrame:
    """An XmR chart of ``series`` with its centre and limits computed per phase.

    The phases are "before" (``x < split``) and "after" (``x >= split``), each judged against
    its own centre line, as qicharts2's ``part`` does: a change at the meeting then shows as a
    new centre, not as a run of signals. A phase with fewer than :data:`MIN_PHASE_POINTS`
    points is not charted on its own: the whole series is then one phase.

    The phases are drawn by :func:`evaluation.methods.spc` with ``part=`` (a phase column), so
    moving ranges, limits and runs rules never reach across the meeting.

    Parameters
    ----------
    series : one row per time point.
    y, x : value and time columns.
    split : the first time point of the second phase (e.g. the month after the meeting), or
        None for one phase.
    improvement : "down", "up" or None, passed to :func:`spc`.

    Returns
    -------
    DataFrame: :meth:`SPCResult.to_frame` of each phase, stacked, with ``phase`` ("before",
    "after" or "all").

    >>> months = pd.date_range("2018-01-01", periods=30, freq="MS")
    >>> s = pd.DataFrame({"month": months, "rate": [10.0, 10.4, 9.8, 10.1, 9.9] * 4
    ...                   + [8.0, 8.3, 7.9, 8.1, 8.2] * 2})
    >>> chart = spc_in_phases(s, "rate", "month", split=pd.Timestamp("2019-09-01"))
    >>> chart.groupby("phase", sort=False)["centre"].first().round(2).to_dict()
    {'before': 10.04, 'after': 8.1}
    """
    frame = series[[x, y]].sort_values(x, kind="stable").reset_index(drop=True)
    if len(frame) < MIN_PHASE_POINTS:
        raise InputError(
            f"spc_in_phases: a control chart needs at least {MIN_PHASE_POINTS} months; "
            f"the series has {len(frame)}."
        )
    frame["phase"] = "all"
    if split is not None:
        after = frame[x] >= split
        if min(int((~after).sum()), int(after.sum())) >= MIN_PHASE_POINTS:
            frame["phase"] = np.where(after, "after", "before")
    chart = spc(frame, y=y, x=x, chart="xmr", improvement=improvement, part="phase")
    return chart.to_frame()


def _level_step(result) -> dict:
    terms = result.to_frame().set_index("term")
    step = terms.loc["level_change"]
    return {
        "rate_ratio": float(step["rate_ratio"]),
        "ci_low": float(step["rate_ratio_ci_low"]),
        "ci_high": float(step["rate_ratio_ci_high"]),
        "p_value": float(step["p_value"]),
    }


def cluster_change(monthly: pd.DataFrame, first_treated_month) -> dict | None:
    """The step in a cluster's monthly series at its topic meeting, as a rate ratio.

    Segmented quasi-Poisson regression on calendar months, DDD with patient-days as the
    offset, a trend before, a step and a change of trend from ``first_treated_month`` (the
    month after the meeting), see :func:`evaluation.methods.its`.

    Parameters
    ----------
    monthly : :func:`evaluation.data.cluster.monthly_rate` of the cluster's clinics.
    first_treated_month : the first month after the meeting (None: no meeting, no step).

    Returns
    -------
    dict with ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``months_before`` and
    ``months_after``; None when there is no meeting or fewer than 12 months on either side.
    """
    if first_treated_month is None:
        return None
    series = monthly.sort_values("month").reset_index(drop=True)
    series = series.assign(t=np.arange(len(series)))
    after = series["month"] >= pd.Timestamp(first_treated_month)
    n_before, n_after = int((~after).sum()), int(after.sum())
    if n_before < 12 or n_after < 12:
        return None
    start = int(series.loc[after, "t"].iloc[0])
    fit = its(
        series,
        outcome="ddd",
        time="t",
        intervention=start,
        population="patient_days_thousands",
        model="quasipoisson",
        slope_change=True,
    )
    return {**_level_step(fit), "months_before": n_before, "months_after": n_after}


#: a region's comparison resting on fewer clinics says little, and points at who they are
MIN_REGION_CLINICS = 5


def region_change(panel: pd.DataFrame, months: int = 24) -> dict | None:
    """The step at the topic meeting for the region's clinics whose cluster took it up.

    Each clinic is aligned on its own cluster's meeting (:func:`event_time_series`, ``months``
    on both sides), the series added up and fitted as in :func:`cluster_change`.

    Parameters
    ----------
    panel : :func:`evaluation.data.panel.prescribing_panel` of the region for the indicator.

    Returns
    -------
    dict with ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value`` and ``n_clinics``; None if
    fewer than :data:`MIN_REGION_CLINICS` clinics have ``months`` months of data on both sides
    of their meeting.
    """
    series = event_time_series(panel, months_before=months, months_after=months)
    if series.empty or int(series["n_clinics"].iloc[0]) < MIN_REGION_CLINICS:
        return None
    fit = its(
        series,
        outcome="ddd",
        time="event_time",
        intervention=0,
        population="patient_days_thousands",
        model="quasipoisson",
        slope_change=True,
    )
    return {**_level_step(fit), "n_clinics": int(series["n_clinics"].iloc[0])}


def practice_variation(prescribing: pd.DataFrame, indicator: str, months: int = 12) -> FunnelResult:
    """The funnel of a region's clinics for one indicator over its last ``months`` months.

    Each clinic's prescriptions are compared with the number expected had it prescribed at
    the region's rate of each month to its listed patients (indirect standardisation, see
    :func:`expected_counts`): a ratio of 1.2 is 20 % more than the region's rate. The limits
    allow for overdispersion (multiplicative, Spiegelhalter 2005), since clinics differ for
    many reasons besides chance; a point outside them is worth a conversation, not a verdict.

    Parameters
    ----------
    prescribing : the region's ``prescribing`` table.
    indicator : the indicator key.
    months : the last months of data to add up (12: a year, so that seasons even out).

    Returns
    -------
    :class:`FunnelResult`; ``group`` is the clinic id.
    """
    rows = prescribing[prescribing["indicator"] == indicator]
    if rows.empty:
        raise InputError(f"practice_variation: no prescribing rows for indicator {indicator!r}.")
    last = rows["month"].max()
    first = last - pd.DateOffset(months=months - 1)
    recent = rows[rows["month"] >= first]
    expected = expected_counts(
        recent, "prescriptions", "listed_patients", "clinic_id", strata="month"
    )
    expected = expected[expected["expected"] > 0]
    return funnel(
        expected,
        "observed",
        "expected",
        group="clinic_id",
        kind="ratio",
        overdispersion="multiplicative",
    )
