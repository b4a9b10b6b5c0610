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
:mod:`~evaluation.methods.pooling`, :mod:`~evaluation.methods.descriptives`; the robustness
of the staggered DiD in :mod:`~evaluation.methods.parallel_trends_sensitivity` (HonestDiD),
:mod:`~evaluation.methods.pretrends`, :mod:`~evaluation.methods.interaction_weighted`
(Sun-Abraham), :mod:`~evaluation.methods.imputation` (Borusyak-Jaravel-Spiess),
:mod:`~evaluation.methods.bacon` and :mod:`~evaluation.methods.event_study_estimators`; and the
shared input checks in :mod:`~evaluation.methods.checks`.
"""

# robustness of the staggered DiD: sensitivity to parallel trends, pre-trend power, other
# estimators of the same event study, and what drives the two-way fixed-effects estimate
from evaluation.methods.bacon import bacon_decomposition, bacon_summary, plot_bacon
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
from evaluation.methods.event_study import (
    EventStudyEstimates,
    event_study_estimates,
    event_study_frame,
)
from evaluation.methods.event_study_estimators import (
    ESTIMATORS,
    event_study_comparison,
    plot_event_study_comparison,
)
from evaluation.methods.funnel_plots import FunnelResult, expected_counts, funnel
from evaluation.methods.imputation import ImputationDiDResult, imputation_did
from evaluation.methods.interaction_weighted import SunAbrahamResult, sun_abraham
from evaluation.methods.interrupted_time_series import (
    ITSDiagnosticsResult,
    ITSInputError,
    ITSResult,
    its,
    its_diagnostics,
)
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
from evaluation.methods.parallel_trends_sensitivity import (
    breakdown_value,
    honest_did,
    plot_sensitivity,
)
from evaluation.methods.pooling import PoolResult, RegionalPoolingResult, pool, pool_estimates
from evaluation.methods.pretrends import pretrends_power

__all__ = [
    # prescribing before and after the topic meeting
    "its",
    "its_diagnostics",
    "ITSResult",
    "ITSDiagnosticsResult",
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
    # robustness of the staggered DiD
    "honest_did",
    "breakdown_value",
    "plot_sensitivity",
    "pretrends_power",
    "sun_abraham",
    "SunAbrahamResult",
    "imputation_did",
    "ImputationDiDResult",
    "bacon_decomposition",
    "bacon_summary",
    "plot_bacon",
    "event_study_comparison",
    "plot_event_study_comparison",
    "ESTIMATORS",
    "EventStudyEstimates",
    "event_study_estimates",
    "event_study_frame",
]
