"""The synthetic national dataset looks like Danish general practice and is reproducible."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from evaluation.cli import main
from evaluation.data.catalogue import INDICATORS, REGIONS, TOPICS
from evaluation.data.synth import (
    SYNTHETIC_MARKER,
    TABLES,
    generate_tables,
    write_register,
    write_synthetic,
)
from evaluation.errors import OutputTargetError


@pytest.fixture(scope="module")
def national(synthetic_national) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(synthetic_national / f"{name}.parquet") for name in TABLES}


@pytest.fixture(scope="module")
def truth(synthetic_national) -> dict:
    return json.loads((synthetic_national / "truth.json").read_text(encoding="utf-8"))


def test_structure_matches_danish_general_practice(national):
    clusters, clinics, gps = national["clusters"], national["clinics"], national["gps"]
    assert set(clusters["region"]) == {r.name for r in REGIONS}
    assert 105 <= len(clusters) <= 125
    assert clusters["n_gps"].between(10, 73).all()
    assert 26 <= clusters["n_gps"].mean() <= 32
    assert 1600 <= len(clinics) <= 1900
    assert clinics["n_gps"].between(1, 8).all()
    assert set(clinics["practice_type"]) == {"solo", "partnership"}
    assert set(clinics["urbanicity"]) == {"urban", "rural"}
    per_gp = clinics["listed_patients"].sum() / clinics["n_gps"].sum()
    assert 1450 <= per_gp <= 1750
    # every GP belongs to a clinic of their cluster, and cluster sizes add up
    assert (
        gps.merge(clinics, on="clinic_id")["cluster_id_x"]
        .eq(gps.merge(clinics, on="clinic_id")["cluster_id_y"])
        .all()
    )
    assert clusters.set_index("cluster_id")["n_gps"].equals(
        gps.groupby("cluster_id").size().rename("n_gps").reindex(clusters["cluster_id"])
    )


def test_meetings_are_staggered_from_2019_and_some_clusters_never_take_a_topic(national):
    meetings = national["meetings"]
    dates = pd.to_datetime(meetings["date"])
    assert dates.min().year == 2019 and dates.max().year == 2023
    per_year = meetings.assign(year=dates.dt.year).groupby(["cluster_id", "year"]).size()
    assert per_year.between(2, 4).all()
    assert set(meetings["topic"]) <= set(TOPICS)
    first_nsaid = meetings[meetings["topic"] == "nsaid"].groupby("cluster_id")["date"].min()
    assert pd.to_datetime(first_nsaid).dt.year.nunique() >= 4  # staggered over the years
    assert 0 < first_nsaid.size < len(national["clusters"])  # some clusters never


def test_attendance_rates_and_absentees(national, truth):
    attendance = national["attendance"].merge(national["meetings"], on="meeting_id")
    rates = attendance.groupby("cluster_id")["attended"].mean()
    assert rates.min() > 0.5 and rates.quantile(0.05) < 0.75
    assert rates.quantile(0.95) > 0.93
    absentees = truth["persistent_absentees"]
    assert 0 < len(absentees) < 0.06 * len(national["gps"])
    per_gp = national["attendance"].groupby("gp_id")["attended"].mean()
    assert per_gp[absentees].mean() < 0.2 < per_gp.drop(absentees).mean()


def test_prescribing_is_a_complete_panel_with_seasonality_and_trend(national):
    rx = national["prescribing"]
    n_clinics = len(national["clinics"])
    assert len(rx) == n_clinics * 96 * len(INDICATORS)
    assert not rx.duplicated(["clinic_id", "month", "indicator"]).any()
    assert (rx["users"] <= rx["prescriptions"]).all() and (
        rx[["ddd", "prescriptions", "users"]] >= 0
    ).all().all()
    month = pd.to_datetime(rx["month"])
    assert month.min() == pd.Timestamp("2016-01-01") and month.max() == pd.Timestamp("2023-12-01")
    abx = rx[rx["indicator"] == "antibiotics"].assign(m=month.dt.month)
    rate = abx.groupby("m")["prescriptions"].sum()
    assert rate[1] > 1.3 * rate[7]  # winter peak
    nsaid = rx[rx["indicator"] == "nsaid"].assign(y=month.dt.year)
    per_year = (
        nsaid.groupby("y")["prescriptions"].sum() / nsaid.groupby("y")["listed_patients"].sum()
    )
    assert per_year[2023] < per_year[2016]  # secular decline
    # over-dispersed: variance of monthly counts well above the Poisson mean within a clinic
    one = nsaid[nsaid["clinic_id"] == nsaid["clinic_id"].iloc[0]]["prescriptions"]
    assert one.var() > 1.5 * one.mean()


def test_truth_records_every_injected_effect(national, truth):
    meetings = national["meetings"]
    for ind in INDICATORS:
        record = truth["indicators"][ind.key]
        takers = meetings[meetings["topic"] == ind.topic]["cluster_id"].nunique()
        assert record["treated_clusters"] == takers == len(record["cohorts"])
        assert record["att_ddd_per_1000_per_day"] < 0
        assert record["dose_response"]["sign"] == "negative"
        assert record["dose_response"]["log_rr_per_unit_share_attended"] < 0
    effects = pd.DataFrame(truth["clinic_effects"])
    assert (effects["log_rr"] < 0).all()
    # larger reductions where more of the clinic's GPs attended (planted dose-response)
    nsaid = effects[effects["indicator"] == "nsaid"].dropna()
    assert np.corrcoef(nsaid["share_attended"], nsaid["log_rr"])[0, 1] < -0.2
    # clusters with data-access trouble have weaker effects
    clusters = pd.DataFrame(truth["clusters"]).set_index("cluster_id")
    cohorts = pd.DataFrame(truth["indicators"]["nsaid"]["cohorts"]).set_index("cluster_id")
    trouble = clusters.loc[cohorts.index, "data_access_trouble"]
    assert (
        cohorts.loc[trouble, "mean_clinic_log_rr"].mean()
        > cohorts.loc[~trouble, "mean_clinic_log_rr"].mean()
    )


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    runner = CliRunner()
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        result = runner.invoke(
            main,
            [
                "data",
                "synth",
                "--scale",
                "small",
                "--seed",
                str(seed),
                "--out",
                str(tmp_path / name),
                "--quiet",
            ],
        )
        assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted([f"{t}.parquet" for t in TABLES] + ["truth.json", SYNTHETIC_MARKER])
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "prescribing.parquet").read_bytes() != (
        tmp_path / "c" / "prescribing.parquet"
    ).read_bytes()


def _synth(out, *extra: str):
    return CliRunner().invoke(
        main, ["data", "synth", "--scale", "small", "--out", str(out), "--quiet", *extra]
    )


def _snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_rewriting_its_own_folder_replaces_it_atomically(tmp_path):
    out = tmp_path / "synthetic"
    assert _synth(out, "--seed", "1").exit_code == 0
    first = (out / "prescribing.parquet").read_bytes()
    assert _synth(out, "--seed", "2").exit_code == 0
    assert (out / "prescribing.parquet").read_bytes() != first
    assert json.loads((out / SYNTHETIC_MARKER).read_text())["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]  # no temporary folders left


def test_hostile_synth_onto_the_users_folder_loses_nothing(tmp_path):
    """Issue 14: `data synth --out DIR` onto a folder with the user's files deleted them, exit 0."""
    out = tmp_path / "my-analysis"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"three years of work")
    (out / "notes").mkdir()
    (out / "notes" / "n.txt").write_text("keep me")
    before = _snapshot(out)
    refused = _synth(out)
    assert refused.exit_code == 1, refused.output
    assert "thesis.docx" in refused.output and "--force" in refused.output
    assert "Traceback" not in refused.output
    assert _snapshot(out) == before and [p.name for p in tmp_path.iterdir()] == ["my-analysis"]

    # --force writes beside them, and a second --force replaces only synth's own files
    assert _synth(out, "--force", "--seed", "3").exit_code == 0
    assert (out / "thesis.docx").read_bytes() == b"three years of work"
    assert (out / "notes" / "n.txt").read_text() == "keep me"
    assert (out / "clinics.parquet").exists() and (out / SYNTHETIC_MARKER).exists()
    assert _synth(out, "--force", "--seed", "4").exit_code == 0
    assert json.loads((out / "truth.json").read_text())["seed"] == 4
    assert {k: v for k, v in _snapshot(out).items() if k in before} == before
    assert not any(".tmp-" in p.name for p in tmp_path.iterdir())


