"""Every public function of evaluation.methods and evaluation.mixed refuses a table that lacks a
column it needs in the same way: MissingColumnsError (an EvaluationError, and a KeyError for
older callers) whose message names the column.

The list of calls is built against the packages' ``__all__``: a public function added without a
case here (or a stated reason why it takes no table) fails the first test.
"""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

import evaluation.methods as methods
import evaluation.mixed as mixed
from evaluation.errors import EvaluationError, MissingColumnsError
from evaluation.methods.checks import NotAFrameError
from evaluation.mixed.join import TABLE_COLUMNS
from evaluation.mixed.link import CaseLinksResult
from evaluation.qualitative.store import Store

# --- small valid tables, each call below drops one column a function needs ----------------------

SERIES = pd.DataFrame(
    {"time": range(1, 13), "cases": [30, 31, 29, 33, 30, 32, 25, 24, 26, 23, 25, 24]}
).assign(pop=10_000.0)
UNITS = pd.DataFrame(
    [(u, t, c) for u, c in enumerate([0, 2012, 2014, 0]) for t in range(2010, 2016)],
    columns=["unit", "year", "cohort"],
).assign(y=1.0)
MONTHS = pd.date_range("2021-01-01", periods=4, freq="MS")
PANEL = pd.DataFrame(
    {
        "clinic_id": ["K1"] * 4 + ["K2"] * 4,
        "cluster_id": ["C1"] * 4 + ["C2"] * 4,
        "month": list(MONTHS) * 2,
        "cohort": [202103] * 4 + [0] * 4,
        "first_treated_month": [MONTHS[2]] * 4 + [pd.NaT] * 4,
        "event_time": [-2, -1, 0, 1] + [None] * 4,
        "ddd": [30.0, 31.0, 25.0, 24.0, 20.0, 21.0, 20.0, 19.0],
        "listed_patients": [1000] * 8,
        "ddd_per_1000_per_day": [1.0, 1.1, 0.8, 0.8, 0.7, 0.7, 0.7, 0.6],
        "prescriptions": [10, 11, 8, 8, 7, 7, 7, 6],
        "region": "Sjælland",
    }
)
CLINICS = pd.DataFrame({"clinic_id": ["K1", "K2"], "cluster_id": ["C1", "C2"]})
MEETINGS = pd.DataFrame(
    {
        "meeting_id": ["M1", "M2"],
        "cluster_id": ["C1", "C1"],
        "date": ["2021-02-10", "2021-09-10"],
        "topic": ["nsaid", "copd"],
    }
)
GPS = pd.DataFrame({"gp_id": ["G1", "G2"], "clinic_id": ["K1", "K1"], "cluster_id": "C1"})
PRESENT = pd.DataFrame(
    {"meeting_id": ["M1", "M1", "M2", "M2"], "gp_id": ["G1", "G2"] * 2, "attended": [1, 0, 1, 1]}
)
SHARES = pd.DataFrame(
    {
        "clinic_id": ["K1"],
        "cluster_id": ["C1"],
        "first_treated_month": [MONTHS[2]],
        "share_attended": [0.5],
    }
)
FLAGS = pd.DataFrame(
    {"gp_id": ["G1", "G2"], "cluster_id": "C1", "longest_absence": [2, 0], "flagged": [True, False]}
)
CLINIC_COUNTS = pd.DataFrame(
    {"clinic": list("ABC"), "observed": [10, 30, 20], "expected": [12.0, 25.0, 20.0]}
)
REGIONS = pd.DataFrame({"region": ["A", "B"], "log_rr": [-0.1, -0.2], "se": [0.05, 0.04]})
RECORDED = pd.DataFrame(
    {"notebook": "01", "name": "att", "region": ["A", "B"], "estimate": [-0.1, -0.2], "se": 0.05}
)

