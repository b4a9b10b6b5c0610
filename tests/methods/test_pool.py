"""Random-effects pooling: parity with statsmodels (DL), REML by direct maximisation, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from evaluation.errors import InputError
from evaluation.methods import pool

REGIONS = pd.DataFrame(
    {
        "region": ["Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"],
        "log_rr": [-0.121, -0.043, -0.102, -0.171, 0.012],
        "se": [0.031, 0.052, 0.038, 0.041, 0.064],
    }
)


def test_dersimonian_laird_matches_statsmodels_to_1e_8():
    result = pool(REGIONS, estimate="log_rr", se="se", ci="normal")
    reference = combine_effects(
        REGIONS["log_rr"].to_numpy(), REGIONS["se"].to_numpy() ** 2, method_re="dl"
    )
    frame = reference.summary_frame()
    assert result.tau2 == pytest.approx(reference.tau2, abs=1e-8)
    assert result.q == pytest.approx(reference.q, abs=1e-8)
    assert result.i2 == pytest.approx(reference.i2, abs=1e-8)
    assert result.estimate == pytest.approx(frame.loc["random effect", "eff"], abs=1e-8)
    assert result.se == pytest.approx(frame.loc["random effect", "sd_eff"], abs=1e-8)
    assert result.ci_low == pytest.approx(frame.loc["random effect", "ci_low"], abs=1e-8)
    assert result.ci_high == pytest.approx(frame.loc["random effect", "ci_upp"], abs=1e-8)
    assert result.fixed_estimate == pytest.approx(frame.loc["fixed effect", "eff"], abs=1e-8)
    studies = result.to_frame().iloc[:5]
    np.testing.assert_allclose(studies["weight_random"] / 100, frame["w_re"].iloc[:5], atol=1e-8)
    np.testing.assert_allclose(studies["weight_fixed"] / 100, frame["w_fe"].iloc[:5], atol=1e-8)
    # prediction interval (Higgins 2009): t on k - 2 df
    half = stats.t.ppf(0.975, 3) * np.sqrt(
        reference.tau2 + frame.loc["random effect", "sd_eff"] ** 2
    )
    assert result.prediction_low == pytest.approx(
        frame.loc["random effect", "eff"] - half, abs=1e-8
    )
    assert result.prediction_high == pytest.approx(
        frame.loc["random effect", "eff"] + half, abs=1e-8
    )


def test_reml_maximises_the_restricted_likelihood():
    y, v = REGIONS["log_rr"].to_numpy(), REGIONS["se"].to_numpy() ** 2

    def negative_restricted_loglik(tau2):
        w = 1 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        return 0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))

    best = optimize.minimize_scalar(
        negative_restricted_loglik, bounds=(0, 1), method="bounded", options={"xatol": 1e-14}
    )
    result = pool(REGIONS, estimate="log_rr", se="se", method="REML")
    assert result.tau2 == pytest.approx(best.x, abs=1e-8)
    w = 1 / (v + best.x)
    assert result.estimate == pytest.approx(np.sum(w * y) / np.sum(w), abs=1e-8)


def test_homogeneous_estimates_have_tau2_zero_and_random_equals_fixed():
    same = pd.DataFrame(
        {"region": list("ABCD"), "estimate": [0.10, 0.11, 0.09, 0.10], "se": [0.05] * 4}
    )
    result = pool(same)
    assert result.tau2 == 0 and result.i2 == 0
    assert result.estimate == pytest.approx(result.fixed_estimate)


def test_forest_plot_and_frame():
    result = pool(
        REGIONS,
        estimate="log_rr",
        se="se",
        x_label="NSAID prescribing rate ratio after the meeting",
    )
    frame = result.to_frame()
    assert frame["label"].iloc[-1].startswith("Pooled") and len(frame) == 6
    assert frame["weight_random"].iloc[:5].sum() == pytest.approx(100)
    ax = result.plot(transform=np.exp)
    assert ax.get_xlabel() == "NSAID prescribing rate ratio after the meeting"
    assert [t.get_text() for t in ax.get_yticklabels()][:5] == list(REGIONS["region"])


@pytest.mark.parametrize(
    "data, message",
    [
        (REGIONS.assign(se=[0.03, 0, 0.04, 0.04, 0.06]), "must be > 0"),
        (REGIONS.assign(log_rr=[0.1, np.nan, 0.1, 0.1, 0.1]), "missing or not finite"),
        (REGIONS.head(1), "at least 2"),
    ],
)
def test_bad_input_gets_a_clear_error(data, message):
    with pytest.raises(ValueError, match=message):
        pool(data, estimate="log_rr", se="se")


def test_two_estimates_pool_but_warn_that_no_prediction_interval_exists():
    with pytest.warns(UserWarning, match="prediction interval is undefined"):
        result = pool(REGIONS.head(2), estimate="log_rr", se="se", ci="normal")
    assert np.isfinite(result.estimate) and np.isnan(result.prediction_low)
    # Hartung-Knapp (the default for two): t on 1 df, finite and honestly wide
    hk = pool(REGIONS.head(2), estimate="log_rr", se="se")
    assert hk.ci == "hk" and hk.ci_high - hk.ci_low > result.ci_high - result.ci_low
    assert np.isfinite(hk.prediction_low)
    with pytest.raises(ValueError, match="method must be"):
        pool(REGIONS, estimate="log_rr", se="se", method="PM")


def test_pooling_the_five_regional_dose_responses_recovers_the_planted_slope(national_tables):
    from evaluation.methods.meeting_attendance import dose_response, topic_meeting_share

    t = national_tables
    shares = topic_meeting_share(t["attendance"], t["meetings"], t["gps"], "nsaid")
    nsaid = t["prescribing"][t["prescribing"]["indicator"] == "nsaid"]
    rows = []
    for region, clinic_ids in t["clinics"].groupby("region")["clinic_id"]:
        result = dose_response(
            nsaid[nsaid["clinic_id"].isin(clinic_ids)], shares[shares["clinic_id"].isin(clinic_ids)]
        )
        rows.append({"region": region, "estimate": result.slope, "se": result.se})
    national = pool(pd.DataFrame(rows))
    planted = t["truth"]["indicators"]["nsaid"]["dose_response"]["log_rr_per_unit_share_attended"]
    assert national.estimate < 0 and national.ci_high < 0
    assert national.ci_low < planted < national.ci_high
    assert len(national.to_frame()) == 6


def test_summary_is_one_tidy_row():
    result = pool(REGIONS, estimate="log_rr", se="se")
    summary = result.summary()
    assert len(summary) == 1
    row = summary.iloc[0]
    assert row["estimate"] == result.estimate and row["ci_low"] == result.ci_low
    assert row["p_value"] == result.p_value and row["k"] == 5 and row["method"] == "DL"


def test_pool_estimates_pools_each_recorded_estimate_as_pool_does():
    from evaluation.methods import pool_estimates

    recorded = pd.concat(
        [
            REGIONS.rename(columns={"log_rr": "estimate"}).assign(
                notebook="01_prescribing_impact", name="its_log_rr", label="ITS"
            ),
            REGIONS.head(1)
            .rename(columns={"log_rr": "estimate"})
            .assign(notebook="02_meeting_attendance", name="slope", label=None),
            REGIONS.rename(columns={"log_rr": "estimate"}).assign(
                notebook="09_other", name="x", label="X"
            ),
        ],
        ignore_index=True,
    )
    national = pool_estimates(
        recorded, notebooks=["01_prescribing_impact", "02_meeting_attendance"]
    )
    frame = national.to_frame().set_index("name")
    assert list(frame.index) == ["its_log_rr", "slope"]
    direct = pool(REGIONS, estimate="log_rr", se="se")
    assert frame.loc["its_log_rr", "estimate"] == direct.estimate
    assert (
        frame.loc["its_log_rr", "ci_high"] == direct.ci_high and frame.loc["its_log_rr", "k"] == 5
    )
    assert national.estimates[0].title == "ITS (01_prescribing_impact)"
    assert national.estimates[0].regions["region"].tolist() == list(REGIONS["region"])
    # one region cannot be pooled: listed with the reason, no figures
    assert np.isnan(frame.loc["slope", "estimate"])
    assert frame.loc["slope", "note"].startswith("only 1 region(s) recorded it")
    assert national.estimates[1].label == "slope"  # no label recorded: the name
    assert national.summary()["name"].tolist() == ["its_log_rr"]
    ax = national.plot(0)
    assert ax.get_xlabel() == "ITS"
    with pytest.raises(ValueError, match="only 1 region"):
        national.plot(1)


def test_pool_estimates_pools_each_value_of_a_sweep_apart():
    from evaluation.methods import pool_estimates

    rows = REGIONS.rename(columns={"log_rr": "estimate"})
    recorded = pd.concat(
        [rows.assign(indicator="nsaid"), rows.assign(indicator="antibiotics", estimate=0.1)]
    ).assign(notebook="01", name="its")
    national = pool_estimates(recorded)
    frame = national.to_frame()
    assert sorted(frame["indicator"]) == ["antibiotics", "nsaid"]
    assert frame.set_index("indicator").loc["antibiotics", "estimate"] == pytest.approx(0.1)
    assert sorted(item.title for item in national.estimates) == [
        "its (01), antibiotics",
        "its (01), nsaid",
    ]


# ---------------------------------------------------------------------------------------------
# pinned to R metafor on the BCG vaccine data (tests/fixtures/pool/README.md)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bcg():
    """dat.bcg with metafor's escalc(measure="RR") log risk ratios and sampling variances."""
    data = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "pool" / "dat_bcg.csv")
    vaccinated = data["tpos"] + data["tneg"]
    controls = data["cpos"] + data["cneg"]
    data["yi"] = np.log((data["tpos"] / vaccinated) / (data["cpos"] / controls))
    data["vi"] = 1 / data["tpos"] - 1 / vaccinated + 1 / data["cpos"] - 1 / controls
    data["sei"] = np.sqrt(data["vi"])
    data["study"] = data["author"] + ", " + data["year"].astype(str)
    return data


