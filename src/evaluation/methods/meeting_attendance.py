"""Meeting attendance: who comes, is it holding up, and does coming change prescribing?

Four questions, four functions, one overview:

- :func:`attendance_rates`: the share of invited GPs present, per meeting, GP, clinic, cluster or
  region, overall or per year, with Wilson confidence intervals;
- :func:`attendance_trend`: is engagement sustained or fading? A binomial GLM of attendance on
  time (years) per cluster (or over all), with standard errors clustered on the repeated unit;
- :func:`persistent_absence`: GPs who miss meetings in a row (default: two consecutive);
- :func:`dose_response`: does the share of a clinic's GPs at the cluster's topic meeting modify
  the change in the clinic's prescribing? (clinic before/after change in log rate, net of the
  secular change among comparison clinics, regressed on the share, cluster-robust CI);
- :func:`attendance`: all of it for a data folder's tables, with ``.to_frame()``, ``.summary()``
  and ``.plot()``.

Inputs are the canonical tables (see ``evaluation.data``): ``attendance`` (meeting_id, gp_id,
attended), ``meetings`` (meeting_id, cluster_id, date, topic), ``gps`` (gp_id, clinic_id,
cluster_id), optionally ``clusters`` (cluster_id, region) and ``prescribing`` (clinic_id, month,
indicator, prescriptions, ddd, listed_patients).
"""

from __future__ import annotations

__all__ = [
    "attendance",
    "attendance_records",
    "attendance_rates",
    "attendance_trend",
    "persistent_absence",
    "absence_by_cluster",
    "topic_meeting_share",
    "dose_response",
    "AttendanceResult",
    "DoseResponseResult",
]

import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import InputError, MissingColumnsError
from evaluation.methods.checks import require_columns, require_positive, require_unique
from evaluation.palette import OKABE_ITO

LEVELS = ("meeting", "gp", "clinic", "cluster", "region")


# ---------------------------------------------------------------------------------------------
# validation and joining
# ---------------------------------------------------------------------------------------------


def attendance_records(
    attendance: pd.DataFrame,
    meetings: pd.DataFrame,
    gps: pd.DataFrame,
    clusters: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per GP invited to a meeting, with the meeting's cluster, date, topic and year and
    the GP's clinic (and the cluster's region when ``clusters`` is given); validated.

    Raises MissingColumnsError for a missing column, and an InputError (a ValueError) naming the
    first offending row when ``attended`` is missing or not true/false, a meeting or GP is
    unknown, or a GP is listed twice for one meeting.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods.meeting_attendance import attendance_records
    >>> meetings = pd.DataFrame({"meeting_id": ["M1"], "cluster_id": ["C1"],
    ...                          "date": ["2021-03-01"]})
    >>> gps = pd.DataFrame({"gp_id": ["G1", "G2"], "clinic_id": ["K1", "K2"]})
    >>> present = pd.DataFrame({"meeting_id": ["M1", "M1"], "gp_id": ["G1", "G2"],
    ...                         "attended": [True, False]})
    >>> attendance_records(present, meetings, gps)[["gp_id", "clinic_id", "attended", "year"]]
      gp_id clinic_id  attended  year
    0    G1        K1      True  2021
    1    G2        K2     False  2021
    """
    require_columns(attendance, ["meeting_id", "gp_id", "attended"], "the attendance table")
    require_columns(meetings, ["meeting_id", "cluster_id", "date"], "the meetings table")
    require_columns(gps, ["gp_id", "clinic_id"], "the gps table")
    if attendance.empty:
        raise InputError("the attendance table has no rows")
    attended = attendance["attended"]
    if attended.isna().any():
        row = attended.index[attended.isna()][0]
        raise InputError(
            f"attendance: 'attended' is missing at row {row}; record each invited GP as true or "
            "false"
        )
    if attended.dtype != bool:
        values = set(pd.unique(attended))
        if not values <= {0, 1}:
            raise InputError(
                "attendance: 'attended' must be true/false (or 1/0); found "
                f"{sorted(map(str, values))[:5]}"
            )
    require_unique(
        attendance,
        ["meeting_id", "gp_id"],
        "the attendance table",
        what="one row per GP invited to a meeting",
        hint="a GP is listed twice for one meeting; keep one row",
    )
    unknown = ~attendance["meeting_id"].isin(meetings["meeting_id"])
    if unknown.any():
        raise InputError(
            f"attendance: {int(unknown.sum())} row(s) refer to meetings not in the meetings table, "
            f"e.g. {attendance.loc[unknown, 'meeting_id'].iloc[0]!r}"
        )
    unknown = ~attendance["gp_id"].isin(gps["gp_id"])
    if unknown.any():
        raise InputError(
            f"attendance: {int(unknown.sum())} row(s) refer to GPs not in the gps table, "
            f"e.g. {attendance.loc[unknown, 'gp_id'].iloc[0]!r}"
        )
    meeting_cols = [
        c for c in ("meeting_id", "cluster_id", "date", "topic") if c in meetings.columns
    ]
    records = (
        attendance[["meeting_id", "gp_id", "attended"]]
        .astype({"attended": bool})
        .merge(meetings[meeting_cols], on="meeting_id", how="left")
    )
    records = records.merge(gps[["gp_id", "clinic_id"]], on="gp_id", how="left")
    records["date"] = pd.to_datetime(records["date"])
    if records["date"].isna().any():
        raise InputError("meetings: a meeting used in attendance has no date")
    records["year"] = records["date"].dt.year
    if clusters is not None:
        require_columns(clusters, ["cluster_id", "region"], "the clusters table")
        records = records.merge(clusters[["cluster_id", "region"]], on="cluster_id", how="left")
    return records


def _wilson(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(
        np.asarray(successes), np.asarray(trials), alpha=1 - level, method="wilson"
    )
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


# ---------------------------------------------------------------------------------------------
# rates
# ---------------------------------------------------------------------------------------------


def attendance_rates(
    attendance: pd.DataFrame,
    meetings: pd.DataFrame,
    gps: pd.DataFrame,
    by: str = "meeting",
    per: str | None = None,
    clusters: pd.DataFrame | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Attendance rate (share of invited GPs present) per meeting, GP, clinic, cluster or region.

    :math:`\\text{rate} = \\frac{\\text{attended}}{\\text{invited}}`, with the Wilson score
    interval (Wilson 1927) at ``level``.

    Parameters
    ----------
    by : {"meeting", "gp", "clinic", "cluster", "region"}
        The level; "region" needs ``clusters``.
    per : {None, "year", "quarter"}
        Also split by calendar year or quarter (attendance over time; the ``quarter`` column is
        the quarter's first day). Meetings carry their date already.

    Returns
    -------
    DataFrame with the level's keys (and ``year``), ``invited``, ``attended``, ``rate``,
    ``ci_low``, ``ci_high``; per meeting also cluster_id, date and topic.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods.meeting_attendance import attendance_rates
    >>> meetings = pd.DataFrame({"meeting_id": ["M1", "M2"], "cluster_id": ["C1", "C1"],
    ...                          "date": ["2021-03-01", "2021-09-01"], "topic": ["nsaid", "copd"]})
    >>> gps = pd.DataFrame({"gp_id": ["G1", "G2"], "clinic_id": ["K1", "K1"]})
    >>> present = pd.DataFrame({"meeting_id": ["M1", "M1", "M2", "M2"],
    ...                         "gp_id": ["G1", "G2", "G1", "G2"],
    ...                         "attended": [True, True, True, False]})
    >>> rates = attendance_rates(present, meetings, gps, by="meeting")
    >>> rates[["meeting_id", "invited", "attended", "rate"]]
      meeting_id  invited  attended  rate
    0         M1        2         2   1.0
    1         M2        2         1   0.5
    """
    if by not in LEVELS:
        raise InputError(f"by must be one of {LEVELS}; got {by!r}")
    if per not in (None, "year", "quarter"):
        raise InputError(f"per must be None, 'year' or 'quarter'; got {per!r}")
    if by == "region" and clusters is None:
        raise InputError(
            "attendance by region needs the clusters table (cluster_id, region): pass clusters="
        )
    records = attendance_records(attendance, meetings, gps, clusters)
    keys = {
        "meeting": ["meeting_id", "cluster_id", "date"] + (["topic"] if "topic" in records else []),
        "gp": ["gp_id", "clinic_id", "cluster_id"],
        "clinic": ["clinic_id", "cluster_id"],
        "cluster": ["cluster_id"],
        "region": ["region"],
    }[by]
    if per == "quarter":
        records["quarter"] = records["date"].dt.to_period("Q").dt.start_time
    if per is not None and by != "meeting":
        keys = keys + [per]
    out = (
        records.groupby(keys, sort=True, dropna=False)
        .agg(invited=("attended", "size"), attended=("attended", "sum"))
        .reset_index()
    )
    out["attended"] = out["attended"].astype(int)
    out["rate"] = out["attended"] / out["invited"]
    out["ci_low"], out["ci_high"] = _wilson(out["attended"], out["invited"], level)
    return out