CODES = pd.DataFrame(
    {
        "id": [1],
        "key": ["funding"],
        "name": ["Funding"],
        "parent_id": [None],
        "path": ["Funding"],
        "depth": [0],
    }
)
SEGMENTS = pd.DataFrame(
    {"document_id": [7], "code_key": ["funding"], "coder": ["anna"], "start": [0], "end": [10]}
)
CASE_DOCUMENTS = pd.DataFrame({"document_id": [7], "case": ["C1"]})
DOCUMENTS = pd.DataFrame({"id": [7], "n_chars": [40]})
LINKS = mixed.link_cases(pd.DataFrame({"case": ["C1"]}), pd.DataFrame({"cluster_id": ["C1"]}))
QUANTITIZED = pd.DataFrame(
    {
        "cluster_id": ["C1", "C2", "C3", "C4"],
        "code_key": "funding",
        "code": "Funding",
        "theme": "Funding",
        "level": "code",
        "presence": [True, True, False, False],
        "frequency": [2, 1, 0, 0],
        "share": [0.5, 0.2, 0.0, 0.0],
        "coverage": [0.3, 0.1, 0.0, 0.0],
    }
)
OUTCOMES = pd.DataFrame(
    {
        "cluster_id": ["C1", "C2", "C3", "C4"],
        "effect": [-9.0, -8.0, -2.0, -1.0],
        "effect_ci_low": [-12.0, -11.0, -5.0, -4.0],
        "effect_ci_high": [-6.0, -5.0, 1.0, 2.0],
        "attendance_rate": [0.9, 0.7, 0.8, 0.6],
    }
)
QUOTES = pd.DataFrame({"code": ["Funding"], "cluster_id": ["C1"], "text": ["We pay ourselves."]})
COMPARISON = mixed.compare_by_theme(QUANTITIZED, OUTCOMES, ["effect"], min_group=2)
CORRELATION = mixed.correlate_frequency(QUANTITIZED, OUTCOMES, ["effect"], min_clusters=4)
MEMBERS, TYPES = mixed.typology(OUTCOMES, QUANTITIZED, effect="effect")