def test_bcg_log_risk_ratios_match_metafor_escalc(bcg):
    printed_yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120,
                  -0.4694, -1.3713, -0.3394, 0.4459, -0.0173]  # fmt: skip
    printed_vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564,
                  0.0730, 0.0124, 0.5325, 0.0714]  # fmt: skip
    np.testing.assert_allclose(bcg["yi"], printed_yi, atol=5e-5)
    np.testing.assert_allclose(bcg["vi"], printed_vi, atol=5e-5)


def test_reml_with_knapp_hartung_matches_metafor_readme(bcg):
    # rma(yi, vi, data=dat, test="knha"), metafor README: printed to 4 decimals
    result = pool(bcg, estimate="yi", se="sei", label="study", method="REML", ci="hk")
    summary = result.summary().iloc[0]
    assert summary["tau2"] == pytest.approx(0.3132, abs=5e-5)
    # metafor prints I^2 = 92.22% from tau^2 (100 tau^2 / (tau^2 + typical v)); ours is Higgins
    # and Thompson's from Q, equal to metafor's under DL (checked below) and printed there too
    assert summary["q"] == pytest.approx(152.2330, abs=5e-5)
    assert summary["estimate"] == pytest.approx(-0.7145, abs=5e-5)
    assert summary["se"] == pytest.approx(0.1808, abs=5e-5)
    assert summary["z"] == pytest.approx(-3.9522, abs=5e-5)  # metafor's tval
    assert summary["df"] == 12
    assert summary["p_value"] == pytest.approx(0.0019, abs=5e-5)
    assert summary["ci_low"] == pytest.approx(-1.1084, abs=5e-5)
    assert summary["ci_high"] == pytest.approx(-0.3206, abs=5e-5)
    # predict(res, transf=exp, digits=2): 0.49 (0.33, 0.73), prediction interval 0.14 to 1.76
    columns = ["estimate", "ci_low", "ci_high", "prediction_low", "prediction_high"]
    back = np.exp(summary[columns].astype(float))
    np.testing.assert_allclose(back.astype(float), [0.49, 0.33, 0.73, 0.14, 1.76], atol=5e-3)
    # the same as % change: a risk ratio of 0.49 is a 51% reduction
    change = result.percent_change().iloc[0]
    assert change["percent_change"] == pytest.approx(100 * (np.exp(-0.7145) - 1), abs=0.01)
    assert change["ci_high"] == pytest.approx(100 * (np.exp(-0.3206) - 1), abs=0.01)