# ---------------------------------------------------------------------------------------------
# trend
# ---------------------------------------------------------------------------------------------


def _logit_trend(frame: pd.DataFrame, groups: np.ndarray) -> dict:
    import statsmodels.api as sm

    y = frame["attended"].to_numpy(dtype=float)
    years = frame["years"].to_numpy(dtype=float)
    if np.ptp(years) == 0:
        return {
            "slope": np.nan,
            "se": np.nan,
            "note": "meetings in one year only: no trend estimable",
        }
    if y.min() == y.max():
        word = "every" if y.max() == 1 else "no"
        return {
            "slope": np.nan,
            "se": np.nan,
            "note": f"{word} invited GP attended every meeting: no trend estimable",
        }
    design = sm.add_constant(years)
    model = sm.GLM(y, design, family=sm.families.Binomial())
    n_groups = len(np.unique(groups))
    if n_groups >= 2:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]})
    else:
        fit = model.fit()
    return {
        "slope": float(fit.params[1]),
        "se": float(fit.bse[1]),
        "intercept": float(fit.params[0]),
        "note": "",
    }


def attendance_trend(
    attendance: pd.DataFrame,
    meetings: pd.DataFrame,
    gps: pd.DataFrame,
    by: str | None = "cluster",
    cluster: str | None = None,
    level: float = 0.95,
    clusters: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Is attendance sustained or fading? A logistic trend on time, with a robust CI.

    Model (per ``by`` group):
    :math:`\\mathrm{logit}\\,P(\\text{attended}_{gm}) = \\alpha + \\beta t_m`
    with :math:`t_m` the meeting's time in years since the group's first meeting, fitted as a
    binomial GLM; standard errors are cluster-robust (sandwich) on ``cluster``: the GP when
    trends are per cluster (a GP's attendances are correlated), the cluster when one trend is
    fitted over all clusters. :math:`e^{\\beta}` is the odds ratio of attending per year.

    Engagement is called "fading" when the CI of :math:`\\beta` lies below 0, "rising" when above,
    and "sustained" otherwise.

    Parameters
    ----------
    by : {"cluster", "region", None}
        One trend per cluster, per region (needs ``clusters``) or one over everything.
    cluster : str, optional
        Column to cluster standard errors on (default: "gp_id" per cluster, "cluster_id" otherwise).

    Returns
    -------
    DataFrame with the group key, ``meetings``, ``invited``, ``rate``, ``first_year_rate``,
    ``last_year_rate``, ``slope_logit_per_year``, ``se``, ``ci_low``, ``ci_high``, ``p_value``
    (the slope on the log-odds scale), ``odds_ratio_per_year`` with its interval on the odds-ratio
    scale, ``odds_ratio_per_year_ci_low`` and ``odds_ratio_per_year_ci_high`` (the exponentiated
    limits: a reader of the odds ratio must never meet log-scale limits beside it),
    ``engagement`` (words), ``note``.

    References
    ----------
    Liang KY, Zeger SL. Longitudinal data analysis using generalized linear models.
    Biometrika 1986;73:13-22.

    Examples
    --------
    >>> from evaluation.data.synth import generate_tables
    >>> from evaluation.methods.meeting_attendance import attendance_trend
    >>> tables, truth, _ = generate_tables(seed=7, scale="small")
    >>> trend = attendance_trend(tables["attendance"], tables["meetings"], tables["gps"])
    >>> trend[["cluster_id", "rate", "odds_ratio_per_year", "engagement"]].head(3).round(2)
      cluster_id  rate  odds_ratio_per_year engagement
    0       C001  0.76                 0.96  sustained
    1       C002  0.63                 0.91  sustained
    2       C003  0.88                 0.96  sustained
    """
    if by not in ("cluster", "region", None):
        raise InputError(f"by must be 'cluster', 'region' or None; got {by!r}")
    if by == "region" and clusters is None:
        raise InputError("a trend per region needs the clusters table: pass clusters=")
    records = attendance_records(attendance, meetings, gps, clusters)
    cluster = cluster or ("gp_id" if by == "cluster" else "cluster_id")
    if cluster not in records.columns:
        raise MissingColumnsError(
            [cluster],
            where="attendance_trend: the attendance records (cluster=)",
            available=list(records.columns),
        )
    groups = (
        [("all clusters", records)]
        if by is None
        else list(records.groupby("cluster_id" if by == "cluster" else "region", sort=True))
    )
    z = stats.norm.ppf(1 - (1 - level) / 2)
    rows = []
    for key, frame in groups:
        start = frame["date"].min()
        frame = frame.assign(years=(frame["date"] - start).dt.days / 365.25)
        fit = _logit_trend(frame, frame[cluster].to_numpy())
        by_year = frame.groupby("year")["attended"].mean()
        slope, se = fit["slope"], fit["se"]
        if np.isnan(slope):
            engagement = "not estimable"
        elif slope - z * se > 0:
            engagement = "rising"
        elif slope + z * se < 0:
            engagement = "fading"
        else:
            engagement = "sustained"
        rows.append(
            {
                ("cluster_id" if by == "cluster" else "region" if by == "region" else "group"): key,
                "meetings": frame["meeting_id"].nunique(),
                "invited": len(frame),
                "rate": frame["attended"].mean(),
                "first_year_rate": by_year.iloc[0],
                "last_year_rate": by_year.iloc[-1],
                "slope_logit_per_year": slope,
                "se": se,
                "ci_low": slope - z * se,
                "ci_high": slope + z * se,
                "p_value": 2 * stats.norm.sf(abs(slope / se)) if se and np.isfinite(se) else np.nan,
                "odds_ratio_per_year": np.exp(slope),
                "odds_ratio_per_year_ci_low": np.exp(slope - z * se),
                "odds_ratio_per_year_ci_high": np.exp(slope + z * se),
                "engagement": engagement,
                "note": fit["note"],
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# persistent absence
# ---------------------------------------------------------------------------------------------


def persistent_absence(
    attendance: pd.DataFrame,
    meetings: pd.DataFrame,
    gps: pd.DataFrame,
    consecutive: int = 2,
    window: int | None = None,
    still_absent: bool = False,
) -> pd.DataFrame:
    """Flag GPs who miss meetings in a row.

    Rule: a GP is flagged when the longest run of consecutive missed meetings (in date order,
    among the meetings of the GP's cluster to which they were invited) is at least
    ``consecutive`` (default 2). Narrow it with ``window`` (only the last ``window`` meetings
    count: "lately") and ``still_absent`` (the run must reach the latest meeting: "currently").

    Returns
    -------
    DataFrame, one row per GP: gp_id, clinic_id, cluster_id, invited, attended, rate,
    longest_absence (meetings in a row), current_absence (missed in a row up to the latest),
    last_attended (date or NaT), flagged; flagged GPs first.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods.meeting_attendance import persistent_absence
    >>> meetings = pd.DataFrame({"meeting_id": ["M1", "M2", "M3"], "cluster_id": "C1",
    ...                          "date": ["2021-03-01", "2021-06-01", "2021-09-01"]})
    >>> gps = pd.DataFrame({"gp_id": ["G1", "G2"], "clinic_id": ["K1", "K2"]})
    >>> present = pd.DataFrame({"meeting_id": ["M1", "M2", "M3"] * 2,
    ...                         "gp_id": ["G1"] * 3 + ["G2"] * 3,
    ...                         "attended": [True, False, False, False, True, False]})
    >>> persistent_absence(present, meetings, gps)[["gp_id", "longest_absence", "flagged"]]
      gp_id  longest_absence  flagged
    0    G1                2     True
    1    G2                1    False
    """
    if int(consecutive) != consecutive or consecutive < 1:
        raise InputError(
            f"consecutive must be a whole number of meetings >= 1; got {consecutive!r}"
        )
    if window is not None and (int(window) != window or window < consecutive):
        raise InputError(
            f"window must be a whole number of meetings >= consecutive ({consecutive}); "
            f"got {window!r}"
        )
    records = attendance_records(attendance, meetings, gps).sort_values(
        ["gp_id", "date", "meeting_id"], kind="stable"
    )
    if window is not None:
        records = records.groupby("gp_id", sort=False).tail(int(window))
    records = records.reset_index(drop=True)
    missed = ~records["attended"]
    # A streak restarts at every attended meeting and at every new GP: number the streaks, then
    # a cumulative count of misses within each gives the running streak length.
    new_gp = records["gp_id"].ne(records["gp_id"].shift())
    streak_id = (records["attended"] | new_gp).cumsum()
    records["_streak"] = missed.astype(int).groupby(streak_id).cumsum()
    records["_attended_date"] = records["date"].where(records["attended"])
    out = (
        records.groupby("gp_id", sort=True)
        .agg(
            clinic_id=("clinic_id", "first"),
            cluster_id=("cluster_id", "first"),
            invited=("attended", "size"),
            attended=("attended", "sum"),
            longest_absence=("_streak", "max"),
            current_absence=("_streak", "last"),
            last_attended=("_attended_date", "max"),
        )
        .reset_index()
    )
    out["attended"] = out["attended"].astype(int)
    out["rate"] = out["attended"] / out["invited"]
    out = out[
        [
            "gp_id",
            "clinic_id",
            "cluster_id",
            "invited",
            "attended",
            "rate",
            "longest_absence",
            "current_absence",
            "last_attended",
        ]
    ]
    run = out["current_absence"] if still_absent else out["longest_absence"]
    out["flagged"] = run >= consecutive
    return out.sort_values(
        ["flagged", "longest_absence", "rate", "gp_id"],
        ascending=[False, False, True, True],
        kind="stable",
    ).reset_index(drop=True)


def absence_by_cluster(absentees: pd.DataFrame) -> pd.DataFrame:
    """Persistent absence counted per cluster, so that a shared report names no GP: cluster_id,
    gps, flagged_gps, longest_absence (meetings in a row, the cluster's longest), most flagged
    GPs first.

    ``absentees`` is :func:`persistent_absence`'s table.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods.meeting_attendance import absence_by_cluster
    >>> flags = pd.DataFrame({"gp_id": ["G1", "G2", "G3"], "cluster_id": ["C1", "C1", "C2"],
    ...                       "longest_absence": [3, 0, 1], "flagged": [True, False, False]})
    >>> absence_by_cluster(flags)
      cluster_id  gps  flagged_gps  longest_absence
    0         C1    2            1                3
    1         C2    1            0                1
    """
    require_columns(
        absentees, ["gp_id", "cluster_id", "longest_absence", "flagged"], "absence_by_cluster"
    )
    return (
        absentees.groupby("cluster_id")
        .agg(
            gps=("gp_id", "size"),
            flagged_gps=("flagged", "sum"),
            longest_absence=("longest_absence", "max"),
        )
        .sort_values("flagged_gps", ascending=False)
        .reset_index()
    )


# ---------------------------------------------------------------------------------------------
# dose-response
# ---------------------------------------------------------------------------------------------


def topic_meeting_share(
    attendance: pd.DataFrame,
    meetings: pd.DataFrame,
    gps: pd.DataFrame,
    topic: str,
) -> pd.DataFrame:
    """For every clinic in a cluster that took ``topic`` up: the cluster's first meeting on it,
    the first month it can have changed prescribing (the month after), and the share of the
    clinic's GPs who attended that meeting.

    .. math::
        \\text{share}_c = \\frac{\\#\\{\\text{GPs of clinic } c \\text{ present}\\}}
        {\\#\\{\\text{GPs of clinic } c \\text{ invited}\\}}

    Returns clinic_id, cluster_id, meeting_id, meeting_date, first_treated_month, invited,
    attended, share_attended.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods.meeting_attendance import topic_meeting_share
    >>> meetings = pd.DataFrame({"meeting_id": ["M1", "M2"], "cluster_id": "C1",
    ...                          "date": ["2021-03-09", "2021-09-14"], "topic": ["nsaid", "nsaid"]})
    >>> gps = pd.DataFrame({"gp_id": ["G1", "G2", "G3"], "clinic_id": ["K1", "K1", "K2"]})
    >>> present = pd.DataFrame({"meeting_id": ["M1"] * 3 + ["M2"] * 3,
    ...                         "gp_id": ["G1", "G2", "G3"] * 2,
    ...                         "attended": [True, False, True, True, True, False]})
    >>> shares = topic_meeting_share(present, meetings, gps, "nsaid")
    >>> shares[["clinic_id", "meeting_id", "first_treated_month", "share_attended"]]
      clinic_id meeting_id first_treated_month  share_attended
    0        K1         M1          2021-04-01             0.5
    1        K2         M1          2021-04-01             1.0
    """
    from evaluation.data.catalogue import TOPICS

    if topic not in TOPICS:
        raise InputError(f"unknown topic {topic!r}; expected one of {', '.join(TOPICS)}")
    require_columns(meetings, ["meeting_id", "cluster_id", "date", "topic"], "the meetings table")
    on_topic = meetings[meetings["topic"] == topic]
    if on_topic.empty:
        raise InputError(
            f"no cluster held a meeting on {topic!r}: there is no dose to relate to prescribing"
        )
    first = on_topic.assign(date=pd.to_datetime(on_topic["date"])).sort_values(
        ["cluster_id", "date"], kind="stable"
    )
    first = first.drop_duplicates("cluster_id")
    records = attendance_records(
        attendance[attendance["meeting_id"].isin(first["meeting_id"])], meetings, gps
    )
    share = (
        records.groupby(["meeting_id", "clinic_id"], sort=True)
        .agg(invited=("attended", "size"), attended=("attended", "sum"))
        .reset_index()
    )
    share["attended"] = share["attended"].astype(int)
    share["share_attended"] = share["attended"] / share["invited"]
    out = (
        first[["cluster_id", "meeting_id", "date"]]
        .rename(columns={"date": "meeting_date"})
        .merge(share, on="meeting_id", how="inner")
    )
    out["first_treated_month"] = (out["meeting_date"].dt.to_period("M") + 1).dt.to_timestamp()
    return (
        out[
            [
                "clinic_id",
                "cluster_id",
                "meeting_id",
                "meeting_date",
                "first_treated_month",
                "invited",
                "attended",
                "share_attended",
            ]
        ]
        .sort_values("clinic_id")
        .reset_index(drop=True)
    )


@dataclass
class DoseResponseResult:
    """Clinic changes in prescribing against the share of their GPs at the topic meeting."""

    clinics: pd.DataFrame
    slope: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    intercept: float
    intercept_ci: tuple[float, float]
    n_clinics: int
    n_clusters: int
    n_skipped: int
    window: int
    level: float
    adjusted: bool
    comparison: str | None = "never"
    labels: dict = field(default_factory=dict)
    _fit: object = None

    def to_frame(self) -> pd.DataFrame:
        """The two coefficients: ``term`` ("share of GPs attending" = the dose-response slope,
        the change in log rate per unit share; "no GP attending" = the change at share 0),
        estimate, se, ci_low, ci_high, p_value, and what they mean as rate ratios."""
        fit = self._fit
        ci = np.asarray(fit.conf_int(alpha=1 - self.level))
        terms = ["no GP attending (intercept)", "share of GPs attending (slope)"]
        frame = pd.DataFrame(
            {
                "term": terms,
                "estimate": np.asarray(fit.params),
                "se": np.asarray(fit.bse),
                "ci_low": ci[:, 0],
                "ci_high": ci[:, 1],
                "p_value": np.asarray(fit.pvalues),
            }
        )
        frame["rate_ratio"] = np.exp(frame["estimate"])
        frame["n_clinics"] = self.n_clinics
        frame["n_clusters"] = self.n_clusters
        return frame

    def summary(self) -> pd.DataFrame:
        """The dose-response in one row: estimate (the slope, change in log rate per unit share
        attending), se, ci_low, ci_high, p_value, the expected percent change with all and with
        none of a clinic's GPs at the meeting, n_clinics, n_clusters, n_skipped (clinics without
        full windows), window and adjusted (net of comparison clinics)."""
        ends = self.predict([1.0, 0.0])
        return pd.DataFrame(
            [
                {
                    "term": "share of GPs attending (slope)",
                    "estimate": self.slope,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "p_value": self.p_value,
                    "percent_change_all_attending": float(ends["percent_change"].iloc[0]),
                    "percent_change_none_attending": float(ends["percent_change"].iloc[1]),
                    "n_clinics": self.n_clinics,
                    "n_clusters": self.n_clusters,
                    "n_skipped": self.n_skipped,
                    "window": self.window,
                    "adjusted": self.adjusted,
                }
            ]
        )

    def predict(self, share) -> pd.DataFrame:
        """Expected change (log rate ratio and percent) at given shares, with a CI."""
        share = np.atleast_1d(np.asarray(share, dtype=float))
        prediction = self._fit.get_prediction(np.column_stack([np.ones_like(share), share]))
        ci = np.asarray(prediction.conf_int(alpha=1 - self.level))
        mean = np.asarray(prediction.predicted_mean)
        return pd.DataFrame(
            {
                "share_attended": share,
                "log_rate_ratio": mean,
                "ci_low": ci[:, 0],
                "ci_high": ci[:, 1],
                "percent_change": 100 * (np.exp(mean) - 1),
                "percent_ci_low": 100 * (np.exp(ci[:, 0]) - 1),
                "percent_ci_high": 100 * (np.exp(ci[:, 1]) - 1),
            }
        )

    def plot(self, ax=None, y_label: str | None = None, title: str | None = None):
        """Each clinic's percent change against the share of its GPs at the meeting, with the
        fitted line and its confidence band."""
        import matplotlib.pyplot as plt

        from evaluation.methods._plotting import new_axes

        ax = new_axes(ax, figsize=(7, 4.5))
        rng = np.random.default_rng(0)  # jitter only: solo clinics sit at exactly 0 or 1
        share = self.clinics["share_attended"].to_numpy()
        jitter = rng.uniform(-0.012, 0.012, len(share))
        ax.scatter(
            share + jitter,
            100 * (np.exp(self.clinics["change"]) - 1),
            s=10,
            alpha=0.35,
            color="#7f7f7f",
            label="One clinic",
            edgecolor="none",
        )
        line = self.predict(np.linspace(0, 1, 51))
        ax.fill_between(
            line["share_attended"],
            line["percent_ci_low"],
            line["percent_ci_high"],
            color=OKABE_ITO["blue"],
            alpha=0.25,
            label=f"{self.level * 100:g}% confidence band",
        )
        ax.plot(
            line["share_attended"],
            line["percent_change"],
            color=OKABE_ITO["blue"],
            lw=2,
            label="Fitted",
        )
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel("Share of the clinic's GPs at the cluster's topic meeting")
        what = (
            "net of the change in comparison clinics" if self.adjusted else "before against after"
        )
        if y_label is None:
            y_label = (
                f"{self.labels['y']}, {what}"
                if self.labels.get("y")
                else f"Change in prescribing (%), {what}"
            )
        ax.set_ylabel(textwrap.fill(y_label, 46))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ends = self.predict([1.0, 0.0])
        ax.set_title(
            title
            or self.labels.get("title")
            or (
                f"Change after the meeting: {ends['percent_change'].iloc[0]:+.0f}% where all "
                f"of a clinic's GPs came, {ends['percent_change'].iloc[1]:+.0f}% where none did"
            ),
            fontsize=10,
        )
        ax.legend(fontsize=8)
        return ax


def _month_number(periods: pd.Series) -> pd.Series:
    return periods.dt.year * 12 + periods.dt.month


def _window_sums(panel: pd.DataFrame, window: int, count: str, population: str):
    """Sum count and population over the ``window`` months before and from ``start``, per clinic."""
    offset = _month_number(panel["_period"]) - _month_number(panel["_start"])
    before = panel[(offset >= -window) & (offset < 0)]
    after = panel[(offset >= 0) & (offset < window)]
    sums = {}
    for name, part in (("before", before), ("after", after)):
        grouped = part.groupby("clinic_id").agg(
            **{
                f"{name}_count": (count, "sum"),
                f"{name}_population": (population, "sum"),
                f"{name}_months": (count, "size"),
            }
        )
        sums[name] = grouped
    return sums["before"].join(sums["after"], how="outer")


def _change_label(indicator: str | None, count: str) -> str | None:
    from evaluation.data.catalogue import INDICATOR_BY_KEY, outcome_label

    outcome = {
        "prescriptions": "prescriptions_per_1000",
        "ddd": "ddd_per_1000_per_day",
        "users": "users_per_1000",
    }
    if indicator in INDICATOR_BY_KEY and count in outcome:
        return f"Change in {outcome_label(indicator, outcome[count])} (%)"
    return None


def dose_response(
    prescribing: pd.DataFrame,
    shares: pd.DataFrame,
    indicator: str | None = None,
    count: str = "prescriptions",
    population: str = "listed_patients",
    window: int = 12,
    comparison: str | None = "never",
    level: float = 0.95,
    y_label: str | None = None,
) -> DoseResponseResult:
    """Does the share of a clinic's GPs at the topic meeting modify its change in prescribing?

    For each clinic c with a first treated month :math:`F_c` (from :func:`topic_meeting_share`):

    .. math::
        \\Delta_c = \\log\\frac{\\sum_{F_c \\le m < F_c + w} O_{cm} + 0.5}
                              {\\sum_{F_c \\le m < F_c + w} N_{cm}}
                  - \\log\\frac{\\sum_{F_c - w \\le m < F_c} O_{cm} + 0.5}
                              {\\sum_{F_c - w \\le m < F_c} N_{cm}}

    (O = count, N = population in patient-months, w = ``window`` months; full windows required,
    so a whole year on each side also cancels seasonality). With ``comparison`` the same change
    among comparison clinics over the same calendar months (pooled) is subtracted: a
    controlled before-after per cohort. Then, by OLS with cluster-robust standard errors
    (clinics nest in clusters; t on G - 1 df),

    .. math:: \\Delta_c = \\alpha + \\beta\\, \\text{share}_c + \\varepsilon_c

    :math:`\\beta` is the dose-response: the change in log rate ratio from no GP to all GPs
    attending (negative = more attendance, larger reduction); :math:`\\alpha` the change with none.

    Parameters
    ----------
    prescribing : DataFrame
        Clinic-month rows: clinic_id, month, ``count``, ``population`` (and ``indicator``;
        filtered to ``indicator`` when given). Must include the comparison clinics when
        ``comparison`` is not None.
    shares : DataFrame
        From :func:`topic_meeting_share`: clinic_id, cluster_id, first_treated_month,
        share_attended.
    count, population : str
        Outcome count (``"prescriptions"``, ``"ddd"``, ``"users"``) and its denominator per month.
    window : int
        Months on each side (default 12).
    comparison : {"never", "notyet", "auto", None}
        Comparison clinics: those never treated (not in ``shares``), also those treated only
        after the cohort's after-window ("notyet"), "never" if ``prescribing`` has any
        never-treated clinic and else "notyet" ("auto"), or none (raw before/after change).
        The result's ``comparison`` says which was used.

    Returns
    -------
    :class:`DoseResponseResult` with ``.slope`` (and CI), ``.to_frame()``, ``.summary()``,
    ``.predict()``, ``.plot()`` and ``.clinics`` (one row per clinic with its change).

    References
    ----------
    Wagner AK et al. Segmented regression analysis of interrupted time series studies in
    medication use research. J Clin Pharm Ther 2002;27:299-309.
    Cameron AC, Miller DL. A practitioner's guide to cluster-robust inference. J Hum Resour
    2015;50:317-372.

    Examples
    --------
    >>> from evaluation.data.synth import generate_tables
    >>> from evaluation.methods.meeting_attendance import topic_meeting_share, dose_response
    >>> tables, truth, _ = generate_tables(seed=7, scale="small")
    >>> shares = topic_meeting_share(tables["attendance"], tables["meetings"], tables["gps"],
    ...                              "nsaid")
    >>> result = dose_response(tables["prescribing"], shares, indicator="nsaid")
    >>> result.to_frame()[["term", "estimate", "ci_low", "ci_high"]].round(3)
                                 term  estimate  ci_low  ci_high
    0     no GP attending (intercept)    -0.025  -0.054    0.004
    1  share of GPs attending (slope)    -0.109  -0.189   -0.029
    """
    import statsmodels.api as sm

    if comparison not in ("never", "notyet", "auto", None):
        raise InputError(
            f"comparison must be 'never', 'notyet', 'auto' or None; got {comparison!r}"
        )
    if int(window) != window or window < 1:
        raise InputError(f"window must be a whole number of months >= 1; got {window!r}")
    require_columns(prescribing, ["clinic_id", "month", count, population], "prescribing")
    require_columns(
        shares, ["clinic_id", "cluster_id", "first_treated_month", "share_attended"], "shares"
    )
    rows = prescribing
    if "indicator" in rows.columns:
        if indicator is not None:
            rows = rows[rows["indicator"] == indicator]
            if rows.empty:
                raise InputError(f"prescribing has no rows for indicator {indicator!r}")
        elif rows["indicator"].nunique() > 1:
            raise InputError(
                "prescribing holds several indicators "
                f"({', '.join(map(str, rows['indicator'].unique()))}); "
                "pass indicator= to choose one"
            )
    if rows[count].isna().any():
        raise InputError(f"prescribing: {count!r} is missing in some rows")
    require_positive(
        rows, population, "prescribing", hint="fix the list sizes or drop those months"
    )
    if shares["share_attended"].isna().any() or not shares["share_attended"].between(0, 1).all():
        raise InputError(
            "shares: share_attended must be a proportion between 0 and 1 for every clinic"
        )
    require_unique(
        shares,
        ["clinic_id"],
        "shares",
        what="one row per clinic (the cluster's first meeting on the topic)",
        hint="take them from topic_meeting_share",
    )
    if comparison == "auto":
        has_never_treated = (~rows["clinic_id"].isin(set(shares["clinic_id"]))).any()
        comparison = "never" if has_never_treated else "notyet"

    panel = rows[["clinic_id", "month", count, population]].copy()
    panel["_period"] = pd.to_datetime(panel["month"]).dt.to_period("M")
    first_month, last_month = panel["_period"].min(), panel["_period"].max()
    treated = shares[["clinic_id", "cluster_id", "first_treated_month", "share_attended"]].copy()
    treated["_start"] = pd.to_datetime(treated["first_treated_month"]).dt.to_period("M")
    treated = treated[treated["clinic_id"].isin(panel["clinic_id"])]
    if treated.empty:
        raise InputError(
            "none of the clinics in shares has prescribing rows: check the region and indicator"
        )

    merged = panel.merge(treated[["clinic_id", "_start"]], on="clinic_id", how="inner")
    sums = _window_sums(merged, window, count, population)
    clinics = treated.set_index("clinic_id").join(sums, how="left").reset_index()
    complete = (clinics["before_months"] == window) & (clinics["after_months"] == window)
    n_skipped = int((~complete).sum())
    clinics = clinics[complete].copy()
    if clinics.empty:
        raise InputError(
            f"no clinic has {window} months of prescribing on both sides of its first treated "
            f"month (data {first_month} to {last_month}); use a shorter window"
        )
    clinics["change_unadjusted"] = np.log(
        (clinics["after_count"] + 0.5) / clinics["after_population"]
    ) - np.log((clinics["before_count"] + 0.5) / clinics["before_population"])
    clinics["comparison_change"] = 0.0
    if comparison is not None:
        clinic_start = dict(
            zip(
                shares["clinic_id"], pd.to_datetime(shares["first_treated_month"]).dt.to_period("M")
            )
        )
        panel["_first"] = panel["clinic_id"].map(clinic_start)
        changes = {}
        for start in sorted(clinics["_start"].unique()):
            end = start + window - 1
            if comparison == "never":
                controls = panel[panel["_first"].isna()]
            else:
                controls = panel[panel["_first"].isna() | (panel["_first"] > end)]
            if controls.empty:
                raise InputError(
                    f"no comparison clinics ({comparison!r}) for the cohort treated from {start}: "
                    "every clinic's cluster took the topic up. Use comparison='notyet', or "
                    "comparison=None for the raw change."
                )
            by_month = controls.groupby("_period")[[count, population]].sum()
            before = by_month.loc[start - window : start - 1]
            after = by_month.loc[start:end]
            if len(before) < window or len(after) < window:
                raise InputError(
                    f"comparison clinics lack full {window}-month windows around {start}"
                )
            changes[start] = float(
                np.log((after[count].sum() + 0.5) / after[population].sum())
                - np.log((before[count].sum() + 0.5) / before[population].sum())
            )
        clinics["comparison_change"] = clinics["_start"].map(changes).astype(float)
    clinics["change"] = clinics["change_unadjusted"] - clinics["comparison_change"]
    clusters = clinics["cluster_id"].to_numpy()
    n_clusters = len(np.unique(clusters))
    if len(clinics) < 3 or clinics["share_attended"].nunique() < 2:
        raise InputError(
            "dose-response needs at least 3 clinics with different shares attending; got "
            f"{len(clinics)} clinic(s) and {clinics['share_attended'].nunique()} distinct share(s)"
        )
    design = sm.add_constant(clinics["share_attended"].to_numpy(dtype=float))
    model = sm.OLS(clinics["change"].to_numpy(dtype=float), design)
    if n_clusters >= 2:
        fit = model.fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(clusters)[0]}, use_t=True
        )
    else:
        fit = model.fit()
    ci = np.asarray(fit.conf_int(alpha=1 - level))
    clinics["_start"] = clinics["_start"].astype(str)
    clinics = clinics.rename(columns={"_start": "cohort"})
    return DoseResponseResult(
        clinics=clinics.reset_index(drop=True),
        slope=float(fit.params[1]),
        se=float(fit.bse[1]),
        ci_low=float(ci[1, 0]),
        ci_high=float(ci[1, 1]),
        p_value=float(fit.pvalues[1]),
        intercept=float(fit.params[0]),
        intercept_ci=(float(ci[0, 0]), float(ci[0, 1])),
        n_clinics=len(clinics),
        n_clusters=n_clusters,
        n_skipped=n_skipped,
        window=window,
        level=level,
        adjusted=comparison is not None,
        comparison=comparison,
        labels={"y": y_label or _change_label(indicator, count)},
        _fit=fit,
    )


# ---------------------------------------------------------------------------------------------
# the overview
# ---------------------------------------------------------------------------------------------


@dataclass
class AttendanceResult:
    """Attendance in a set of clusters: rates, trends and persistent absentees together.

    Build with :func:`attendance`; ``.to_frame()`` one row per cluster, ``.summary()`` the
    clusters together in one row, ``.rates()`` at any level, ``.plot()`` attendance per year.
    """

    records: pd.DataFrame
    trend: pd.DataFrame
    absentees: pd.DataFrame
    consecutive: int
    level: float
    _tables: dict = field(default_factory=dict, repr=False)

    def rates(self, by: str = "cluster", per: str | None = None) -> pd.DataFrame:
        """:func:`attendance_rates` at another level."""
        return attendance_rates(**self._tables, by=by, per=per, level=self.level)

    def to_frame(self) -> pd.DataFrame:
        """One row per cluster: rate, trend (logit slope per year and CI, 'sustained'/'fading'/
        'rising'), GPs and how many are flagged as persistently absent."""
        flagged = self.absentees.groupby("cluster_id").agg(
            gps=("gp_id", "size"), persistent_absentees=("flagged", "sum")
        )
        out = self.trend.merge(flagged.reset_index(), on="cluster_id", how="left")
        if "region" in self.records.columns:
            regions = self.records.drop_duplicates("cluster_id")[["cluster_id", "region"]]
            out = regions.merge(out, on="cluster_id", how="right")
        return out

    def summary(self) -> pd.DataFrame:
        """All clusters in one row: clusters, meetings, invited, attended, rate with its
        Wilson interval (ci_low, ci_high), how many clusters are fading, sustained, rising or
        not estimable, GPs, and persistent absentees (``consecutive`` meetings in a row)."""
        records = self.records
        attended, invited = int(records["attended"].sum()), len(records)
        low, high = _wilson([attended], [invited], self.level)
        engagement = self.trend["engagement"].value_counts()
        row = {
            "clusters": int(records["cluster_id"].nunique()),
            "meetings": int(records["meeting_id"].nunique()),
            "invited": invited,
            "attended": attended,
            "rate": attended / invited,
            "ci_low": float(low[0]),
            "ci_high": float(high[0]),
        }
        for word in ("fading", "sustained", "rising", "not estimable"):
            row[f"clusters_{word.replace(' ', '_')}"] = int(engagement.get(word, 0))
        row["gps"] = len(self.absentees)
        row["persistent_absentees"] = int(self.absentees["flagged"].sum())
        row["consecutive"] = self.consecutive
        return pd.DataFrame([row])

    def plot(self, ax=None, title: str | None = None):
        """Attendance per cluster and year (thin lines) and over all clusters (thick, with CI)."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        from evaluation.methods._plotting import new_axes

        ax = new_axes(ax, figsize=(8, 4.5))
        per_year = self.rates(by="cluster", per="year")
        trend = self.trend.set_index("cluster_id")["engagement"]
        per_year["engagement"] = per_year["cluster_id"].map(trend)
        palette = {
            "fading": OKABE_ITO["vermillion"],
            "rising": OKABE_ITO["bluish_green"],
            "sustained": "#b0b0b0",
            "not estimable": "#d9d9d9",
        }
        sns.lineplot(
            data=per_year,
            x="year",
            y="rate",
            units="cluster_id",
            estimator=None,
            hue="engagement",
            palette={k: v for k, v in palette.items() if k in set(per_year["engagement"])},
            lw=0.8,
            alpha=0.7,
            ax=ax,
        )
        overall = self.records.groupby("year")["attended"].agg(["sum", "size"]).reset_index()
        overall["rate"] = overall["sum"] / overall["size"]
        low, high = _wilson(overall["sum"], overall["size"], self.level)
        ax.plot(
            overall["year"],
            overall["rate"],
            color="black",
            lw=2.5,
            marker="o",
            label="All clusters",
        )
        ax.fill_between(overall["year"], low, high, color="black", alpha=0.15)
        ax.set_xlabel("Year")
        ax.set_ylabel("Share of invited GPs attending")
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_title(title or "Attendance at cluster meetings per year (one line per cluster)")
        ax.legend(title="Cluster's attendance", fontsize=8)
        return ax


def attendance(
    attendance: pd.DataFrame,
    meetings: pd.DataFrame,
    gps: pd.DataFrame,
    clusters: pd.DataFrame | None = None,
    consecutive: int = 2,
    level: float = 0.95,
) -> AttendanceResult:
    """Attendance overview: per-cluster rates and trends, and persistent absentees.

    Runs :func:`attendance_trend` (per cluster, GP-robust SEs) and :func:`persistent_absence`
    (``consecutive`` meetings missed in a row) and keeps the records for
    :meth:`AttendanceResult.rates`.
    See those functions for the formulas.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods import attendance
    >>> meetings = pd.DataFrame({"meeting_id": ["M1", "M2", "M3", "M4"], "cluster_id": "C1",
    ...                          "date": ["2020-03-01", "2021-03-01", "2022-03-01", "2023-03-01"]})
    >>> gps = pd.DataFrame({"gp_id": ["G1", "G2", "G3"], "clinic_id": ["K1", "K1", "K2"]})
    >>> present = pd.DataFrame({"meeting_id": [m for m in meetings["meeting_id"] for _ in range(3)],
    ...                         "gp_id": ["G1", "G2", "G3"] * 4,
    ...                         "attended": [1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0]})
    >>> overview = attendance(present, meetings, gps)
    >>> overview.to_frame()[["cluster_id", "rate", "engagement", "persistent_absentees"]].round(2)
      cluster_id  rate engagement  persistent_absentees
    0         C1  0.67  sustained                     1
    """
    tables = {"attendance": attendance, "meetings": meetings, "gps": gps}
    if clusters is not None:
        tables["clusters"] = clusters
    records = attendance_records(attendance, meetings, gps, clusters)
    trend = attendance_trend(attendance, meetings, gps, by="cluster", level=level)
    absentees = persistent_absence(attendance, meetings, gps, consecutive=consecutive)
    return AttendanceResult(
        records=records,
        trend=trend,
        absentees=absentees,
        consecutive=consecutive,
        level=level,
        _tables=tables,
    )