def without(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.drop(columns=[column])


def links_without(column: str) -> CaseLinksResult:
    return CaseLinksResult(
        linked=without(LINKS.linked, column),
        mismatched=LINKS.mismatched,
        unlinked=LINKS.unlinked,
        clusters_without_interviews=LINKS.clusters_without_interviews,
        n_clusters=LINKS.n_clusters,
    )


def mixed_methods_without_ddd():
    tables = {name: pd.DataFrame(columns=columns) for name, columns in TABLE_COLUMNS.items()}
    tables["prescribing"] = without(tables["prescribing"], "ddd")
    with Store.create(":memory:") as store:
        mixed.mixed_methods(store, tables)


def quantitize_store_without_case():
    with Store.create(":memory:") as store:
        mixed.quantitize_store(store, links_without("case"), coder="anna")


def _plot(function, *args, **kwargs):
    import matplotlib

    matplotlib.use("Agg")
    try:
        function(*args, **kwargs)
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")


# name -> (the call, with one needed column dropped; the column its error must name)
CASES = {
    # methods: prescribing before and after
    "its": (
        lambda: methods.its(
            without(SERIES, "pop"), "cases", "time", intervention=7, population="pop"
        ),
        "pop",
    ),
    "its_diagnostics": (
        lambda: methods.its_diagnostics(
            without(SERIES, "cases"), "cases", "time", intervention=7, population="pop"
        ),
        "cases",
    ),
    "staggered_did": (
        lambda: methods.staggered_did(without(UNITS, "cohort"), "y", "unit", "year", "cohort"),
        "cohort",
    ),
    "twfe_event_study": (
        lambda: methods.twfe_event_study(without(UNITS, "y"), "y", "unit", "year", "cohort"),
        "y",
    ),
    "before_after": (
        lambda: methods.before_after(without(PANEL, "first_treated_month")),
        "first_treated_month",
    ),
    "uptake_by_cluster": (lambda: methods.uptake_by_cluster(without(PANEL, "cohort")), "cohort"),
    "monthly_by_uptake": (
        lambda: methods.monthly_by_uptake(without(PANEL, "ddd_per_1000_per_day")),
        "ddd_per_1000_per_day",
    ),
    "event_time_series": (
        lambda: methods.event_time_series(without(PANEL, "event_time")),
        "event_time",
    ),
    "topic_cluster_months": (
        lambda: methods.topic_cluster_months(without(PANEL, "listed_patients"), CLINICS, SHARES),
        "listed_patients",
    ),
    # methods: practice variation
    "funnel": (
        lambda: methods.funnel(without(CLINIC_COUNTS, "expected"), "observed", "expected"),
        "expected",
    ),
    "expected_counts": (
        lambda: methods.expected_counts(
            without(PANEL, "listed_patients"), "prescriptions", "listed_patients", "clinic_id"
        ),
        "listed_patients",
    ),
    "spc": (lambda: methods.spc(without(SERIES, "cases"), y="cases"), "cases"),
    # methods: attendance
    "attendance": (
        lambda: methods.attendance(without(PRESENT, "attended"), MEETINGS, GPS),
        "attended",
    ),
    "attendance_records": (
        lambda: methods.attendance_records(PRESENT, MEETINGS, without(GPS, "clinic_id")),
        "clinic_id",
    ),
    "attendance_rates": (
        lambda: methods.attendance_rates(PRESENT, without(MEETINGS, "date"), GPS),
        "date",
    ),
    "attendance_trend": (
        lambda: methods.attendance_trend(without(PRESENT, "gp_id"), MEETINGS, GPS),
        "gp_id",
    ),
    "persistent_absence": (
        lambda: methods.persistent_absence(PRESENT, without(MEETINGS, "cluster_id"), GPS),
        "cluster_id",
    ),
    "absence_by_cluster": (
        lambda: methods.absence_by_cluster(without(FLAGS, "flagged")),
        "flagged",
    ),
    "topic_meeting_share": (
        lambda: methods.topic_meeting_share(PRESENT, without(MEETINGS, "topic"), GPS, "nsaid"),
        "topic",
    ),
    "dose_response": (
        lambda: methods.dose_response(PANEL, without(SHARES, "share_attended")),
        "share_attended",
    ),
    # methods: pooling
    "pool": (lambda: methods.pool(without(REGIONS, "se"), estimate="log_rr"), "se"),
    "pool_estimates": (lambda: methods.pool_estimates(without(RECORDED, "name")), "name"),
    # mixed: link and quantitize
    "link_cases": (
        lambda: mixed.link_cases(pd.DataFrame({"case": ["C1"]}), without(CLINICS, "cluster_id")),
        "cluster_id",
    ),
    "interview_labels": (
        lambda: mixed.interview_labels(links_without("cluster_id")),
        "cluster_id",
    ),
    "choose_segments": (
        lambda: mixed.choose_segments(without(SEGMENTS, "coder"), "anna"),
        "coder",
    ),
    "quantitize": (
        lambda: mixed.quantitize(
            SEGMENTS, CASE_DOCUMENTS, without(DOCUMENTS, "n_chars"), CODES, LINKS
        ),
        "n_chars",
    ),
    "quantitize_store": (quantitize_store_without_case, "case"),
    "theme_matrix": (
        lambda: mixed.theme_matrix(without(QUANTITIZED, "frequency"), "frequency"),
        "frequency",
    ),
    # mixed: effects
    "cluster_effects": (lambda: mixed.cluster_effects(without(PANEL, "ddd")), "ddd"),
    "cluster_attendance": (
        lambda: mixed.cluster_attendance(PRESENT, without(MEETINGS, "date"), GPS),
        "date",
    ),
    # mixed: compare
    "compare_by_theme": (
        lambda: mixed.compare_by_theme(without(QUANTITIZED, "presence"), OUTCOMES, ["effect"]),
        "presence",
    ),
    "correlate_frequency": (
        lambda: mixed.correlate_frequency(QUANTITIZED, without(OUTCOMES, "effect"), ["effect"]),
        "effect",
    ),
    "typology": (
        lambda: mixed.typology(without(OUTCOMES, "attendance_rate"), QUANTITIZED, effect="effect"),
        "attendance_rate",
    ),
    # mixed: display
    "pick_quotes": (
        lambda: mixed.pick_quotes(without(SEGMENTS, "end"), {7: "text"}, {7: "C1"}, {}),
        "end",
    ),
    "joint_display": (
        lambda: mixed.joint_display(QUANTITIZED, without(OUTCOMES, "effect_ci_low"), QUOTES, {}),
        "effect_ci_low",
    ),
    "side_by_side": (
        lambda: mixed.side_by_side(without(COMPARISON, "note"), QUANTITIZED, QUOTES, {}),
        "note",
    ),
    "theme_overview": (lambda: mixed.theme_overview(without(QUANTITIZED, "share")), "share"),
    "comparison_table": (
        lambda: mixed.comparison_table(without(COMPARISON, "mwu_p_value")),
        "mwu_p_value",
    ),
    "correlation_table": (lambda: mixed.correlation_table(without(CORRELATION, "r")), "r"),
    "typology_table": (
        lambda: mixed.typology_table(without(TYPES, "dominant_themes")),
        "dominant_themes",
    ),
    "significant_relations": (
        lambda: mixed.significant_relations(without(COMPARISON, "significant")),
        "significant",
    ),
    "theme_share_plot": (
        lambda: _plot(mixed.theme_share_plot, without(QUANTITIZED, "share"), {}),
        "share",
    ),
    "theme_effect_plot": (
        lambda: _plot(
            mixed.theme_effect_plot, without(OUTCOMES, "effect"), QUANTITIZED, ["Funding"], {}
        ),
        "effect",
    ),
    "typology_plot": (
        lambda: _plot(mixed.typology_plot, without(MEMBERS, "engagement"), {}),
        "engagement",
    ),
    "mixed_methods": (mixed_methods_without_ddd, "ddd"),
    # methods: robustness of the staggered DiD (the ones that read a panel)
    "sun_abraham": (
        lambda: methods.sun_abraham(without(UNITS, "cohort"), "y", "unit", "year", "cohort"),
        "cohort",
    ),
    "imputation_did": (
        lambda: methods.imputation_did(without(UNITS, "y"), "y", "unit", "year", "cohort"),
        "y",
    ),
    "bacon_decomposition": (
        lambda: methods.bacon_decomposition(without(UNITS, "year"), "y", "unit", "year", "cohort"),
        "year",
    ),
    "event_study_comparison": (
        lambda: methods.event_study_comparison(
            without(UNITS, "unit"), "y", "unit", "year", "cohort"
        ),
        "unit",
    ),
}

#: public functions that take no table with required columns, and why
NO_REQUIRED_COLUMN = {
    "html_table": "shows any table; it needs a DataFrame but no particular column",
    "honest_did": "takes a staggered DiD result, not a table",
    "breakdown_value": "takes a staggered DiD result, not a table",
    "pretrends_power": "takes a staggered DiD result, not a table",
    "event_study_estimates": "takes an estimator's result, not a table",
    "event_study_frame": "builds the table from arrays of estimates and standard errors",
    "plot_sensitivity": "draws the frame honest_did returns (checked by its attributes)",
    "bacon_summary": "summarises the frame bacon_decomposition returns (checked by its attributes)",
    "plot_bacon": "draws the frame bacon_decomposition returns (checked by its attributes)",
    "plot_event_study_comparison": "draws the frame event_study_comparison returns",
}


def _public_functions() -> set[str]:
    return {
        name
        for package in (methods, mixed)
        for name in package.__all__
        if inspect.isfunction(getattr(package, name))
    }


def test_every_public_function_of_methods_and_mixed_has_a_missing_column_case():
    public = _public_functions()
    assert public == set(CASES) | set(NO_REQUIRED_COLUMN), (
        f"without a case: {sorted(public - set(CASES) - set(NO_REQUIRED_COLUMN))}; "
        f"not public: {sorted(set(CASES) - public)}"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_missing_column_raises_missing_columns_error_naming_it(name):
    call, column = CASES[name]
    with pytest.raises(MissingColumnsError) as caught:
        call()
    assert isinstance(caught.value, EvaluationError) and isinstance(caught.value, KeyError)
    assert f"missing column {column!r}" in str(caught.value)


def test_a_table_that_is_not_a_dataframe_is_refused_in_words():
    with pytest.raises(NotAFrameError, match="html_table: frame must be a pandas DataFrame"):
        mixed.html_table([["a", "b"]])
    with pytest.raises(NotAFrameError, match="funnel: data must be a pandas DataFrame, got list"):
        methods.funnel([1, 2, 3], "observed", "expected")
