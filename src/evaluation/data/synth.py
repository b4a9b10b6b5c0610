"""Synthetic national dataset shaped like Danish general practice.

No real patient data ever ship with the workbench: this generator is the embedded default.
It builds, from one seed, the five regions' quality clusters, their clinics and GPs, cluster
meetings on topics taken up at staggered dates (some clusters never), attendance at those
meetings, monthly prescribing per clinic and indicator with trend, seasonality, over-dispersed
noise and a known effect injected after a cluster's topic meeting, and (``scale="register"``)
individual prescription records that aggregate exactly to the monthly table.

Every injected effect is written to truth.json so methods can be checked for recovering it.

Determinism: each part draws from its own stream ``default_rng([seed, STREAM])``, so the
register records never disturb the monthly table (``national`` and ``register`` at one seed
share every table), and the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from evaluation.data.catalogue import (
    CLUSTERS_START_MEETING,
    INDICATORS,
    REGIONS,
    STUDY_END,
    STUDY_START,
    TOPIC_INDICATOR,
)
from evaluation.errors import InputError, OutputTargetError
from evaluation.files import TMP_MARK, atomic_folder, check_output_folder, move_entries_into

GENERATOR_VERSION = "1"
SCALES = ("small", "national", "register")

# Streams: one per part, so adding records or a table never shifts another part's draws.
_STRUCTURE, _MEETINGS, _ATTENDANCE, _PRESCRIBING, _REGISTER = range(5)

# Clusters per region in the national set (114 in all, roughly proportional to GPs).
_CLUSTERS_PER_REGION = {
    "hovedstaden": 35,
    "sjaelland": 17,
    "syddanmark": 24,
    "midtjylland": 25,
    "nordjylland": 13,
}
_URBAN_SHARE = {
    "hovedstaden": 0.85,
    "sjaelland": 0.45,
    "syddanmark": 0.5,
    "midtjylland": 0.5,
    "nordjylland": 0.4,
}
# Share of clinics with 1..8 GPs: mostly solo and small partnerships (mean ~1.9 GPs).
_CLINIC_SIZE_WEIGHTS = np.array([0.57, 0.22, 0.09, 0.05, 0.03, 0.02, 0.01, 0.01])
PATIENTS_PER_GP = 1600

# Chance that a cluster ever takes up a topic in 2019-2023.
_TOPIC_UPTAKE = {
    "nsaid": 0.65,
    "antibiotics_respiratory": 0.6,
    "conjunctivitis": 0.45,
    "dependence_producing": 0.55,
    "diabetes": 0.6,
    "copd": 0.5,
}
_MEETING_MONTHS = np.array([2, 3, 4, 5, 6, 9, 10, 11])


@dataclass(frozen=True)
class _IndicatorModel:
    """How one indicator is simulated (rates per listed patient per month)."""

    prescriptions_per_patient_month: float
    ddd_per_prescription: float
    users_per_prescription: float  # share of prescriptions that are a month's first for a person
    trend_per_year: float  # log-rate change per year, centred on 2020-01
    season_amplitude: float  # log-rate amplitude of the yearly cycle
    season_peak_month: int
    clinic_sd: float  # between-clinic log-rate SD: practice variation
    effect_log_rr: float  # the planted effect of the topic meeting at full attendance
    atc_codes: tuple[tuple[str, float], ...]  # codes drawn for register records, with weights


_MODELS: dict[str, _IndicatorModel] = {
    "nsaid": _IndicatorModel(
        0.024,
        30.0,
        0.85,
        -0.04,
        0.05,
        7,
        0.30,
        -0.18,
        (("M01AE01", 0.55), ("M01AB05", 0.2), ("M01AE02", 0.15), ("M01AH01", 0.1)),
    ),
    "antibiotics": _IndicatorModel(
        0.036,
        12.0,
        0.92,
        -0.03,
        0.25,
        1,
        0.25,
        -0.10,
        (
            ("J01CE02", 0.45),
            ("J01CA04", 0.2),
            ("J01FA09", 0.15),
            ("J01CR02", 0.1),
            ("J01MA02", 0.1),
        ),
    ),
    "eye_antibiotics": _IndicatorModel(
        0.006,
        5.0,
        0.95,
        -0.02,
        0.20,
        2,
        0.40,
        -0.20,
        (("S01AA01", 0.7), ("S01AA13", 0.3)),
    ),
    "dependence_producing": _IndicatorModel(
        0.052,
        25.0,
        0.60,
        -0.03,
        0.03,
        12,
        0.35,
        -0.08,
        (
            ("N05BA04", 0.3),
            ("N05CF01", 0.25),
            ("N05CD02", 0.1),
            ("N02AX02", 0.2),
            ("N02AA01", 0.15),
        ),
    ),
}
_DISPERSION_SHAPE = 30.0  # clinic-month gamma frailty: CV ~ 18 % on top of Poisson noise
_DATA_TROUBLE_EFFECT = 0.35  # clusters that struggle to obtain data keep only this much effect
_DOSE_FLOOR = 0.25  # effect at zero attendance, as a share of the effect at full attendance
_REGISTER_PARTITION = "register"
_PERSON_STRIDE = 104_729  # prime larger than any list size: strides give distinct persons


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def months() -> pd.DatetimeIndex:
    return pd.date_range(STUDY_START, STUDY_END, freq="MS")


# --------------------------------------------------------------------------------------------
# structure: clusters, clinics, GPs
# --------------------------------------------------------------------------------------------


def _structure(
    seed: int, scale: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = _rng(seed, _STRUCTURE)
    per_region = _CLUSTERS_PER_REGION if scale != "small" else {r: 4 for r in _CLUSTERS_PER_REGION}
    cluster_rows, clinic_rows, gp_rows, trait_rows = [], [], [], []
    for region in REGIONS:
        for _ in range(per_region[region.slug]):
            cluster_id = f"C{len(cluster_rows) + 1:03d}"
            # 10 + gamma gives the right skew: most clusters 20-35 GPs, a few very large.
            n_gps = int(np.clip(round(10 + rng.gamma(2.0, 9.5)), 10, 73))
            urban_cluster = rng.random() < _URBAN_SHARE[region.slug]
            sizes: list[int] = []
            while sum(sizes) < n_gps:
                sizes.append(int(rng.choice(8, p=_CLINIC_SIZE_WEIGHTS)) + 1)
            sizes[-1] -= sum(sizes) - n_gps
            if sizes[-1] == 0:
                sizes.pop()
            cluster_patients = 0
            for size in sizes:
                clinic_id = f"K{len(clinic_rows) + 1:04d}"
                urban = rng.random() < (0.85 if urban_cluster else 0.2)
                listed = int(round(size * PATIENTS_PER_GP * rng.lognormal(0.0, 0.15)))
                cluster_patients += listed
                clinic_rows.append(
                    dict(
                        clinic_id=clinic_id,
                        cluster_id=cluster_id,
                        region=region.name,
                        n_gps=size,
                        listed_patients=listed,
                        urbanicity="urban" if urban else "rural",
                        practice_type="solo" if size == 1 else "partnership",
                    )
                )
                for _ in range(size):
                    gp_rows.append(
                        dict(
                            gp_id=f"G{len(gp_rows) + 1:05d}",
                            clinic_id=clinic_id,
                            cluster_id=cluster_id,
                            sex="F" if rng.random() < 0.55 else "M",
                            birth_year=int(rng.integers(1955, 1991)),
                        )
                    )
            number_in_region = sum(r["region"] == region.name for r in cluster_rows) + 1
            cluster_rows.append(
                dict(
                    cluster_id=cluster_id,
                    cluster_name=f"{region.name} cluster {number_in_region}",
                    region=region.name,
                    n_clinics=len(sizes),
                    n_gps=n_gps,
                    listed_patients=cluster_patients,
                )
            )
            # Latent traits of the cluster: they drive attendance and effects, and give the
            # interview generator something true to talk about (truth.json records them).
            engaged = bool(rng.random() < 0.5)
            trait_rows.append(
                dict(
                    cluster_id=cluster_id,
                    region=region.name,
                    attendance_target=float(
                        rng.uniform(0.86, 0.99) if engaged else rng.uniform(0.66, 0.90)
                    ),
                    fade_logit_per_year=float(rng.choice([0.0, 0.0, -0.10, -0.20])),
                    engaged_gps=engaged,
                    data_access_trouble=bool(rng.random() < 0.3),
                    funding_concerns=bool(rng.random() < 0.4),  # deliberately unrelated to effects
                    effect_multiplier=float(rng.lognormal(0.0, 0.3)),
                    cluster_log_rate=float(rng.normal(0.0, 0.10)),
                )
            )
    return (
        pd.DataFrame(cluster_rows),
        pd.DataFrame(clinic_rows),
        pd.DataFrame(gp_rows),
        pd.DataFrame(trait_rows),
    )


# --------------------------------------------------------------------------------------------
# meetings and attendance
# --------------------------------------------------------------------------------------------


def _meetings(seed: int, clusters: pd.DataFrame) -> pd.DataFrame:
    rng = _rng(seed, _MEETINGS)
    last_year = int(STUDY_END[:4])
    rows = []
    for cluster_id in clusters["cluster_id"]:
        dates = []
        for year in range(CLUSTERS_START_MEETING, last_year + 1):
            n = int(rng.choice([2, 3, 4], p=[0.25, 0.45, 0.30]))
            for month in np.sort(rng.choice(_MEETING_MONTHS, size=n, replace=False)):
                dates.append(pd.Timestamp(year, int(month), int(rng.integers(1, 29))))
        # Each catalogue topic is taken up (first meeting on it) at a random meeting, or never.
        topics: list[str | None] = [None] * len(dates)
        free = list(rng.permutation(len(dates)))
        for topic, p in _TOPIC_UPTAKE.items():
            if rng.random() < p and free:
                topics[free.pop()] = topic
        taken: list[str] = []
        for i, topic in enumerate(topics):
            if topic is None:
                # Meetings without a new topic follow up an earlier one or do local business.
                earlier = [t for t in topics[:i] if t is not None]
                topic = (
                    str(rng.choice(earlier)) if earlier and rng.random() < 0.4 else "organisation"
                )
            taken.append(topic)
        for date, topic in zip(dates, taken):
            rows.append(dict(cluster_id=cluster_id, date=date, topic=topic))
    meetings = pd.DataFrame(rows).sort_values(["cluster_id", "date"], kind="stable")
    meetings.insert(0, "meeting_id", [f"M{i + 1:05d}" for i in range(len(meetings))])
    meetings["date"] = meetings["date"].dt.date
    return meetings.reset_index(drop=True)


def _attendance(
    seed: int, meetings: pd.DataFrame, gps: pd.DataFrame, traits: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    rng = _rng(seed, _ATTENDANCE)
    gp_effect = rng.normal(0.0, 0.5, len(gps))
    absentee = rng.random(len(gps)) < 0.03
    gp_frame = gps[["gp_id", "cluster_id"]].assign(gp_effect=gp_effect, absentee=absentee)
    pairs = meetings[["meeting_id", "cluster_id", "date"]].merge(gp_frame, on="cluster_id")
    pairs = pairs.merge(
        traits[["cluster_id", "attendance_target", "fade_logit_per_year"]], on="cluster_id"
    )
    years = pd.to_datetime(pairs["date"]).dt.year.to_numpy() - CLUSTERS_START_MEETING
    target = pairs["attendance_target"].to_numpy()
    logit = np.log(target / (1 - target)) + pairs["gp_effect"].to_numpy()
    logit += pairs["fade_logit_per_year"].to_numpy() * years
    p = 1.0 / (1.0 + np.exp(-logit))
    p = np.where(pairs["absentee"].to_numpy(), 0.08, p)
    attended = rng.random(len(pairs)) < p
    attendance = pd.DataFrame(
        {"meeting_id": pairs["meeting_id"], "gp_id": pairs["gp_id"], "attended": attended}
    ).sort_values(["meeting_id", "gp_id"], kind="stable")
    return attendance.reset_index(drop=True), sorted(gps.loc[absentee, "gp_id"])


# --------------------------------------------------------------------------------------------
# prescribing
# --------------------------------------------------------------------------------------------


def _topic_exposure(
    meetings: pd.DataFrame, attendance: pd.DataFrame, gps: pd.DataFrame, clinics: pd.DataFrame
) -> pd.DataFrame:
    """For every clinic and indicator whose topic its cluster took up: the first topic meeting,
    the first treated month (the month after it) and the share of the clinic's GPs present."""
    first = (
        meetings[meetings["topic"].isin(TOPIC_INDICATOR)]
        .sort_values("date", kind="stable")
        .drop_duplicates(["cluster_id", "topic"])
    )
    present = attendance.merge(gps[["gp_id", "clinic_id"]], on="gp_id")
    share = (
        present.groupby(["meeting_id", "clinic_id"], sort=True)["attended"]
        .mean()
        .rename("share_attended")
    )
    exposure = first.merge(clinics[["clinic_id", "cluster_id"]], on="cluster_id")
    exposure = exposure.merge(share.reset_index(), on=["meeting_id", "clinic_id"], how="left")
    exposure["indicator"] = exposure["topic"].map(TOPIC_INDICATOR)
    meeting_month = pd.to_datetime(exposure["date"]).dt.to_period("M")
    exposure["first_treated_month"] = (meeting_month + 1).dt.to_timestamp()
    return (
        exposure[
            [
                "clinic_id",
                "cluster_id",
                "indicator",
                "meeting_id",
                "date",
                "first_treated_month",
                "share_attended",
            ]
        ]
        .sort_values(["indicator", "clinic_id"], kind="stable")
        .reset_index(drop=True)
    )


