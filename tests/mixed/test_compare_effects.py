"""evaluation.mixed.compare against scipy/statsmodels, and .effects against the methods it wraps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.errors import MissingColumnsError
from evaluation.mixed.compare import CompareError, compare_by_theme, correlate_frequency, typology


def _quantitized(
    presence: dict[str, list[bool]], frequency: dict[str, list[int]] | None = None, n: int = 12
):
    rows = []
    ids = [f"C{i:03d}" for i in range(1, n + 1)]
    for code, flags in presence.items():
        counts = (frequency or {}).get(code, [int(f) * 2 for f in flags])
        for cluster_id, flag, count in zip(ids, flags, counts):
            rows.append(
                {
                    "cluster_id": cluster_id,
                    "code_key": code,
                    "code": f"Theme/{code}",
                    "theme": "Theme",
                    "level": "code",
                    "n_interviews": 1,
                    "presence": flag,
                    "frequency": count,
                    "share": count / 10,
                    "coverage": count / 100,
                }
            )
    return pd.DataFrame(rows), ids


def test_compare_by_theme_matches_scipy_and_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(4)
    presence = {
        "a": [True] * 5 + [False] * 7,
        "b": [True, False] * 6,
        "c": [True] * 11 + [False],  # too few without it: noted, not tested
    }
    q, ids = _quantitized(presence)
    effect = rng.normal(0, 1, 12) + np.array(presence["a"]) * 2.0
    outcomes = pd.DataFrame(
        {"cluster_id": ids, "effect": effect, "attendance_rate": rng.uniform(0.6, 1, 12)}
    )
    outcomes.loc[3, "attendance_rate"] = np.nan  # leaves the attendance tests only
    table = compare_by_theme(q, outcomes, ["effect", "attendance_rate"], min_group=3)
    row = table[(table["outcome"] == "effect") & (table["code"] == "Theme/a")].iloc[0]
    with_, without = effect[:5], effect[5:]
    mwu = stats.mannwhitneyu(with_, without, alternative="two-sided")
    welch = stats.ttest_ind(with_, without, equal_var=False)
    assert row["mwu_u"] == mwu.statistic and row["mwu_p_value"] == pytest.approx(
        mwu.pvalue, rel=1e-9
    )
    assert row["welch_t"] == pytest.approx(welch.statistic, rel=1e-9)
    assert row["welch_p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert row["difference"] == pytest.approx(with_.mean() - without.mean())
    assert row["rank_biserial"] == pytest.approx(1 - 2 * mwu.statistic / (5 * 7)) or row[
        "rank_biserial"
    ] == pytest.approx(2 * mwu.statistic / (5 * 7) - 1)
    effect_rows = table[(table["outcome"] == "effect") & table["mwu_p_value"].notna()]
    assert effect_rows["mwu_p_value_adjusted"].to_numpy() == pytest.approx(
        multipletests(effect_rows["mwu_p_value"], method="fdr_bh")[1]
    )
    noted = table[table["code"] == "Theme/c"]
    assert noted["mwu_p_value"].isna().all() and noted["note"].tolist() == [
        "not compared: 11 of the clusters with this outcome raised it and 1 did not; "
        "each side needs at least 3",
        "not compared: 10 of the clusters with this outcome raised it and 1 did not; "
        "each side needs at least 3",
    ]
    attendance_a = table[
        (table["outcome"] == "attendance_rate") & (table["code"] == "Theme/a")
    ].iloc[0]
    assert attendance_a["n_with"] + attendance_a["n_without"] == 11
    assert table.attrs["correction"] == "fdr_bh"
    with pytest.raises(CompareError, match="correction"):
        compare_by_theme(q, outcomes, ["effect"], correction="magic")
    with pytest.raises(MissingColumnsError, match="outcomes: missing column 'lift'"):
        compare_by_theme(q, outcomes, ["lift"])


def test_correlate_frequency_is_spearman_with_corrections():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(2)
    freq_a = list(rng.integers(0, 6, 12))
    q, ids = _quantitized(
        {"a": [f > 0 for f in freq_a], "z": [False] * 12}, frequency={"a": freq_a, "z": [0] * 12}
    )
    outcomes = pd.DataFrame({"cluster_id": ids, "effect": rng.normal(size=12)})
    table = correlate_frequency(q, outcomes, ["effect"], correction="holm")
    a = table[table["code"] == "Theme/a"].iloc[0]
    rho = stats.spearmanr(freq_a, outcomes["effect"])
    assert a["r"] == pytest.approx(rho.statistic)
    assert a["p_value"] == pytest.approx(rho.pvalue, rel=1e-6)
    assert a["p_value_adjusted"] == pytest.approx(
        multipletests([a["p_value"]], method="holm")[1][0]
    )
    assert (
        table[table["code"] == "Theme/z"]["note"].iloc[0]
        == "not tested: the frequency is the same in every cluster"
    )


def test_typology_quadrants_and_kmeans_name_the_types_by_effect_and_engagement():
    ids = [f"C{i:03d}" for i in range(1, 9)]
    # strong (very negative) effects with high attendance, weak effects with low, and the mixed
    effect = [-20, -18, -19, -2, -1, -3, -17, -2.5]
    attendance = [0.95, 0.96, 0.80, 0.81, 0.94, 0.79, 0.97, 0.78]
    outcomes = pd.DataFrame({"cluster_id": ids, "effect": effect, "attendance_rate": attendance})
    q, _ = _quantitized(
        {
            "x": [True, True, False, False, False, False, True, False],
            "y": [False, False, True, True, True, True, False, True],
        },
        n=8,
    )
    members, types = typology(outcomes, q, effect="effect")
    kinds = dict(zip(members["cluster_id"], members["type"]))
    assert (
        kinds["C001"] == "strong effect, high attendance"
        and kinds["C004"] == "weak effect, low attendance"
    )
    assert (
        kinds["C003"] == "strong effect, low attendance"
        and kinds["C005"] == "weak effect, high attendance"
    )
    top = types.set_index("type")
    assert top.loc["strong effect, high attendance", "clusters"] == 3
    assert top.loc["strong effect, high attendance", "dominant"] == ["Theme/x"]
    assert top.loc["weak effect, low attendance", "dominant"] == ["Theme/y"]
    # "increase" flips which effects count as strong
    flipped, _ = typology(outcomes, q, effect="effect", desired="increase")
    assert (
        dict(zip(flipped["cluster_id"], flipped["type"]))["C001"] == "weak effect, high attendance"
    )
    km, _ = typology(outcomes, q, effect="effect", method="kmeans", seed=0)
    assert km["type"].str.contains("effect").all() and km["type"].nunique() >= 3
    with pytest.raises(CompareError, match="at least 4 clusters"):
        typology(outcomes.head(3), q, effect="effect")


def test_html_table_escapes_every_cell_and_header():
    from evaluation.mixed.display import html_table

    frame = pd.DataFrame(
        {"theme <b>": ["<script>alert(1)</script>"], "quote": ['"A & B"\nnext line'], "n": [3]}
    )
    html = html_table(frame, caption="x < y")
    assert "<script>" not in html and "&lt;script&gt;" in html and "theme &lt;b&gt;" in html
    assert "&quot;A &amp; B&quot;<br>next line" in html and "<caption>x &lt; y</caption>" in html


def test_report_tables_put_the_join_in_words_without_changing_its_numbers():
    from evaluation.mixed.display import (
        comparison_table,
        correlation_table,
        significant_relations,
        theme_overview,
        typology_table,
    )

    q, ids = _quantitized(
        {"a": [True] * 6 + [False] * 6}, frequency={"a": [3, 2, 2, 1, 4, 2] + [0] * 6}
    )
    outcomes = pd.DataFrame(
        {"cluster_id": ids, "effect": [-1.0, -2, -1.5, -1, -2, -1] + [-9.0, -8, -9, -10, -8, -9]}
    )
    comparison = compare_by_theme(q, outcomes, ["effect"])
    shown = comparison_table(comparison, {"effect": "% change"})
    row = shown.loc[("% change", "Theme: a")]
    original = comparison[comparison["code"] == "Theme/a"].iloc[0]
    assert row["clusters raising it"] == 6 and row["mwu_p_value"] == original["mwu_p_value"]
    sentence = significant_relations(comparison, {"effect": "% change"})
    assert sentence.startswith("Significant after correction: Theme: a with % change")
    correlation = correlate_frequency(q, outcomes, ["effect"])
    assert correlation_table(correlation).index[0] == ("effect", "Theme: a")
    overview = theme_overview(q)
    assert overview.loc["Theme: a", "clusters raising it"] == 6
    _, types = typology(
        outcomes.assign(attendance_rate=np.linspace(0.5, 0.9, 12)), q, effect="effect"
    )
    table = typology_table(types, "% change")
    assert "mean % change" in table.columns and "dominant" not in table.columns


# --- effects: the per-cluster estimates are the methods' own numbers --------------------------


@pytest.fixture(scope="module")
def nsaid_panel(synthetic_national):
    from evaluation.data import load
    from evaluation.data.panel import prescribing_panel

    tables = load(
        synthetic_national, tables=["clinics", "meetings", "prescribing"], region="nordjylland"
    )
    return prescribing_panel(
        tables["prescribing"], tables["clinics"], tables["meetings"], indicator="nsaid"
    )


def test_its_cluster_effect_is_the_mean_of_its_clinics_level_changes(nsaid_panel):
    from evaluation.methods import its
    from evaluation.mixed.effects import cluster_effects

    result = cluster_effects(nsaid_panel, "its")
    treated = nsaid_panel.loc[nsaid_panel["cohort"] != 0, "cluster_id"].unique()
    assert set(result.estimates["cluster_id"]) | set(result.skipped["cluster_id"]) == set(
        nsaid_panel["cluster_id"]
    )
    assert set(result.skipped["cluster_id"]) == set(nsaid_panel["cluster_id"]) - set(treated)
    assert (result.skipped["reason"] == "did not meet on the topic within the study window").all()
    cluster_id = result.estimates.sort_values("n_clinics").iloc[-1]["cluster_id"]
    mine = nsaid_panel[nsaid_panel["cluster_id"] == cluster_id].copy()
    mine["pd"] = mine["listed_patients"] * mine["month"].dt.days_in_month / 1000
    fit = its(
        mine, "ddd", "month", "first_treated_month", population="pd", unit="clinic_id", harmonics=1
    )
    expected = fit.average("level_change").iloc[0]
    row = result.estimates.set_index("cluster_id").loc[cluster_id]
    assert row["estimate"] == pytest.approx(expected["estimate"], rel=1e-9)
    assert row["ci_low"] == pytest.approx(expected["ci_low"], rel=1e-9)
    assert row["n_clinics"] == mine["clinic_id"].nunique()
    percent = result.percent_change().set_index("cluster_id").loc[cluster_id, "estimate"]
    assert percent == pytest.approx(100 * np.expm1(expected["estimate"]))


def test_did_cluster_effect_is_its_cohorts_att_against_later_and_never_treated(nsaid_panel):
    from evaluation.methods import staggered_did
    from evaluation.mixed.effects import EffectsError, cluster_effects

    cohorts = nsaid_panel.drop_duplicates("cluster_id").set_index("cluster_id")["cohort"]
    cluster_id = cohorts[cohorts != 0].index[0]
    result = cluster_effects(nsaid_panel, "did", clusters=[cluster_id])
    assert result.estimates["cluster_id"].tolist() == [cluster_id]
    g = cohorts[cluster_id]
    sub = nsaid_panel[
        (nsaid_panel["cluster_id"] == cluster_id)
        | (nsaid_panel["cohort"] == 0)
        | (nsaid_panel["cohort"] > g)
    ]
    expected = (
        staggered_did(
            sub, "ddd_per_1000_per_day", "clinic_id", "month", "cohort", control_group="notyet"
        )
        .aggregate("group")
        .set_index("cohort")
        .loc[g]
    )
    assert result.estimates["estimate"].iloc[0] == pytest.approx(expected["att"], rel=1e-12)
    assert result.scale == "change in DDD per 1,000 patients per day"
    with pytest.raises(ValueError, match="absolute"):
        result.percent_change()
    with pytest.raises(EffectsError, match="method 'rd'"):
        cluster_effects(nsaid_panel, "rd")
    with pytest.raises(MissingColumnsError, match="prescribing_panel.*missing column 'cohort'"):
        cluster_effects(nsaid_panel.drop(columns=["cohort"]))
