"""SPC charts: qicharts2 parity (u and p charts), XmR arithmetic, runs and MDC rules, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import EvaluationError
from evaluation.methods import spc
from evaluation.methods.control_charts import anhoej_rules, making_data_count_rules

SPC_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "spc"


@pytest.mark.parametrize(
    "file, chart",
    [("u_chart_montgomery_tbl_07_10.csv", "u"), ("p_chart_montgomery_tbl_07_04.csv", "p")],
)
def test_u_and_p_charts_reproduce_qicharts2(file, chart):
    reference = pd.read_csv(SPC_DATA / file)
    result = spc(reference, x="x", chart=chart, numerator="y.sum", denominator="n")
    frame = result.to_frame()
    np.testing.assert_allclose(frame["y"], reference["y"], rtol=1e-12)
    np.testing.assert_allclose(frame["centre"], reference["cl"], rtol=1e-12)
    np.testing.assert_allclose(frame["upper"], reference["ucl"], rtol=1e-12)
    np.testing.assert_allclose(frame["lower"], reference["lcl"], rtol=1e-12, atol=1e-15)
    assert (frame["n_useful"] == reference["n.useful"]).all()
    assert (frame["longest_run"] == reference["longest.run"]).all()
    assert (frame["longest_run_max"] == reference["longest.run.max"]).all()
    assert (frame["crossings"] == reference["n.crossings"]).all()
    assert (frame["crossings_min"] == reference["n.crossings.min"]).all()
    assert (frame["runs_signal"] == reference["runs.signal"]).all()
    assert (frame["beyond_limits"] == reference["sigma.signal"]).all()


def test_xmr_limits_come_from_the_average_moving_range():
    values = np.array([10.0, 12, 11, 13, 12, 14, 11, 10, 12, 13, 11, 12, 30])
    frame = spc(pd.DataFrame({"v": values}), y="v", chart="xmr").to_frame()
    mr_bar = np.mean(np.abs(np.diff(values)))
    assert frame["centre"].iloc[0] == pytest.approx(values.mean())
    assert frame["upper"].iloc[0] == pytest.approx(values.mean() + 3 * mr_bar / 1.128)
    assert frame["lower_2sigma"].iloc[0] == pytest.approx(values.mean() - 2 * mr_bar / 1.128)
    assert frame["mr_upper"].iloc[0] == pytest.approx(3.267 * mr_bar)
    assert frame["beyond_limits"].tolist() == [False] * 12 + [True]
    assert frame["variation"].iloc[-1] == "special cause (higher)"


def test_baseline_freezes_the_limits_and_a_shift_after_a_meeting_is_seen():
    rng = np.random.default_rng(4)
    before = rng.normal(40, 2, 24)
    after = rng.normal(34, 2, 12)
    series = pd.DataFrame(
        {
            "month": pd.period_range("2019-01", periods=36, freq="M"),
            "rate": np.concatenate([before, after]),
        }
    )
    result = spc(series, y="rate", x="month", chart="xmr", baseline=24, improvement="down")
    frame = result.to_frame()
    assert frame["centre"].iloc[0] == pytest.approx(before.mean())
    assert frame["shift"].iloc[24:].all()
    assert frame["variation"].iloc[30].startswith("improvement")
    assert result.runs["runs_signal"]
    summary = result.summary()
    assert len(summary) == 1
    assert summary["n_shift"].iloc[0] >= 12 and summary["chart"].iloc[0] == "xmr"


def test_anhoej_rules_ignore_points_on_the_centre_line():
    runs = anhoej_rules([1, 2, 3, 5, 5, 7, 8, 9, 5, 1, 2], 5)
    # useful points: 1 2 3 | 7 8 9 | 1 2 -> 8 points, runs of 3, 3, 2, crossings 2;
    # qbinom(0.05, 7, 0.5) = 1
    assert runs == {
        "n_useful": 8,
        "longest_run": 3,
        "longest_run_max": 6,
        "crossings": 2,
        "crossings_min": 1,
        "runs_signal": False,
    }
    assert anhoej_rules(np.r_[np.ones(10), -np.ones(10)], 0)[
        "runs_signal"
    ]  # run of 10 > round(log2 20)+3 = 7


def test_making_data_count_rules_and_their_lengths():
    centre = 0.0
    seven_above = [1, 1, 1, 1, 1, 1, 1, -1, 1, -1]
    six_above = [1, 1, 1, 1, 1, 1, -1, 1, -1, 1]
    assert (
        making_data_count_rules(seven_above, centre)["shift"].tolist() == [True] * 7 + [False] * 3
    )
    assert not making_data_count_rules(six_above, centre)["shift"].any()
    assert making_data_count_rules(six_above, centre, shift_length=6)["shift"].sum() == 6
    rising = [0, 5, 1, 2, 3, 4, 5, 6, 2, 3]
    trend = making_data_count_rules(rising, 3)["trend"].tolist()
    assert trend == [False, False, True, True, True, True, True, True, False, False]
    assert not making_data_count_rules(rising, 3, trend_length=7)["trend"].any()
    two_of_three = making_data_count_rules(
        [0, 2.5, 0, 2.4, 0, 0, -2.2, 1, 0, 0], 0, lower=-3, upper=3, lower_2sigma=-2, upper_2sigma=2
    )
    assert two_of_three["two_of_three"].tolist() == [False, True, False, True] + [False] * 6
    assert not two_of_three["beyond_limits"].any()
    assert two_of_three.loc[1, "direction"] == "higher"


def test_run_chart_uses_the_median_and_has_no_limits():
    values = pd.DataFrame({"v": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]})
    frame = spc(values, y="v", chart="run").to_frame()
    assert frame["centre"].iloc[0] == 4.5
    assert "upper" not in frame and "beyond_limits" not in frame


def test_u_chart_of_a_clinic_month_series_from_the_synthetic_data(synthetic_small):
    prescribing = pd.read_parquet(synthetic_small / "prescribing.parquet")
    clinic = prescribing[
        (prescribing["clinic_id"] == "K0001") & (prescribing["indicator"] == "nsaid")
    ]
    result = spc(
        clinic,
        x="month",
        chart="u",
        numerator="prescriptions",
        denominator="listed_patients",
        multiplier=1000,
        y_label="NSAID prescriptions per 1,000 patients per month",
        improvement="down",
    )
    frame = result.to_frame()
    assert len(frame) == 96
    expected_centre = 1000 * clinic["prescriptions"].sum() / clinic["listed_patients"].sum()
    assert frame["centre"].iloc[0] == pytest.approx(expected_centre)
    assert (frame["lower"] >= 0).all() and (frame["upper"] > frame["centre"]).all()
    ax = result.plot(title="Clinic K0001")
    assert ax.get_ylabel() == "NSAID prescriptions per 1,000 patients per month"
    spc(clinic, x="month", y="prescriptions", chart="xmr").plot()


@pytest.mark.parametrize(
    "kwargs, data, message",
    [
        (dict(y="v"), pd.DataFrame({"v": range(5)}), "at least 10 points"),
        (dict(y="v"), pd.DataFrame({"v": [1.0] * 9 + [np.nan, 2, 3]}), "missing or not a number"),
        (
            dict(chart="u", numerator="c", denominator="n"),
            pd.DataFrame({"c": range(12), "n": [10] * 11 + [0]}),
            "must be > 0",
        ),
        (
            dict(chart="p", numerator="c", denominator="n"),
            pd.DataFrame({"c": [3] * 11 + [12], "n": [10] * 12}),
            "exceeds denominator",
        ),
        (dict(chart="u"), pd.DataFrame({"c": range(12)}), "needs numerator"),
        (dict(y="v", chart="c"), pd.DataFrame({"v": range(12)}), "chart must be"),
        (dict(y="v"), pd.DataFrame({"v": [2.0] * 12}), "does not vary"),
        (dict(y="w"), pd.DataFrame({"v": range(12)}), "missing column 'w'"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, data, message):
    with pytest.raises(EvaluationError, match=message):
        spc(data, **kwargs)


def test_laney_charts_rescale_the_limits_by_the_moving_range_of_z():
    reference = pd.read_csv(SPC_DATA / "p_chart_montgomery_tbl_07_04.csv")
    plain = spc(reference, x="x", chart="p", numerator="y.sum", denominator="n").to_frame()
    laney = spc(reference, x="x", chart="pp", numerator="y.sum", denominator="n").to_frame()
    p_bar = reference["y.sum"].sum() / reference["n"].sum()
    sigma = np.sqrt(p_bar * (1 - p_bar) / reference["n"])
    z = (reference["y"] - p_bar) / sigma
    sigma_z = np.mean(np.abs(np.diff(z))) / 1.128
    np.testing.assert_allclose(laney["upper"], p_bar + 3 * sigma * sigma_z, rtol=1e-12)
    np.testing.assert_allclose(
        laney["lower"], np.maximum(0, p_bar - 3 * sigma * sigma_z), rtol=1e-12
    )
    assert (laney["centre"] == plain["centre"]).all()
    # a large cluster's monthly rate: real variation swamps Poisson noise; u flags most months,
    # u' few
    rng = np.random.default_rng(8)
    months = pd.DataFrame({"n": np.full(36, 50_000.0)})
    months["count"] = rng.poisson(months["n"] * 0.02 * rng.normal(1, 0.10, 36))
    u = spc(months, chart="u", numerator="count", denominator="n").to_frame()
    u_prime = spc(months, chart="up", numerator="count", denominator="n").to_frame()
    assert u["beyond_limits"].sum() > 10 and u_prime["beyond_limits"].sum() <= 2


def test_repeated_times_are_refused_rather_than_charted():
    rows = pd.DataFrame({"month": list(range(12)) + [11], "v": np.arange(13.0)})
    with pytest.raises(ValueError, match="sum the counts"):
        spc(rows, y="v", x="month")


# ---------------------------------------------------------------------------------------------
# phases (part=): pinned to qicharts2's vignette on its cdi data (tests/fixtures/spc/README.md)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdi():
    data = pd.read_csv(SPC_DATA / "cdi.csv", parse_dates=["month"])
    data["one"] = 1.0  # a C chart is a u chart with every denominator 1
    return data


def test_frozen_baseline_run_chart_matches_the_qicharts2_vignette(cdi):
    # qic(month, n, data = cdi, freeze = 24): median 19, a run of 15 points below it
    chart = spc(cdi, y="n", x="month", chart="run", baseline=24)
    assert chart.to_frame()["centre"].iloc[0] == 19
    assert chart.runs["longest_run"] == 15 and chart.runs["runs_signal"]


def test_run_chart_split_at_the_intervention_shows_random_variation_in_each_phase(cdi):
    # qic(month, n, data = cdi, part = 24): "both periods show only random variation"
    chart = spc(cdi, y="n", x="month", chart="run", part=24)
    summary = chart.summary()
    assert summary["phase"].tolist() == [1, 2]
    assert summary["n_points"].tolist() == [24, 12]
    assert summary["centre"].tolist() == [19, np.median(cdi["n"].iloc[24:])]
    assert not summary["runs_signal"].any()
    # each phase is judged against its own median with its own Anhøj limits
    for (_, phase), rows in zip(chart.to_frame().groupby("phase"), (slice(0, 24), slice(24, 36))):
        expected = anhoej_rules(cdi["n"].iloc[rows], np.median(cdi["n"].iloc[rows]))
        assert phase["longest_run"].iloc[0] == expected["longest_run"]
        assert phase["crossings"].iloc[0] == expected["crossings"]
    assert chart.phases["runs_signal"].tolist() == [False, False]


def test_c_chart_split_at_the_intervention_matches_the_qicharts2_vignette(cdi):
    # qic(month, n, data = cdi, chart = 'c', part = 24): average 19 -> 7, limits 0 to 15
    chart = spc(cdi, x="month", chart="u", numerator="n", denominator="one", part=24)
    frame = chart.to_frame()
    before, after = frame[frame["phase"] == 1], frame[frame["phase"] == 2]
    assert round(before["centre"].iloc[0]) == 19 and round(after["centre"].iloc[0]) == 7
    assert round(after["lower"].iloc[0]) == 0 and round(after["upper"].iloc[0]) == 15
    for phase, rows in ((before, slice(0, 24)), (after, slice(24, 36))):
        mean = cdi["n"].iloc[rows].mean()
        np.testing.assert_allclose(phase["centre"], mean, rtol=1e-12)
        np.testing.assert_allclose(phase["upper"], mean + 3 * np.sqrt(mean), rtol=1e-12)
        np.testing.assert_allclose(phase["lower"], max(mean - 3 * np.sqrt(mean), 0), atol=1e-12)
    # one baseline across the change flags the whole after-period; split, the rules are quiet
    unsplit = spc(cdi, x="month", chart="u", numerator="n", denominator="one")
    assert unsplit.to_frame()["special_cause"].iloc[24:].sum() >= 10
    assert frame["beyond_limits"].sum() == 0


def test_a_phase_column_gives_the_same_chart_as_positions(cdi):
    by_position = spc(cdi, x="month", chart="u", numerator="n", denominator="days", part=24)
    by_label = spc(cdi, x="month", chart="u", numerator="n", denominator="days", part="period")
    columns = ["centre", "upper", "lower", "runs_signal", "special_cause"]
    pd.testing.assert_frame_equal(by_position.to_frame()[columns], by_label.to_frame()[columns])
    assert by_label.to_frame()["phase"].iloc[[0, -1]].tolist() == ["pre", "post"]
    # shuffled rows are put back in time order with their labels
    shuffled = cdi.sample(frac=1, random_state=3)
    again = spc(shuffled, x="month", chart="u", numerator="n", denominator="days", part="period")
    pd.testing.assert_frame_equal(again.to_frame()[columns], by_label.to_frame()[columns])


def test_xmr_and_laney_charts_recompute_their_sigma_within_each_phase(cdi):
    chart = spc(cdi, y="n", x="month", chart="xmr", part=[12, 24])
    frame = chart.to_frame()
    assert frame["phase"].tolist() == [1] * 12 + [2] * 12 + [3] * 12
    for number in (1, 2, 3):
        values = cdi["n"].iloc[(number - 1) * 12 : number * 12].to_numpy(dtype=float)
        mr_bar = np.mean(np.abs(np.diff(values)))  # moving ranges never cross a phase boundary
        phase = frame[frame["phase"] == number]
        assert np.isnan(phase["moving_range"].iloc[0])
        assert phase["upper"].iloc[0] == pytest.approx(values.mean() + 3 * mr_bar / 1.128)
    laney = spc(cdi, x="month", chart="up", numerator="n", denominator="days", part=24)
    assert laney.to_frame().groupby("phase")["centre"].nunique().tolist() == [1, 1]


def test_a_shift_across_the_boundary_is_the_change_not_a_signal():
    values = [10.0, 11, 9, 10, 11, 9, 10, 11, 9, 10, 20, 21, 19, 20, 21, 19, 20, 21, 19, 20]
    chart = spc(pd.DataFrame({"v": values}), y="v", chart="xmr", part=10)
    assert not chart.to_frame()["special_cause"].any()
    assert chart.summary()["centre"].tolist() == [10, 20]


def test_a_split_chart_plots_each_phase_apart(cdi):
    import matplotlib.pyplot as plt

    chart = spc(cdi, x="month", chart="u", numerator="n", denominator="days", part=24)
    ax = chart.plot(title="CDI")
    labels = ax.get_legend_handles_labels()[1]
    assert "Limits recomputed (new phase)" in labels
    assert labels.count("Average (centre line)") == 1
    plt.close("all")


@pytest.mark.parametrize(
    "part, message",
    [
        (1, "phases of at least 2"),
        (35, "phases of at least 2"),
        ([0, 24], "phases of at least 2"),
        (2.5, "number of points before each new phase"),
        ("no_such_column", "no_such_column"),
    ],
)
def test_a_part_that_cannot_split_the_chart_gets_a_clear_error(cdi, part, message):
    with pytest.raises(EvaluationError, match=message):
        spc(cdi, y="n", x="month", chart="run", part=part)


def test_phase_labels_must_be_unbroken_and_baseline_excludes_part(cdi):
    broken = cdi.assign(period=["a"] * 10 + ["b"] * 10 + ["a"] * 16)
    with pytest.raises(EvaluationError, match="one unbroken stretch"):
        spc(broken, y="n", x="month", chart="run", part="period")
    with pytest.raises(EvaluationError, match="not both"):
        spc(cdi, y="n", x="month", chart="run", part=24, baseline=12)


def test_a_phase_can_start_at_a_date_as_the_meeting_month(cdi):
    by_position = spc(cdi, x="month", chart="u", numerator="n", denominator="days", part=24)
    by_date = spc(
        cdi, x="month", chart="u", numerator="n", denominator="days",
        part=pd.Timestamp("2014-11-01"),
    )  # fmt: skip
    pd.testing.assert_frame_equal(by_position.to_frame(), by_date.to_frame())
    periods = cdi.assign(month=cdi["month"].dt.to_period("M"))
    by_period = spc(
        periods, y="n", x="month", chart="run", part=[pd.Period("2014-11", "M")]
    ).summary()
    assert by_period["n_points"].tolist() == [24, 12]
