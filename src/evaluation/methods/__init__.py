"""The methods wing: impact-evaluation estimators as functions of tidy DataFrames.

Each analysis is one function with a plain name that takes tables and returns a tidy table or a
``...Result`` object with ``.to_frame()``, ``.summary()`` (both DataFrames) and ``.plot()``.
Estimates name their columns alike everywhere: the estimate by what it is (``att``,
``rate_ratio``, ``estimate``), then ``se``, ``ci_low``, ``ci_high``, ``p_value``; confidence is
``level=0.95``; a missing column is always :class:`evaluation.errors.MissingColumnsError`.

One module per method: :mod:`~evaluation.methods.interrupted_time_series`,
:mod:`~evaluation.methods.did` (staggered difference-in-differences),
:mod:`~evaluation.methods.controlled_before_after`, :mod:`~evaluation.methods.funnel_plots`,
:mod:`~evaluation.methods.control_charts`, :mod:`~evaluation.methods.meeting_attendance`,
:mod:`~evaluation.methods.pooling`, :mod:`~evaluation.methods.descriptives`, and the shared input
checks in :mod:`~evaluation.methods.checks`.
"""

from evaluation.methods.control_charts import SPCResult, spc
from evaluation.methods.controlled_before_after import BeforeAfterResult, before_after
from evaluation.methods.descriptives import (
    event_time_series,
    monthly_by_uptake,
    topic_cluster_months,
    uptake_by_cluster,
)
from evaluation.methods.did import (
    DiDInputError,
    StaggeredDiDResult,
    TWFEEventStudyResult,
    staggered_did,
    twfe_event_study,
)
from evaluation.methods.funnel_plots import FunnelResult, expected_counts, funnel
from evaluation.methods.interrupted_time_series import ITSInputError, ITSResult, its
from evaluation.methods.meeting_attendance import (
    AttendanceResult,
    DoseResponseResult,
    absence_by_cluster,
    attendance,
    attendance_rates,
    attendance_records,
    attendance_trend,
    dose_response,
    persistent_absence,
    topic_meeting_share,
)
from evaluation.methods.pooling import PoolResult, RegionalPoolingResult, pool, pool_estimates

__all__ = [
    # prescribing before and after the topic meeting
    "its",
    "ITSResult",
    "ITSInputError",
    "staggered_did",
    "StaggeredDiDResult",
    "twfe_event_study",
    "TWFEEventStudyResult",
    "DiDInputError",
    "before_after",
    "BeforeAfterResult",
    "uptake_by_cluster",
    "monthly_by_uptake",
    "event_time_series",
    "topic_cluster_months",
    # practice variation
    "funnel",
    "FunnelResult",
    "expected_counts",
    "spc",
    "SPCResult",
    # meeting attendance
    "attendance",
    "AttendanceResult",
    "attendance_records",
    "attendance_rates",
    "attendance_trend",
    "persistent_absence",
    "absence_by_cluster",
    "topic_meeting_share",
    "dose_response",
    "DoseResponseResult",
    # pooling across regions
    "pool",
    "PoolResult",
    "pool_estimates",
    "RegionalPoolingResult",
]