def test_dersimonian_laird_normal_matches_metafor_tests(bcg):
    # rma(yi, vi, data=dat, method="DL"), metafor tests/testthat (compared there with Stata metan)
    result = pool(bcg, estimate="yi", se="sei", label="study", method="DL", ci="normal")
    summary = result.summary().iloc[0]
    assert summary["estimate"] == pytest.approx(-0.7141, abs=5e-5)
    assert summary["ci_low"] == pytest.approx(-1.0644, abs=5e-5)
    assert summary["ci_high"] == pytest.approx(-0.3638, abs=5e-5)
    assert summary["z"] == pytest.approx(-3.9952, abs=5e-5)
    assert summary["tau2"] == pytest.approx(0.3088, abs=5e-5)
    assert summary["i2"] * 100 == pytest.approx(92.1173, abs=5e-5)
    back = np.exp(summary[["estimate", "ci_low", "ci_high"]].astype(float))
    np.testing.assert_allclose(back, [0.4896, 0.3449, 0.6950], atol=5e-5)


def test_reml_normal_matches_metafor_reference_page(bcg):
    result = pool(bcg, estimate="yi", se="sei", label="study", method="REML", ci="normal")
    summary = result.summary().iloc[0]
    expected = {"estimate": -0.7145, "se": 0.1798, "z": -3.9744, "ci_low": -1.0669,
                "ci_high": -0.3622}  # fmt: skip
    for column, value in expected.items():
        assert summary[column] == pytest.approx(value, abs=5e-5), column


def test_hartung_knapp_is_the_default_below_ten_estimates(bcg):
    assert pool(REGIONS, estimate="log_rr", se="se").ci == "hk"
    assert pool(bcg, estimate="yi", se="sei", label="study").ci == "normal"  # k = 13
    five = pool(REGIONS, estimate="log_rr", se="se")
    normal = pool(REGIONS, estimate="log_rr", se="se", ci="normal")
    assert five.estimate == pytest.approx(normal.estimate)
    assert five.summary()["df"].iloc[0] == 4


def test_unknown_interval_method_is_refused():
    with pytest.raises(InputError, match="ci must be one of"):
        pool(REGIONS, estimate="log_rr", se="se", ci="knha")
