"""honest_did and breakdown_value pinned to R HonestDiD on its README's Medicaid expansion example
(tests/fixtures/honest_did), and their behaviour on bad input.

The README's first analysis is a two-way fixed-effects event study of the states that expanded in
2014 against those that had not by 2015 (fixest ``feols(dins ~ i(year, D, ref = 2013) | stfips +
year, cluster = "stfips")``). With one treated cohort and never-treated comparison units that
regression is exactly Sun & Abraham's, so ``sun_abraham`` gives its coefficients and clustered
covariance (test_sun_abraham pins that covariance to fixest itself).

R's relative-magnitude sets are grid points of a test inversion whose least-favourable critical
value R simulates (1,000 draws of its own random-number generator); ours comes from other draws, so
the pins are "the same grid point, or its neighbour": R's 2022 build of the README is reproduced
exactly; the 2024 build (grid: identified set +/- 20 SE) to within one grid point. R simulates the
FLCI's folded-normal quantile too (10^6 draws), so smoothness sets agree to a few 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import EvaluationError, InputError
from evaluation.methods import staggered_did
from evaluation.methods.event_study import EventStudyEstimates, event_study_estimates
from evaluation.methods.interaction_weighted import sun_abraham
from evaluation.methods.parallel_trends_sensitivity import (
    _problem,
    _rm_identified_set,
    breakdown_value,
    honest_did,
    plot_sensitivity,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "honest_did"


@pytest.fixture(scope="module")
def ehec() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "ehec.csv")
    data["cohort"] = data["yexp2"].fillna(0).astype(int)
    return data


@pytest.fixture(scope="module")
def readme_event_study(ehec) -> EventStudyEstimates:
    """The README's non-staggered TWFE event study: 2014 expanders against the rest, to 2015."""
    sample = ehec[(ehec["year"] < 2016) & (ehec["yexp2"].isna() | (ehec["yexp2"] != 2015))].copy()
    sample["cohort"] = np.where(sample["yexp2"] == 2014, 2014, 0)
    estimates = sun_abraham(sample, "dins", "stfips", "year", "cohort").event_study_estimates()
    assert estimates.event_time.tolist() == [-6, -5, -4, -3, -2, 0, 1]
    return estimates


def _r_grid(estimates, target, mbar, points, centre="identified set"):
    """R's grid: 0 +/- 20 SE (HonestDiD on GitHub) or the identified set +/- 20 SE (CRAN)."""
    p = _problem(estimates, target, None, None, "relative_magnitude")
    low, high = (0.0, 0.0) if centre == "zero" else _rm_identified_set(p, mbar)
    bounds = (low - 20 * p.se, high + 20 * p.se)
    return bounds, (bounds[1] - bounds[0]) / (points - 1)