def test_hostile_synth_never_overwrites_a_users_file_of_the_same_name(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "clinics.parquet").write_bytes(b"the user's real clinics")
    for extra in ((), ("--force",)):
        result = _synth(out, *extra)
        assert result.exit_code == 1 and "clinics.parquet" in result.output, result.output
        assert (out / "clinics.parquet").read_bytes() == b"the user's real clinics"
        assert sorted(p.name for p in out.iterdir()) == ["clinics.parquet"]


def test_hostile_synth_targets_a_file_or_a_path_through_a_file(tmp_path):
    a_file = tmp_path / "results.csv"
    a_file.write_text("x\n1\n")
    for out in (a_file, a_file / "synthetic"):
        result = _synth(out)
        assert result.exit_code != 0 and "is a file" in result.output, result.output
        assert a_file.read_text() == "x\n1\n"
    with pytest.raises(OutputTargetError):
        write_synthetic(a_file, scale="small", progress=False)


def test_unknown_scale_is_refused():
    result = CliRunner().invoke(main, ["data", "synth", "--scale", "huge"])
    assert result.exit_code != 0 and "huge" in result.output


def test_register_records_aggregate_exactly_to_the_monthly_table(tmp_path):
    tables, _, clinics = generate_tables(5, "small")
    # two clusters keep the test quick
    keep = clinics["cluster_id"].isin(clinics["cluster_id"].unique()[:2])
    rx = tables["prescribing"][
        tables["prescribing"]["clinic_id"].isin(clinics.loc[keep, "clinic_id"])
    ]
    rows = write_register(5, rx.reset_index(drop=True), clinics, tmp_path, progress=False)
    records = pd.read_parquet(tmp_path / "register")
    assert len(records) == rows == rx["prescriptions"].sum()
    assert sorted(p.name for p in (tmp_path / "register").iterdir()) == [
        f"year={y}" for y in range(2016, 2024)
    ]
    from evaluation.data.catalogue import indicator_for_atc

    records["indicator"] = records["atc"].astype(str).map(indicator_for_atc)
    records["month"] = pd.to_datetime(records["date"]).dt.to_period("M").dt.to_timestamp()
    agg = records.groupby(["clinic_id", "month", "indicator"], observed=True).agg(
        prescriptions=("person_id", "size"), users=("person_id", "nunique"), ddd=("ddd", "sum")
    )
    expected = (
        rx[rx["prescriptions"] > 0]
        .assign(month=lambda d: pd.to_datetime(d["month"]))
        .set_index(["clinic_id", "month", "indicator"])
    )
    agg.index = agg.index.set_levels(agg.index.levels[0].astype(str), level=0)
    joined = expected.join(agg, rsuffix="_records", how="left")
    assert (joined["prescriptions"] == joined["prescriptions_records"]).all()
    assert (joined["users"] == joined["users_records"]).all()
    np.testing.assert_allclose(joined["ddd_records"], joined["ddd"], rtol=1e-9)
