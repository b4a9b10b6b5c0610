"""event_study_comparison and its figure: four estimators in one tidy table."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.errors import InputError
from evaluation.methods.event_study_estimators import (
    ESTIMATORS,
    event_study_comparison,
    plot_event_study_comparison,
)


@pytest.fixture(scope="module")
def table(mpdta):
    return event_study_comparison(
        mpdta, "lemp", "countyreal", "year", "first.treat", window=(-4, 3)
    )


def test_one_tidy_table(table):
    assert list(table.columns) == ["estimator", "event_time", "att", "se", "ci_low", "ci_high"]
    assert list(dict.fromkeys(table["estimator"])) == list(ESTIMATORS)
    counts = table.groupby("estimator", sort=False).size()
    assert counts.tolist() == [8, 8, 8, 4]  # -4..3 with the reference; imputation 0..3
    reference = table[table["event_time"] == -1]
    assert (reference["att"] == 0).all() and reference["se"].isna().all()
    assert len(reference) == 3
    rows = table.dropna(subset=["se"])
    np.testing.assert_allclose(rows["ci_high"] - rows["att"], 1.959964 * rows["se"], rtol=1e-6)


def test_estimators_agree_where_theory_says_they_must(table):
    by = table.set_index(["estimator", "event_time"])["att"]
    cs, sa = by[ESTIMATORS[0]], by[ESTIMATORS[2]]
    np.testing.assert_allclose(cs, sa, atol=1e-8)  # never treated, no covariates, universal base
    # mpdta's effects are small and similar across cohorts: all four within 0.02 after treatment
    post = table[table["event_time"] >= 0].pivot(
        index="event_time", columns="estimator", values="att"
    )
    assert (post.max(axis=1) - post.min(axis=1)).max() < 0.02


def test_figure_names_every_estimator_in_words(table):
    ax = plot_event_study_comparison(table, indicator="nsaid")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == list(ESTIMATORS)
    colours = {c.get_label(): c.lines[0].get_color() for c in ax.containers}
    assert colours[ESTIMATORS[0]] == "#E69F00" and colours[ESTIMATORS[2]] == "#0072B2"
    assert "NSAID meeting" in ax.get_xlabel() and ax.get_title().startswith("Four estimators")


def test_bad_window_and_table_are_refused(mpdta, table):
    with pytest.raises(InputError, match="window must run from before -1"):
        event_study_comparison(mpdta, "lemp", "countyreal", "year", "first.treat", window=(0, 3))
    with pytest.raises(InputError, match="needs the table"):
        plot_event_study_comparison(table.drop(columns="ci_low"))
