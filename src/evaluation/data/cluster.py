"""One cluster's data for its feedback report: who is in it, what it met on, its series.

Pure functions of the canonical tables (:func:`evaluation.data.load`), used by notebook 05
(``notebooks/05_cluster_feedback.ipynb``) and testable on their own:

- :func:`cluster_indicators` -- the indicators a cluster's report shows (its topics' plus NSAIDs);
- :func:`topic_meeting` -- the cluster's first meeting on an indicator's topic, if any;
- :func:`cluster_at_a_glance` -- clinics, GPs, listed patients, meetings and topics;
- :func:`clinic_letters` -- A, B, C, ... for the cluster's own clinics (never for the others);
- :func:`monthly_rate` -- DDD per 1,000 listed patients per day for a set of clinics, by month;
- :func:`national_monthly_rate` -- the same for the whole country, read straight from the data
  folder's prescribing file (the notebook loads only its region);
- :func:`cluster_attendance` -- invited and attending GPs per meeting of the cluster;
- :func:`data_quality_notes` -- months missing, clinics that joined or left, list-size jumps.

>>> import pandas as pd
>>> clinics = pd.DataFrame({"clinic_id": ["K0003", "K0001", "K0002"],
...                         "cluster_id": ["C001", "C001", "C002"]})
>>> clinic_letters(clinics, "C001")
{'K0001': 'A', 'K0003': 'B'}
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from evaluation.data.catalogue import INDICATOR_BY_KEY, TOPIC_INDICATOR
from evaluation.errors import InputError, MissingColumnsError

__all__ = [
    "DEFAULT_INDICATORS",
    "LIST_SIZE_JUMP",
    "clinic_letters",
    "cluster_at_a_glance",
    "cluster_attendance",
    "cluster_indicators",
    "data_quality_notes",
    "monthly_rate",
    "national_monthly_rate",
    "topic_meeting",
]

#: every cluster's report shows NSAIDs, whatever it met on (the national package most took up)
DEFAULT_INDICATORS = ("nsaid",)
#: a clinic's list changing by more than this share from one month to the next is worth a note
LIST_SIZE_JUMP = 0.25


def _require(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(missing, where=where, available=list(frame.columns))


def _check_cluster(clusters_or_clinics: pd.DataFrame, cluster_id: str, where: str) -> None:
    if cluster_id not in set(clusters_or_clinics["cluster_id"]):
        known = sorted(set(clusters_or_clinics["cluster_id"]))
        shown = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
        raise InputError(
            f"{where}: cluster {cluster_id!r} is not in the data (its clusters: {shown}); "
            "check cluster_id and region."
        )


def cluster_indicators(
    meetings: pd.DataFrame, cluster_id: str, indicators: Iterable[str] | None = None
) -> list[str]:
    """The indicators a cluster's report shows.

    Parameters
    ----------
    meetings : the ``meetings`` table (``cluster_id``, ``date``, ``topic``).
    cluster_id : the cluster.
    indicators : a list to use as it is (checked against the catalogue); None for the default:
        the indicators of the topics the cluster met on, in the order it took them up, then
        :data:`DEFAULT_INDICATORS`.

    Returns
    -------
    list of indicator keys, no repeats.

    >>> m = pd.DataFrame({"cluster_id": ["C1", "C1", "C1"], "topic": ["copd", "conjunctivitis",
    ...                   "organisation"], "date": pd.to_datetime(["2019-02-01", "2020-03-01",
    ...                   "2019-01-01"])})
    >>> cluster_indicators(m, "C1")
    ['eye_antibiotics', 'nsaid']
    """
    if indicators is not None:
        chosen = list(dict.fromkeys(indicators))
        unknown = [i for i in chosen if i not in INDICATOR_BY_KEY]
        if unknown or not chosen:
            raise InputError(
                f"indicators={list(indicators)!r}: expected one or more of "
                f"{sorted(INDICATOR_BY_KEY)} (or None for the cluster's topics plus NSAIDs)."
            )
        return chosen
    _require(meetings, ["cluster_id", "date", "topic"], "cluster_indicators: meetings")
    own = meetings[meetings["cluster_id"] == cluster_id].sort_values("date", kind="stable")
    topical = [TOPIC_INDICATOR[t] for t in own["topic"] if t in TOPIC_INDICATOR]
    return list(dict.fromkeys([*topical, *DEFAULT_INDICATORS]))


def topic_meeting(meetings: pd.DataFrame, cluster_id: str, indicator: str) -> pd.Timestamp | None:
    """The date of the cluster's first meeting on ``indicator``'s topic, or None if it had none.

    >>> m = pd.DataFrame({"cluster_id": ["C1", "C1"], "topic": ["nsaid", "nsaid"],
    ...                   "date": pd.to_datetime(["2020-05-12", "2019-09-03"])})
    >>> topic_meeting(m, "C1", "nsaid"), topic_meeting(m, "C1", "antibiotics")
    (Timestamp('2019-09-03 00:00:00'), None)
    """
    _require(meetings, ["cluster_id", "date", "topic"], "topic_meeting: meetings")
    topic = INDICATOR_BY_KEY[indicator].topic
    dates = meetings.loc[
        (meetings["cluster_id"] == cluster_id) & (meetings["topic"] == topic), "date"
    ]
    return None if dates.empty else pd.Timestamp(dates.min())


def cluster_at_a_glance(
    clinics: pd.DataFrame, gps: pd.DataFrame, meetings: pd.DataFrame, cluster_id: str
) -> dict:
    """The cluster in numbers: clinics, GPs, listed patients, meetings held and their topics.

    Returns
    -------
    dict with ``n_clinics``, ``n_gps``, ``listed_patients`` (the clinics' latest list sizes
    added up), ``n_meetings``, ``first_meeting``, ``last_meeting`` (Timestamps or None) and
    ``topics`` (topic keys, in the order first met on, without repeats).
    """
    _require(clinics, ["clinic_id", "cluster_id", "listed_patients"], "cluster_at_a_glance")
    _check_cluster(clinics, cluster_id, "cluster_at_a_glance")
    own = clinics[clinics["cluster_id"] == cluster_id]
    held = meetings[meetings["cluster_id"] == cluster_id].sort_values("date", kind="stable")
    return {
        "n_clinics": int(len(own)),
        "n_gps": int((gps["cluster_id"] == cluster_id).sum()),
        "listed_patients": int(own["listed_patients"].sum()),
        "n_meetings": int(len(held)),
        "first_meeting": pd.Timestamp(held["date"].min()) if len(held) else None,
        "last_meeting": pd.Timestamp(held["date"].max()) if len(held) else None,
        "topics": list(dict.fromkeys(held["topic"])),
    }


def _letters(n: int) -> list[str]:
    """A ... Z, then AA, AB, ... (spreadsheet columns): enough for the largest cluster."""
    out = []
    for i in range(n):
        name, k = "", i
        while True:
            name = string.ascii_uppercase[k % 26] + name
            k = k // 26 - 1
            if k < 0:
                break
        out.append(name)
    return out


def clinic_letters(clinics: pd.DataFrame, cluster_id: str) -> dict[str, str]:
    """A letter for each of the cluster's own clinics, in clinic-id order: ``{clinic_id: "A"}``.

    The letters are what the report shows; the key (letter to clinic) stays with the
    coordinator. Clinics of other clusters get no letter: they are anonymous points.
    """
    _require(clinics, ["clinic_id", "cluster_id"], "clinic_letters: clinics")
    _check_cluster(clinics, cluster_id, "clinic_letters")
    own = sorted(clinics.loc[clinics["cluster_id"] == cluster_id, "clinic_id"])
    return dict(zip(own, _letters(len(own)), strict=True))


def monthly_rate(
    prescribing: pd.DataFrame, indicator: str, clinic_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """DDD per 1,000 listed patients per day, by month, for a set of clinics taken together.

    .. math:: r_t = 1000 \\cdot \\sum_c \\text{DDD}_{ct} / \\sum_c (\\text{listed}_{ct} \\cdot d_t)

    with :math:`d_t` the days of month :math:`t` (WHO's DDD per 1,000 inhabitants per day).

    Parameters
    ----------
    prescribing : the ``prescribing`` table (clinic, month, indicator rows).
    indicator : an indicator key ("nsaid").
    clinic_ids : the clinics to add up (default: all in ``prescribing``).

    Returns
    -------
    DataFrame with ``month``, ``ddd``, ``prescriptions``, ``listed_patients``,
    ``patient_days_thousands``, ``n_clinics`` and ``ddd_per_1000_per_day``, one row per month
    with data.

    >>> p = pd.DataFrame({"clinic_id": ["K1", "K2"], "indicator": ["nsaid"] * 2,
    ...                   "month": pd.to_datetime(["2020-04-01"] * 2), "ddd": [300.0, 600.0],
    ...                   "prescriptions": [10, 20], "listed_patients": [1000, 2000]})
    >>> monthly_rate(p, "nsaid")["ddd_per_1000_per_day"].tolist()
    [10.0]
    """
    columns = ["clinic_id", "month", "indicator", "ddd", "prescriptions", "listed_patients"]
    _require(prescribing, columns, "monthly_rate: prescribing")
    rows = prescribing[prescribing["indicator"] == indicator]
    if clinic_ids is not None:
        rows = rows[rows["clinic_id"].isin(set(clinic_ids))]
    return _rate_by_month(rows)


def _rate_by_month(rows: pd.DataFrame) -> pd.DataFrame:
    grouped = rows.groupby("month", sort=True)
    out = grouped[["ddd", "prescriptions", "listed_patients"]].sum()
    out["n_clinics"] = (
        grouped["clinic_id"].nunique() if "clinic_id" in rows else grouped.size()
    ).astype("int64")
    out = out.reset_index()
    days = out["month"].dt.days_in_month
    out["patient_days_thousands"] = out["listed_patients"] * days / 1000
    out["ddd_per_1000_per_day"] = out["ddd"] / out["patient_days_thousands"]
    return out


def national_monthly_rate(
    data_dir: str | os.PathLike, indicators: Iterable[str], window: tuple[str, str]
) -> pd.DataFrame:
    """The whole country's monthly rate per indicator, read from the data folder.

    A cluster report loads one region's tables (validated); the national line needs only
    four columns of every region's prescribing, so they are read directly, Parquet with
    the indicator filter pushed down (other formats through :func:`evaluation.data.load`).

    Returns
    -------
    DataFrame as :func:`monthly_rate` plus ``indicator``, for the months in ``window``.
    """
    from evaluation.data.io import find_table_file, load

    wanted = list(dict.fromkeys(indicators))
    path = find_table_file(data_dir, "prescribing")
    columns = ["month", "indicator", "ddd", "prescriptions", "listed_patients"]
    if path is not None and path.suffix == ".parquet":
        rows = pd.read_parquet(path, columns=columns, filters=[("indicator", "in", wanted)])
        rows["month"] = pd.to_datetime(rows["month"])
    else:
        rows = load(data_dir, tables="prescribing", window=window)["prescribing"]
        rows = rows.loc[rows["indicator"].isin(wanted), columns]
    start, end = (pd.Timestamp(w) for w in window)
    rows = rows[(rows["month"] >= start) & (rows["month"] <= end)]
    frames = [
        _rate_by_month(part).assign(indicator=key)
        for key, part in rows.groupby("indicator", sort=False)
    ]
    if not frames:
        return pd.DataFrame(columns=["indicator", *columns, "ddd_per_1000_per_day"])
    return pd.concat(frames, ignore_index=True)


def cluster_attendance(
    meetings: pd.DataFrame, attendance: pd.DataFrame, cluster_id: str
) -> pd.DataFrame:
    """Invited and attending GPs at each of the cluster's meetings, in date order.

    Returns
    -------
    DataFrame with ``meeting_id``, ``date``, ``topic``, ``n_invited``, ``n_attended`` and
    ``share_attended`` (None where nobody was recorded as invited).
    """
    _require(meetings, ["meeting_id", "cluster_id", "date", "topic"], "cluster_attendance")
    _require(attendance, ["meeting_id", "gp_id", "attended"], "cluster_attendance: attendance")
    own = meetings[meetings["cluster_id"] == cluster_id].sort_values("date", kind="stable")
    present = attendance[attendance["meeting_id"].isin(set(own["meeting_id"]))]
    counts = present.groupby("meeting_id")["attended"].agg(n_invited="size", n_attended="sum")
    out = own[["meeting_id", "date", "topic"]].merge(
        counts, left_on="meeting_id", right_index=True, how="left"
    )
    out[["n_invited", "n_attended"]] = out[["n_invited", "n_attended"]].fillna(0).astype("int64")
    share = out["n_attended"] / out["n_invited"].where(out["n_invited"] > 0)
    out["share_attended"] = share.astype("float64")
    return out.reset_index(drop=True)


def data_quality_notes(
    prescribing: pd.DataFrame,
    clinic_ids: Iterable[str],
    indicator: str,
    window: tuple[str, str],
    jump: float = LIST_SIZE_JUMP,
) -> pd.DataFrame:
    """What a reader should know about the data behind a cluster's series, clinic by clinic.

    Three kinds of note, one row each:

    - ``joined`` / ``left``: the clinic's first (last) month with data is after the start
      (before the end) of the study window;
    - ``missing``: months inside the clinic's own span with no data;
    - ``list_jump``: a month whose list size differs from the month before by more than
      ``jump`` (25 %): a merger, a split or a registration error moves the rate with it.

    Returns
    -------
    DataFrame with ``clinic_id``, ``note`` (the kind above), ``month`` (the month it concerns:
    the first month for ``joined``, the last for ``left``, the first missing month, the month
    of the jump), ``n_months`` (months missing; 1 otherwise) and ``change`` (the list-size
    change as a share, for jumps). Empty when there is nothing to note.
    """
    _require(prescribing, ["clinic_id", "month", "indicator", "listed_patients"], "data_quality")
    start, end = (pd.Timestamp(w) for w in window)
    all_months = pd.date_range(start, end, freq="MS")
    rows = prescribing[
        (prescribing["indicator"] == indicator) & prescribing["clinic_id"].isin(set(clinic_ids))
    ]
    notes = []
    for clinic_id in sorted(set(clinic_ids)):
        own = rows[rows["clinic_id"] == clinic_id].sort_values("month")
        if own.empty:
            notes.append((clinic_id, "missing", start, len(all_months), np.nan))
            continue
        first, last = own["month"].min(), own["month"].max()
        if first > start:
            notes.append((clinic_id, "joined", first, 1, np.nan))
        if last < end:
            notes.append((clinic_id, "left", last, 1, np.nan))
        span = all_months[(all_months >= first) & (all_months <= last)]
        gaps = span.difference(pd.DatetimeIndex(own["month"]))
        if len(gaps):
            notes.append((clinic_id, "missing", gaps.min(), len(gaps), np.nan))
        sizes = own.set_index("month")["listed_patients"].astype(float)
        change = sizes.pct_change()
        for month, value in change[change.abs() > jump].items():
            notes.append((clinic_id, "list_jump", month, 1, float(value)))
    return pd.DataFrame(notes, columns=["clinic_id", "note", "month", "n_months", "change"])