def test_relative_magnitudes_reproduce_the_2022_readme_exactly(readme_event_study):
    ref = pd.read_csv(FIXTURES / "readme_relative_magnitude_2022.csv")
    bounds, _ = _r_grid(readme_event_study, 0, 0, 1000, centre="zero")
    ours = honest_did(readme_event_study, m=ref["Mbar"], target=0, grid_bounds=bounds, refine=False)
    np.testing.assert_allclose(ours["ci_low"], ref["lb"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["ci_high"], ref["ub"], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("reference", "target"),
    [
        ("readme_relative_magnitude_2024.csv", 0),
        ("readme_relative_magnitude_average_2024.csv", "average"),
    ],
)
def test_relative_magnitudes_match_the_2024_readme_to_a_grid_point(
    readme_event_study, reference, target
):
    ref = pd.read_csv(FIXTURES / reference)
    for mbar, low, high in ref[["Mbar", "lb", "ub"]].itertuples(index=False):
        bounds, step = _r_grid(readme_event_study, target, mbar, 1000)
        ours = honest_did(
            readme_event_study, m=[mbar], target=target, grid_bounds=bounds, refine=False
        ).iloc[0]
        assert abs(ours["ci_low"] - low) <= step * (1 + 1e-9), (mbar, ours["ci_low"], low)
        assert abs(ours["ci_high"] - high) <= step * (1 + 1e-9), (mbar, ours["ci_high"], high)


def test_relative_magnitudes_for_callaway_santanna_match_r(ehec):
    """README: honest_did() on did::aggte(min_e = -5, max_e = 5), e = 0, 100 grid points."""
    result = staggered_did(
        ehec, "dins", "stfips", "year", "cohort", control_group="notyet", base_period="universal"
    )
    estimates = event_study_estimates(result).window(pre=4, post=6)
    ref = pd.read_csv(FIXTURES / "cs_honest_relative_magnitude.csv")
    for mbar, low, high in ref[["Mbar", "lb", "ub"]].itertuples(index=False):
        bounds, step = _r_grid(estimates, 0, mbar, 100)
        ours = honest_did(
            result,
            m=[mbar],
            target=0,
            pre_periods=4,
            post_periods=6,
            grid_points=100,
            grid_bounds=bounds,
            refine=False,
        ).iloc[0]
        assert abs(ours["ci_low"] - low) <= step * (1 + 1e-9)
        assert abs(ours["ci_high"] - high) <= step * (1 + 1e-9)


def test_relative_magnitudes_for_sun_abraham_match_r():
    sunab = pd.read_csv(FIXTURES / "sunab_event_study.csv")
    estimates = EventStudyEstimates(
        sunab["event_time"], sunab["estimate"], sunab.filter(like="cov_").to_numpy()
    )
    ref = pd.read_csv(FIXTURES / "sunab_honest_relative_magnitude.csv")
    for mbar, low, high in ref[["Mbar", "lb", "ub"]].itertuples(index=False):
        bounds, step = _r_grid(estimates, 0, mbar, 100)
        ours = honest_did(
            estimates, m=[mbar], target=0, grid_points=100, grid_bounds=bounds, refine=False
        ).iloc[0]
        assert abs(ours["ci_low"] - low) <= step * (1 + 1e-9)
        assert abs(ours["ci_high"] - high) <= step * (1 + 1e-9)


def test_smoothness_flci_matches_r(readme_event_study):
    ref = pd.read_csv(FIXTURES / "readme_smoothness_2024.csv")
    ours = honest_did(readme_event_study, "smoothness", m=ref["M"], target=0)
    # R's folded-normal quantile is simulated (10^6 draws): agreement to its Monte Carlo error
    np.testing.assert_allclose(ours["ci_low"], ref["lb"], rtol=0, atol=5e-5)
    np.testing.assert_allclose(ours["ci_high"], ref["ub"], rtol=0, atol=5e-5)
    # README: "we can reject a null effect unless ... M ... more than 0.03"; it prints 3 digits
    printed = [0.0259, 0.0132, 0.00286, -0.00714, -0.0171, -0.0271]
    np.testing.assert_allclose(ours["ci_low"], printed, rtol=5e-3, atol=1e-4)


def test_original_interval_is_the_plain_one(readme_event_study):
    frame = honest_did(readme_event_study, "smoothness", m=[0.0], target=0)
    original = frame.attrs["original"]
    assert original["estimate"] == pytest.approx(readme_event_study.estimate[5], abs=1e-15)
    assert original["se"] == pytest.approx(readme_event_study.se[5], abs=1e-15)
    assert original["ci_high"] - original["ci_low"] == pytest.approx(2 * 1.959964 * original["se"])


def test_refined_bounds_are_the_edges_of_the_confidence_set(readme_event_study):
    from evaluation.methods.parallel_trends_sensitivity import _rm_pieces, _union_accepts

    frame = honest_did(readme_event_study, m=[1.0], target="average").iloc[0]
    p = _problem(readme_event_study, "average", None, None, "relative_magnitude")
    pieces = _rm_pieces(p, 1.0, 0.05, seed=0)
    eps = 1e-6 * p.se
    inside = _union_accepts(pieces, np.array([frame["ci_low"], frame["ci_high"]]), 0.05)
    outside = _union_accepts(
        pieces, np.array([frame["ci_low"] - eps, frame["ci_high"] + eps]), 0.05
    )
    assert inside.all() and not outside.any()
    assert frame["id_low"] < frame["id_high"]
    assert frame["ci_low"] < frame["id_low"] and frame["id_high"] < frame["ci_high"]


def test_confidence_sets_widen_with_the_bound(readme_event_study):
    for method, m in (("relative_magnitude", [0, 0.5, 1, 2]), ("smoothness", [0, 0.01, 0.03])):
        frame = honest_did(readme_event_study, method, m=m)
        assert (np.diff(frame["ci_low"]) <= 1e-12).all() and (
            np.diff(frame["ci_high"]) >= -1e-12
        ).all()


def test_breakdown_values_match_the_readme(readme_event_study):
    # README: significant at Mbar = 1.5, not at 2; at M = 0.02, not at 0.03 (first-year effect)
    mbar = breakdown_value(readme_event_study, "relative_magnitude", target=0)
    assert 1.5 < mbar < 2.0
    m = breakdown_value(readme_event_study, "smoothness", target=0)
    assert 0.02 < m < 0.03
    below, above = honest_did(readme_event_study, "smoothness", m=[m * 0.999, m * 1.001], target=0)[
        "ci_low"
    ]
    assert below > 0 > above


def test_breakdown_is_nan_when_not_significant_even_at_zero():
    estimates = EventStudyEstimates([-3, -2, 0, 1], [0.0, 0.01, 0.05, 0.02], np.eye(4) * 0.01)
    assert np.isnan(breakdown_value(estimates, "relative_magnitude"))
    assert np.isnan(breakdown_value(estimates, "smoothness"))


def test_sensitivity_plot_draws_every_bound(readme_event_study):
    frame = honest_did(readme_event_study, "relative_magnitude", m=[0, 1, 2], target=0)
    ax = plot_sensitivity(frame, indicator="nsaid")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Original", "0", "1", "2"]
    assert "multiple of the largest one before it" in ax.get_xlabel()
    assert len(ax.get_legend().get_texts()) >= 2


def test_too_few_pre_periods_is_a_clear_error():
    estimates = EventStudyEstimates([0, 1, 2], [1.0, 1.1, 1.2], np.eye(3) * 0.01)
    for method in ("relative_magnitude", "smoothness"):
        with pytest.raises(InputError, match="too few pre-treatment periods"):
            honest_did(estimates, method)
        with pytest.raises(EvaluationError, match="too few pre-treatment periods"):
            breakdown_value(estimates, method)


def test_varying_base_period_is_refused(ehec):
    result = staggered_did(ehec, "dins", "stfips", "year", "cohort", control_group="notyet")
    with pytest.raises(InputError, match="base_period='universal'"):
        honest_did(result)


def test_singular_covariance_asks_for_fewer_event_times():
    cov = np.ones((4, 4)) * 0.01  # rank one: as many event times as clusters, or more
    estimates = EventStudyEstimates([-3, -2, 0, 1], [0.0, 0.01, 0.3, 0.3], cov)
    with pytest.raises(InputError, match="has rank 1: .* pre_periods=1, post_periods=1"):
        honest_did(estimates)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "smooth"}, "method must be one of"),
        ({"target": 5}, "not a post-treatment event time"),
        ({"target": [1.0]}, "one entry per post-treatment event time"),
        ({"m": [-1.0]}, "non-negative"),
        ({"level": 1.5}, "level must be between 0 and 1"),
        ({"pre_periods": 9}, "has 2; use at most 2"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    estimates = EventStudyEstimates([-3, -2, 0, 1], [0.0, 0.01, 0.3, 0.3], np.eye(4) * 0.01)
    with pytest.raises(InputError, match=message):
        honest_did(estimates, **kwargs)


def test_gaps_in_event_times_are_refused():
    estimates = EventStudyEstimates([-4, -2, 0, 1], [0.0, 0.01, 0.3, 0.3], np.eye(4) * 0.01)
    with pytest.raises(InputError, match="not consecutive"):
        honest_did(estimates)


def test_results_without_a_joint_pre_and_post_covariance_are_refused(ehec):
    from evaluation.methods.imputation import imputation_did

    result = imputation_did(ehec, "dins", "stfips", "year", "cohort")
    with pytest.raises(InputError, match="cannot read event-study estimates from a"):
        honest_did(result)