def _prescribing(
    seed: int, clinics: pd.DataFrame, traits: pd.DataFrame, exposure: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Monthly counts per clinic and indicator, plus the expected (noise-free) rates that
    define the true effects, and each clinic's planted log rate ratio."""
    rng = _rng(seed, _PRESCRIBING)
    month_index = months()
    n_clinics, n_months = len(clinics), len(month_index)
    # List sizes drift slowly: a multiplicative random walk, ~0.5 % a month.
    drift = np.cumsum(rng.normal(0.0, 0.005, (n_clinics, n_months)), axis=1)
    listed = np.rint(clinics["listed_patients"].to_numpy()[:, None] * np.exp(drift)).astype(
        np.int64
    )
    years_from_2020 = ((month_index.year - 2020) * 12 + month_index.month - 1).to_numpy() / 12.0
    days = month_index.days_in_month.to_numpy()
    cluster_log_rate = (
        clinics[["cluster_id"]].merge(traits, on="cluster_id")["cluster_log_rate"].to_numpy()
    )
    trait_by_cluster = traits.set_index("cluster_id")
    urban = (clinics["urbanicity"] == "urban").to_numpy()

    tables, expected_frames, effect_frames = [], [], []
    for indicator in INDICATORS:
        model = _MODELS[indicator.key]
        clinic_log_rate = rng.normal(0.0, model.clinic_sd, n_clinics) + cluster_log_rate
        if indicator.key == "dependence_producing":
            clinic_log_rate = clinic_log_rate + np.where(urban, 0.0, 0.10)
        season = model.season_amplitude * np.cos(
            2 * np.pi * (month_index.month.to_numpy() - model.season_peak_month) / 12
        )
        log_rate = (
            np.log(model.prescriptions_per_patient_month)
            + clinic_log_rate[:, None]
            + (model.trend_per_year * years_from_2020 + season)[None, :]
        )
        # The planted effect: a step from the month after the cluster's topic meeting, larger
        # where more of the clinic's GPs attended and weaker where the cluster lacks data.
        log_rr = np.zeros((n_clinics, n_months))
        exp_ind = exposure[exposure["indicator"] == indicator.key]
        clinic_pos = pd.Index(clinics["clinic_id"]).get_indexer(exp_ind["clinic_id"])
        mult = trait_by_cluster.loc[exp_ind["cluster_id"], "effect_multiplier"].to_numpy()
        trouble = trait_by_cluster.loc[exp_ind["cluster_id"], "data_access_trouble"].to_numpy()
        share = exp_ind["share_attended"].fillna(0.0).to_numpy()
        clinic_effect = (
            model.effect_log_rr
            * mult
            * np.where(trouble, _DATA_TROUBLE_EFFECT, 1.0)
            * (_DOSE_FLOOR + (1 - _DOSE_FLOOR) * share)
        )
        start = month_index.get_indexer(exp_ind["first_treated_month"])
        for pos, begin, effect in zip(clinic_pos, start, clinic_effect):
            if begin >= 0:  # a meeting in the study's last month treats nothing inside it
                log_rr[pos, begin:] = effect
        effect_frames.append(
            exp_ind.assign(
                log_rr=clinic_effect,
                effect_multiplier=mult,
                data_access_trouble=trouble,
            )
        )
        expected_rx = listed * np.exp(log_rate + log_rr)
        frailty = rng.gamma(_DISPERSION_SHAPE, 1.0 / _DISPERSION_SHAPE, (n_clinics, n_months))
        prescriptions = rng.poisson(expected_rx * frailty)
        users = rng.binomial(prescriptions, model.users_per_prescription)
        users = np.where(prescriptions > 0, np.maximum(users, 1), 0)
        # DDD: a sum of one gamma(4) package size per prescription.
        ddd = model.ddd_per_prescription * rng.gamma(np.maximum(prescriptions, 1) * 4.0, 0.25)
        ddd = np.where(prescriptions > 0, np.round(ddd, 3), 0.0)

        tables.append(
            pd.DataFrame(
                {
                    "clinic_id": np.repeat(clinics["clinic_id"].to_numpy(), n_months),
                    "month": np.tile(month_index.date, n_clinics),
                    "indicator": indicator.key,
                    "ddd": ddd.ravel(),
                    "prescriptions": prescriptions.ravel(),
                    "users": users.ravel(),
                    "listed_patients": listed.ravel(),
                }
            )
        )
        # Expected DDD per 1,000 patients per day with and without the effect: the truth that
        # the difference-in-differences ATT and the ITS rate ratios estimate.
        rate0 = np.exp(log_rate) * model.ddd_per_prescription * 1000.0 / days[None, :]
        expected_frames.append(
            pd.DataFrame(
                {
                    "clinic_id": np.repeat(clinics["clinic_id"].to_numpy(), n_months),
                    "month": np.tile(month_index, n_clinics),
                    "indicator": indicator.key,
                    "expected_untreated": rate0.ravel(),
                    "expected_treated": (rate0 * np.exp(log_rr)).ravel(),
                    "log_rr": log_rr.ravel(),
                }
            )
        )
    prescribing = pd.concat(tables, ignore_index=True)
    prescribing = prescribing.sort_values(["clinic_id", "indicator", "month"], kind="stable")
    return (
        prescribing.reset_index(drop=True),
        pd.concat(expected_frames, ignore_index=True),
        pd.concat(effect_frames, ignore_index=True),
    )


# --------------------------------------------------------------------------------------------
# individual prescription records (register scale)
# --------------------------------------------------------------------------------------------


def write_register(
    seed: int, prescribing: pd.DataFrame, clinics: pd.DataFrame, out: Path, progress: bool
) -> int:
    """Explode the monthly table into one row per prescription, one Parquet file per year,
    at ``out/register/year=YYYY/part-0.parquet`` (columns person_id, clinic_id, date, atc, ddd).
    Returns the number of records. Usable on any scale: ``generate_tables`` gives the inputs.

    Per clinic-month-indicator cell the records reproduce exactly the table's prescriptions
    (rows), users (distinct persons) and DDD (sum, to float rounding)."""
    from tqdm.auto import tqdm

    rng = _rng(seed, _REGISTER)
    clinic_number = (
        pd.Index(clinics["clinic_id"]).get_indexer(prescribing["clinic_id"]).astype(np.int64)
    )
    month = pd.to_datetime(prescribing["month"])
    years = month.dt.year.to_numpy()
    atc_tables = {
        key: (np.array([c for c, _ in m.atc_codes]), np.array([w for _, w in m.atc_codes]))
        for key, m in _MODELS.items()
    }
    schema = pa.schema(
        [
            ("person_id", pa.int64()),
            ("clinic_id", pa.dictionary(pa.int32(), pa.string())),
            ("date", pa.date32()),
            ("atc", pa.dictionary(pa.int32(), pa.string())),
            ("ddd", pa.float64()),
        ]
    )
    total = 0
    for year in tqdm(np.unique(years), desc="register records", disable=not progress, unit="year"):
        cells = prescribing.loc[years == year].reset_index(drop=True)
        cell_clinic = clinic_number[years == year]
        n_rx = cells["prescriptions"].to_numpy()
        n_users = cells["users"].to_numpy()
        keep = n_rx > 0
        cells, cell_clinic, n_rx, n_users = (
            cells[keep].reset_index(drop=True),
            cell_clinic[keep],
            n_rx[keep],
            n_users[keep],
        )
        cell = np.repeat(np.arange(len(cells)), n_rx)
        offsets = np.cumsum(n_rx) - n_rx
        k = np.arange(len(cell)) - offsets[cell]  # rank of the record within its cell
        listed = cells["listed_patients"].to_numpy()
        start = rng.integers(0, np.iinfo(np.int32).max, len(cells))
        # The first `users` records are distinct persons (a prime stride through the list);
        # the rest are repeat prescriptions to those same persons.
        slot = np.where(
            k < n_users[cell], k, (rng.random(len(cell)) * n_users[cell]).astype(np.int64)
        )
        local_person = (start[cell] + slot * _PERSON_STRIDE) % listed[cell]
        person_id = cell_clinic[cell] * 100_000 + local_person + 1_000_000_000
        # DDD split over the cell's prescriptions by gamma weights, then scaled to the cell sum.
        weights = rng.gamma(4.0, 1.0, len(cell))
        weight_sum = np.bincount(cell, weights, minlength=len(cells))
        ddd = cells["ddd"].to_numpy()[cell] * weights / weight_sum[cell]
        month_start = pd.to_datetime(cells["month"]).to_numpy().astype("datetime64[D]")
        days = pd.to_datetime(cells["month"]).dt.days_in_month.to_numpy()
        date = month_start[cell] + (rng.random(len(cell)) * days[cell]).astype("timedelta64[D]")
        atc = np.empty(len(cell), dtype=object)
        indicator = cells["indicator"].to_numpy()[cell]
        for key, (codes, code_weights) in atc_tables.items():
            mask = indicator == key
            atc[mask] = codes[rng.choice(len(codes), size=int(mask.sum()), p=code_weights)]
        table = pa.table(
            {
                "person_id": pa.array(person_id, pa.int64()),
                "clinic_id": pa.array(cells["clinic_id"].to_numpy()[cell]).dictionary_encode(),
                "date": pa.array(date, pa.date32()),
                "atc": pa.array(atc, pa.string()).dictionary_encode(),
                "ddd": pa.array(ddd, pa.float64()),
            }
        ).cast(schema)
        part = out / _REGISTER_PARTITION / f"year={year}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, part / "part-0.parquet", compression="zstd", row_group_size=1_000_000)
        total += len(cell)
    return total


# --------------------------------------------------------------------------------------------
# truth and the whole set
# --------------------------------------------------------------------------------------------


def _truth(
    seed: int,
    scale: str,
    traits: pd.DataFrame,
    effects: pd.DataFrame,
    expected: pd.DataFrame,
    absentees: list[str],
    register_rows: int | None,
) -> dict:
    indicators = {}
    for key, model in _MODELS.items():
        eff = effects[effects["indicator"] == key]
        exp = expected[expected["indicator"] == key]
        treated = exp[exp["log_rr"] != 0]
        att = float((treated["expected_treated"] - treated["expected_untreated"]).mean())
        untreated_mean = float(treated["expected_untreated"].mean())
        # Dose-response as planted:
        #   log RR = base * multiplier * trouble * (floor + (1-floor)*share),
        # so per unit share attended the log RR moves by base*(1-floor)*mean(multiplier*trouble).
        scale_term = eff["effect_multiplier"] * np.where(
            eff["data_access_trouble"], _DATA_TROUBLE_EFFECT, 1.0
        )
        indicators[key] = {
            "topic": next(i.topic for i in INDICATORS if i.key == key),
            "base_log_rr_full_attendance": model.effect_log_rr,
            "treated_clusters": int(eff["cluster_id"].nunique()),
            "treated_clinics": int(eff["clinic_id"].nunique()),
            "att_ddd_per_1000_per_day": att,
            "mean_untreated_ddd_per_1000_per_day_in_treated_cells": untreated_mean,
            "att_relative": att / untreated_mean if untreated_mean else None,
            "mean_clinic_log_rr": float(eff["log_rr"].mean()) if len(eff) else None,
            "dose_response": {
                "log_rr_per_unit_share_attended": float(
                    model.effect_log_rr * (1 - _DOSE_FLOOR) * scale_term.mean()
                )
                if len(eff)
                else None,
                "sign": "negative" if model.effect_log_rr < 0 else "positive",
                "meaning": (
                    "clinics where more GPs attended the topic meeting reduced prescribing more"
                ),
            },
            "cohorts": [
                {
                    "cluster_id": cluster_id,
                    "meeting_id": str(g["meeting_id"].iloc[0]),
                    "meeting_date": str(g["date"].iloc[0]),
                    "first_treated_month": g["first_treated_month"].iloc[0].strftime("%Y-%m"),
                    "mean_clinic_log_rr": float(g["log_rr"].mean()),
                }
                for cluster_id, g in eff.groupby("cluster_id", sort=True)
            ],
        }
    clinic_effects = [
        {
            "clinic_id": r.clinic_id,
            "indicator": r.indicator,
            "first_treated_month": r.first_treated_month.strftime("%Y-%m"),
            "share_attended": None
            if pd.isna(r.share_attended)
            else round(float(r.share_attended), 6),
            "log_rr": round(float(r.log_rr), 8),
        }
        for r in effects.itertuples()
    ]
    return {
        "generator": "evaluation.data.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "period": {"start": STUDY_START, "end": STUDY_END},
        "notes": (
            "Effects are steps on the log prescription rate from the month after a cluster's first "
            "meeting on the indicator's topic: log_rr = base * cluster multiplier * "
            f"({_DATA_TROUBLE_EFFECT} if the cluster has data-access trouble else 1) * "
            f"({_DOSE_FLOOR} + {1 - _DOSE_FLOOR} * share of the clinic's GPs attending). "
            "ATTs are expected (noise-free) differences in DDD per 1,000 patients per day, "
            "averaged over treated clinic-months, as in Callaway & Sant'Anna's simple aggregation. "
            "funding_concerns is deliberately unrelated to any effect."
        ),
        "indicators": indicators,
        "clusters": [
            {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
            for row in traits.drop(columns=["cluster_log_rate"]).to_dict("records")
        ],
        "persistent_absentees": absentees,
        "clinic_effects": clinic_effects,
        "register_rows": register_rows,
    }


TABLES = ("clusters", "clinics", "gps", "meetings", "attendance", "prescribing")


def generate_tables(
    seed: int, scale: str = "national"
) -> tuple[dict[str, pd.DataFrame], dict, pd.DataFrame]:
    """All canonical tables as DataFrames, the truth (without register figures) and the clinic
    frame needed to explode register records. Pure: nothing is written."""
    if scale not in SCALES:
        raise InputError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    clusters, clinics, gps, traits = _structure(seed, scale)
    meetings = _meetings(seed, clusters)
    attendance, absentees = _attendance(seed, meetings, gps, traits)
    exposure = _topic_exposure(meetings, attendance, gps, clinics)
    prescribing, expected, effects = _prescribing(seed, clinics, traits, exposure)
    tables = dict(
        clusters=clusters,
        clinics=clinics,
        gps=gps,
        meetings=meetings,
        attendance=attendance,
        prescribing=prescribing,
    )
    truth = _truth(seed, scale, traits, effects, expected, absentees, None)
    return tables, truth, clinics


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


#: the file that marks a folder as written by :func:`write_synthetic`, listing what it wrote
SYNTHETIC_MARKER = ".workbench-synthetic.json"
# What a folder written before the marker existed holds; with truth.json it counts as ours.
_LEGACY_ENTRIES = frozenset({f"{name}.parquet" for name in TABLES} | {"truth.json", "register"})


def synthetic_entries(folder: Path) -> set[str] | None:
    """The names (top-level files and folders) :func:`write_synthetic` wrote in ``folder``, or
    None if it did not write the folder.

    >>> import tempfile
    >>> folder = write_synthetic(tempfile.mkdtemp() + "/small", scale="small", progress=False)
    >>> sorted(synthetic_entries(folder))[:3]
    ['.workbench-synthetic.json', 'attendance.parquet', 'clinics.parquet']
    """
    marker = folder / SYNTHETIC_MARKER
    if marker.is_file():
        try:
            entries = json.loads(marker.read_text(encoding="utf-8"))["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return {str(name) for name in entries} | {SYNTHETIC_MARKER}
    present = {entry.name for entry in folder.iterdir()}
    if "truth.json" in present and present <= _LEGACY_ENTRIES:
        return present
    return None


def _foreign_entries(folder: Path) -> list[str]:
    """The entries of an existing ``folder`` that :func:`write_synthetic` did not write
    (temporaries of an interrupted write are not counted)."""
    present = {e.name for e in folder.iterdir() if TMP_MARK not in e.name}
    ours = synthetic_entries(folder) if present else set()
    return sorted(present - (ours or set()))


def _check_synthetic_target(out: Path, force: bool) -> list[str]:
    """Refuse, before anything is generated, to write where the user's own files would be lost;
    return the user's entries that an allowed ``force`` write leaves in place."""
    check_output_folder(out)
    if not out.exists():
        return []
    foreign = _foreign_entries(out)
    if not foreign:
        return []
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    if not force:
        raise OutputTargetError(
            f"--out {out} holds files that `workbench data synth` did not write ({shown}); "
            "nothing was changed. Choose an empty or new folder, or add --force to write the "
            "synthetic tables beside them (your files are kept)."
        )
    clashes = sorted(set(foreign) & (_LEGACY_ENTRIES | {SYNTHETIC_MARKER}))
    if clashes:
        raise OutputTargetError(
            f"--out {out} holds {', '.join(clashes)}, which `workbench data synth` would "
            "write but did not write there; nothing was changed, even with --force. Move those "
            "files away or choose another folder."
        )
    return foreign


def _write_into(out: Path, tmp: Path) -> None:
    """Move the freshly written entries of ``tmp`` into the existing ``out`` beside the user's
    files: the old marker goes first (so an interrupted move reads as not ours), then the
    entries we wrote before, then each new entry by rename, and the new marker last."""
    old_entries = synthetic_entries(out) or set()
    (out / SYNTHETIC_MARKER).unlink(missing_ok=True)
    move_entries_into(tmp, out, replacing=old_entries - {SYNTHETIC_MARKER}, last=SYNTHETIC_MARKER)


def write_synthetic(
    out: str | os.PathLike,
    seed: int = 2026,
    scale: str = "national",
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Generate the synthetic dataset into ``out`` atomically, never losing the user's files.

    Everything is written into a temporary sibling folder first and moved into place at the end,
    so an interrupted run never leaves a half-written data folder that looks complete. The
    folder is marked (:data:`SYNTHETIC_MARKER`, listing what was written beside truth.json).
    ``out`` may be new, empty, or a folder this function wrote before (then it is replaced as a
    whole); a folder holding anything else is refused before anything is generated, unless
    ``force``, and even then only the files this function wrote are replaced: the user's own
    files stay where they are.

    Raises :class:`~evaluation.errors.OutputTargetError` for a target that is a file, not
    writable, or holds files it did not write (without ``force``)."""
    out = Path(out)
    kept = _check_synthetic_target(out, force)
    tables, truth, clinics = generate_tables(seed, scale)

    def write(tmp: Path) -> None:
        for name, frame in tables.items():
            _write_parquet(frame, tmp / f"{name}.parquet")
        if scale == "register":
            truth["register_rows"] = write_register(
                seed, tables["prescribing"], clinics, tmp, progress
            )
        (tmp / "truth.json").write_text(
            json.dumps(truth, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        entries = sorted(entry.name for entry in tmp.iterdir())
        marker = {"written_by": "workbench data synth", "seed": seed, "scale": scale}
        (tmp / SYNTHETIC_MARKER).write_text(
            json.dumps({**marker, "entries": entries}, indent=1) + "\n", encoding="utf-8"
        )

    if not kept:
        with atomic_folder(out) as tmp:
            write(tmp)
        return out
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_MARK}", dir=out.parent))
    try:
        write(tmp)
        _write_into(out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
