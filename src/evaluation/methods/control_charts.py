"""Statistical process control charts for a clinic's or a cluster's indicator over time.

Is this month's prescribing just the usual up-and-down, or has something changed? An SPC chart
draws the series with a centre line and, for control charts, limits at about three standard
deviations of the common-cause variation, and tests for patterns chance rarely makes.

Charts
------
- ``"run"``: the series against its median; runs analysis only.
- ``"xmr"`` (also ``"i"``): individuals with limits from the average moving range,
  :math:`\\bar{x} \\pm 2.66\\,\\overline{MR}` (:math:`\\overline{MR}/1.128` estimates sigma); the
  moving-range chart (upper limit :math:`3.267\\,\\overline{MR}`) is in the frame as well.
- ``"u"``: rates of counts per unit (prescriptions per 1,000 patients):
  :math:`\\bar{u} = \\sum c / \\sum n`, limits :math:`\\bar{u} \\pm 3\\sqrt{\\bar{u}/n_i}`,
  lower at 0.
- ``"p"``: proportions (share of GPs attending): :math:`\\bar{p} = \\sum x / \\sum n`, limits
  :math:`\\bar{p} \\pm 3\\sqrt{\\bar{p}(1-\\bar{p})/n_i}`, clipped to [0, 1].
- ``"up"`` and ``"pp"``: Laney's u' and p' charts for large denominators (a whole cluster's
  patients), where real month-to-month variation dwarfs the Poisson/binomial noise and a plain
  u or p chart flags nearly every point: with :math:`z_i = (y_i - \\bar{y})/\\sigma_i`, the
  limits are :math:`\\bar{y} \\pm 3\\sigma_i\\sigma_z`,
  :math:`\\sigma_z = \\overline{|z_i - z_{i-1}|}/1.128`
  (Laney 2002; qicharts2's "up" and "pp").

Rules
-----
- Anhøj runs rules (as qicharts2): ignoring points on the centre line, an unusually long run
  (longest run > round(log2(n)) + 3) or too few crossings of the centre line
  (crossings < qbinom(0.05, n - 1, 0.5)) signal a shift.
- NHS England "Making Data Count": a point beyond the limits; a shift of ``shift_length`` (7)
  points in a row on one side of the centre line; a trend of ``trend_length`` (6) points in a row
  each higher (or each lower) than the one before; two of three points in a row beyond two sigma
  on the same side.

References
----------
Montgomery DC. Introduction to Statistical Quality Control. 7th ed. Wiley; 2013 (ch. 6-7).
Anhøj J, Olesen AV. Run charts revisited. PLoS One 2014;9:e113825.
Laney DB. Improved control charts for attributes. Qual Eng 2002;14:531-537.
Anhøj J. Diagnostic value of run chart analysis. PLoS One 2015;10:e0121349.
NHS England / NHS Improvement. Making Data Count. 2019.
Anhøj J. qicharts2: Quality Improvement Charts for R, https://github.com/anhoej/qicharts2.
"""

from __future__ import annotations

__all__ = ["spc", "anhoej_rules", "making_data_count_rules", "SPCResult"]

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns, require_frame, require_unique
from evaluation.palette import OKABE_ITO

CHARTS = ("run", "xmr", "i", "u", "p", "up", "pp")
_D2 = 1.128  # bias constant of the moving range of two points
_D4 = 3.267  # upper limit factor of the moving-range chart


def anhoej_rules(values, centre) -> dict:
    """Anhøj's runs analysis of a series against its centre line.

    Points on the centre line are ignored. With :math:`n` useful points,

    - longest run signal: longest run > :math:`\\mathrm{round}(\\log_2 n) + 3`;
    - crossings signal: crossings < the 5th percentile of Binomial(:math:`n-1`, 0.5).

    Returns a dict with ``n_useful``, ``longest_run``, ``longest_run_max``, ``crossings``,
    ``crossings_min``, ``runs_signal``.

    Examples
    --------
    >>> from evaluation.methods.control_charts import anhoej_rules
    >>> anhoej_rules([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 6.5)["runs_signal"]
    True
    """
    values = np.asarray(values, dtype=float)
    centre = np.broadcast_to(np.asarray(centre, dtype=float), values.shape)
    side = np.sign(values - centre)
    side = side[(side != 0) & ~np.isnan(side)]
    n_useful = len(side)
    if n_useful == 0:
        raise InputError("runs analysis needs at least one point off the centre line")
    # R's round() rounds half to even, as does numpy's; log2(n) is never exactly .5 for n >= 1.
    longest_run_max = int(np.round(np.log2(n_useful))) + 3
    crossings_min = int(stats.binom.ppf(0.05, max(n_useful - 1, 0), 0.5))
    boundaries = np.flatnonzero(np.diff(side) != 0)
    crossings = len(boundaries)
    run_lengths = np.diff(np.concatenate([[-1], boundaries, [n_useful - 1]]))
    longest_run = int(run_lengths.max())
    return {
        "n_useful": n_useful,
        "longest_run": longest_run,
        "longest_run_max": longest_run_max,
        "crossings": crossings,
        "crossings_min": crossings_min,
        "runs_signal": bool(longest_run > longest_run_max or crossings < crossings_min),
    }


def _flag_runs(condition: np.ndarray, length: int) -> np.ndarray:
    """Mark every element of a run of at least ``length`` consecutive True values."""
    flags = np.zeros(len(condition), dtype=bool)
    start = None
    for i, value in enumerate(np.append(condition, False)):
        if value and start is None:
            start = i
        elif not value and start is not None:
            if i - start >= length:
                flags[start:i] = True
            start = None
    return flags


def making_data_count_rules(
    values,
    centre,
    lower=None,
    upper=None,
    lower_2sigma=None,
    upper_2sigma=None,
    shift_length: int = 7,
    trend_length: int = 6,
) -> pd.DataFrame:
    """NHS "Making Data Count" special-cause rules, one row per point.

    - ``beyond_limits``: outside the (3-sigma) process limits;
    - ``shift``: part of ``shift_length`` or more points in a row on the same side of the centre
      line (a point on the line breaks the run);
    - ``trend``: part of ``trend_length`` or more points in a row, each strictly higher (or each
      strictly lower) than the previous;
    - ``two_of_three``: beyond two sigma, in a window of three points in a row of which at least
      two are beyond two sigma on the same side.

    Returns columns beyond_limits, shift, trend, two_of_three, special_cause, direction
    ("higher"/"lower"/"" where special_cause).

    Examples
    --------
    >>> from evaluation.methods.control_charts import making_data_count_rules
    >>> rules = making_data_count_rules([5, 5, 6, 7, 8, 9, 10, 11, 4, 5], centre=6)
    >>> rules["trend"].tolist()
    [False, True, True, True, True, True, True, True, False, False]
    """
    if shift_length < 2 or trend_length < 2:
        raise InputError(
            f"shift_length and trend_length must be at least 2; got {shift_length}, {trend_length}"
        )
    values = np.asarray(values, dtype=float)
    n = len(values)
    centre = np.broadcast_to(np.asarray(centre, dtype=float), (n,))
    above, below = values > centre, values < centre
    shift = _flag_runs(above, shift_length) | _flag_runs(below, shift_length)
    step = np.diff(values)
    # a trend of k points is k-1 consecutive steps in one direction; mark the points they join
    rising = _flag_runs(step > 0, trend_length - 1)
    falling = _flag_runs(step < 0, trend_length - 1)
    trend = np.zeros(n, dtype=bool)
    for steps in (rising, falling):
        trend[:-1] |= steps
        trend[1:] |= steps
    beyond = np.zeros(n, dtype=bool)
    two_of_three = np.zeros(n, dtype=bool)
    higher_special = above.copy()
    if upper is not None and lower is not None:
        upper = np.broadcast_to(np.asarray(upper, dtype=float), (n,))
        lower = np.broadcast_to(np.asarray(lower, dtype=float), (n,))
        beyond = (values > upper) | (values < lower)
    if upper_2sigma is not None and lower_2sigma is not None:
        hi2 = values > np.broadcast_to(np.asarray(upper_2sigma, dtype=float), (n,))
        lo2 = values < np.broadcast_to(np.asarray(lower_2sigma, dtype=float), (n,))
        for outside in (hi2, lo2):
            for start in range(max(n - 2, 0)):
                window = outside[start : start + 3]
                if window.sum() >= 2:
                    two_of_three[start : start + 3] |= window
    special = beyond | shift | trend | two_of_three
    # Direction of the special cause: trends by their slope, everything else by the side.
    direction = np.where(higher_special, "higher", "lower")
    for steps, word in ((rising, "higher"), (falling, "lower")):
        on_trend = np.zeros(n, dtype=bool)
        on_trend[:-1] |= steps
        on_trend[1:] |= steps
        direction = np.where(on_trend & ~(beyond | shift | two_of_three), word, direction)
    direction = np.where(special, direction, "")
    return pd.DataFrame(
        {
            "beyond_limits": beyond,
            "shift": shift,
            "trend": trend,
            "two_of_three": two_of_three,
            "special_cause": special,
            "direction": direction,
        }
    )


@dataclass
class SPCResult:
    """An SPC chart's numbers: a tidy frame per point, the runs analysis and the chart type.

    Build with :func:`spc`; ``.to_frame()`` per point, ``.summary()`` the chart in one row,
    ``.plot()`` the chart.
    """

    points: pd.DataFrame
    chart: str
    runs: dict
    improvement: str | None
    labels: dict = field(default_factory=dict)
    phases: pd.DataFrame | None = None  # phase, n_points and the runs analysis of each phase

    def to_frame(self) -> pd.DataFrame:
        """One row per point: x, y (and numerator/denominator), phase, centre, limits (3 and 2
        sigma, not for run charts), the Making Data Count flags, ``variation`` in words, and the
        Anhøj statistics (the same on every row of a phase, as qicharts2 reports them)."""
        return self.points.copy()

    def summary(self) -> pd.DataFrame:
        """The chart in one row per phase (one row without ``part``, as qicharts2's summary):
        chart, phase, n_points, centre (the phase's last point's), the runs analysis
        (n_useful, longest_run, longest_run_max, crossings, crossings_min, runs_signal) and the
        number of points flagged by each Making Data Count rule (``n_<rule>``)."""
        rows = []
        for phase, frame in self.points.groupby("phase", sort=False):
            row = {
                "chart": self.chart,
                "phase": phase,
                "n_points": len(frame),
                "centre": float(frame["centre"].iloc[-1]),
            }
            row.update({key: frame[key].iloc[0] for key in self.runs})
            for rule in ("beyond_limits", "shift", "trend", "two_of_three"):
                if rule in frame:
                    row[f"n_{rule}"] = int(frame[rule].sum())
            rows.append(row)
        return pd.DataFrame(rows)

    def plot(
        self,
        ax=None,
        title: str | None = None,
        y_label: str | None = None,
        x_label: str | None = None,
    ):
        """The series with centre line and limits; special-cause points coloured (orange for a
        concern, blue for an improvement when ``improvement`` was given, as Making Data Count)."""
        import matplotlib.pyplot as plt

        from evaluation.methods._plotting import new_axes, set_style

        frame = self.points
        show_mr = self.chart == "xmr"
        ax_mr = None
        if ax is None and show_mr:
            set_style()
            _, (ax, ax_mr) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=[3, 1.3])
        else:
            ax = new_axes(ax, figsize=(9, 4))
        ax.plot(frame["x"], frame["y"], color="#7f7f7f", lw=1.2, marker="o", ms=4, zorder=2)
        groups = list(frame.groupby("phase", sort=False)) if "phase" in frame else [(1, frame)]
        for number, (_, phase) in enumerate(groups):
            # each phase its own lines, unjoined: the limits were recomputed at the change
            first = number == 0
            ax.plot(
                phase["x"],
                phase["centre"],
                color="black",
                lw=1,
                label=("Median" if self.chart == "run" else "Average (centre line)")
                if first
                else None,
            )
            if "upper" in phase:
                ax.plot(
                    phase["x"],
                    phase["upper"],
                    "--",
                    color=OKABE_ITO["grey"],
                    lw=1,
                    drawstyle="steps-mid",
                    label="Process limits (3 sigma)" if first else None,
                )
                ax.plot(
                    phase["x"],
                    phase["lower"],
                    "--",
                    color=OKABE_ITO["grey"],
                    lw=1,
                    drawstyle="steps-mid",
                )
            if not first:
                ax.axvline(
                    phase["x"].iloc[0],
                    color="#9a9a9a",
                    lw=0.8,
                    ls=":",
                    label="Limits recomputed (new phase)" if number == 1 else None,
                )
        colours = {
            "improvement": OKABE_ITO["blue"],
            "concern": OKABE_ITO["orange"],
            "special cause": OKABE_ITO["orange"],
        }
        for kind, colour in colours.items():
            chosen = frame["variation"].str.startswith(kind)
            if chosen.any():
                ax.scatter(
                    frame.loc[chosen, "x"],
                    frame.loc[chosen, "y"],
                    color=colour,
                    zorder=3,
                    s=36,
                    label=f"Special cause: {kind}" if kind != "special cause" else "Special cause",
                )
        signals = (
            self.phases["runs_signal"].any()
            if self.phases is not None
            else self.runs["runs_signal"]
        )
        if signals:
            ax.plot([], [], " ", label="Runs analysis: a shift is likely (Anhøj rules)")
        ax.set_ylabel(y_label or self.labels.get("y") or "Value")
        (ax_mr or ax).set_xlabel(x_label or self.labels.get("x") or "")
        if title or self.labels.get("title"):
            ax.set_title(title or self.labels["title"])
        # beside the axes, never over them: "best" still covered points of a long series
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        if ax_mr is not None:
            ax_mr.plot(frame["x"], frame["moving_range"], color="#7f7f7f", marker="o", ms=3, lw=1)
            ax_mr.plot(frame["x"], frame["mr_centre"], color="black", lw=1)
            ax_mr.plot(frame["x"], frame["mr_upper"], "--", color=OKABE_ITO["grey"], lw=1)
            ax_mr.set_ylabel("Month-to-month\nchange")
        return ax


def spc(
    data: pd.DataFrame,
    y: str | None = None,
    x: str | None = None,
    chart: str = "xmr",
    numerator: str | None = None,
    denominator: str | None = None,
    multiplier: float = 1.0,
    baseline: int | None = None,
    part=None,
    shift_length: int = 7,
    trend_length: int = 6,
    improvement: str | None = None,
    min_points: int = 10,
    y_label: str | None = None,
    x_label: str | None = None,
    title: str | None = None,
) -> SPCResult:
    """Run, XmR, u, p (or Laney u', p') chart of one series, with Anhøj and Making Data Count rules.

    Parameters
    ----------
    data : DataFrame
        One row per time point, in time order (sorted by ``x`` if given).
    y : str
        The value column, for ``"run"`` and ``"xmr"`` charts.
    x : str, optional
        Time column (month, meeting date); default the row number.
    chart : {"run", "xmr", "i", "u", "p", "up", "pp"}
        See the module docstring for formulas. ``"i"`` is an alias of ``"xmr"``; ``"up"`` and
        ``"pp"`` are Laney's u' and p' charts, the right choice for large denominators.
    numerator, denominator : str
        Count and size columns for ``"u"`` (events per unit) and ``"p"`` (proportion) charts;
        they may also be given to a run or XmR chart, which then plots numerator/denominator.
    multiplier : float
        Scale for display and the frame of u charts (1000 gives "per 1,000 patients").
    baseline : int, optional
        Compute the centre and limits from the first ``baseline`` points only (e.g. the months
        before a cluster meeting), and judge the later points against them.
    part : int, list of int or str, optional
        Split the chart into phases at a known change (a topic meeting, a new way of counting)
        and recompute the centre line, limits and rules within each phase, as qicharts2's
        ``part``: the number of points before each new phase (``part=24`` makes points 1-24
        phase 1 and the rest phase 2), the time (a date or period of ``x``) at which each new
        phase starts, e.g. the topic meeting's month, or the name of a column of ``data``
        labelling each point's phase (each label one unbroken stretch of time). Every phase
        needs at least two
        points. The ``phase`` column of the frame and ``.phases`` (one row per phase with its
        runs analysis) report them; ``.runs`` is the current (last) phase's.
    shift_length, trend_length : int
        Making Data Count rule lengths (7 and 6 by default).
    improvement : {"up", "down", None}
        Which direction is better; special causes are then called improvement or concern.
    min_points : int
        Fewest points accepted (the runs rules are calibrated for at least 10).

    Returns
    -------
    :class:`SPCResult` with ``.to_frame()``, ``.summary()`` and ``.plot()``.

    Raises
    ------
    MissingColumnsError for a column not in ``data``; InputError (a ValueError) for too few
    points, repeated times, missing values, denominators <= 0, proportions above 1, a ``part``
    that leaves a phase with fewer than two points, or both ``baseline`` and ``part``.

    References
    ----------
    Montgomery DC. Introduction to Statistical Quality Control. 7th ed. 2013.
    Anhøj J, Olesen AV. Run charts revisited. PLoS One 2014;9:e113825.
    NHS England. Making Data Count. 2019.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods import spc
    >>> series = pd.DataFrame({"month": pd.period_range("2021-01", periods=12, freq="M"),
    ...                        "rx": [40, 42, 38, 45, 41, 39, 44, 43, 40, 30, 29, 28],
    ...                        "patients": [1600] * 12})
    >>> chart = spc(series, x="month", chart="u", numerator="rx", denominator="patients",
    ...             multiplier=1000)
    >>> round(float(chart.summary()["centre"].iloc[0]), 2)
    23.91
    >>> chart.to_frame()[["x", "y", "trend", "variation"]].tail(3).round(2)
              x      y  trend              variation
    9   2021-10  18.75   True  special cause (lower)
    10  2021-11  18.12   True  special cause (lower)
    11  2021-12  17.50   True  special cause (lower)
    """
    if chart not in CHARTS:
        raise InputError(f"chart must be one of {CHARTS}; got {chart!r}")
    chart = "xmr" if chart == "i" else chart
    if improvement not in (None, "up", "down"):
        raise InputError(f"improvement must be 'up', 'down' or None; got {improvement!r}")
    where = "spc: data"
    require_frame(data, where)
    if chart in ("u", "p", "up", "pp") and (numerator is None or denominator is None):
        raise InputError(
            f"a {chart} chart needs numerator= and denominator= columns (counts and sizes)"
        )
    if chart in ("run", "xmr") and y is None and (numerator is None or denominator is None):
        raise InputError(
            f"a {chart} chart needs y= (a value column) or numerator= and denominator="
        )
    needed = [c for c in (y, x, numerator, denominator) if c is not None]
    if isinstance(part, str) and part not in needed:
        needed.append(part)  # a phase column, sorted with the points below
    require_columns(data, needed, where)
    frame = data[needed].copy()
    if x is not None:
        if frame[x].isna().any():
            raise InputError(f"spc: the time column {x!r} is missing for some rows")
        require_unique(
            frame,
            [x],
            where,
            what="one point per time",
            hint="sum the counts (or average the values) per time first",
        )
        frame = frame.sort_values(x, kind="stable")
    frame = frame.reset_index(drop=True)
    if len(frame) < max(min_points, 2):
        raise InputError(
            f"spc: a {chart} chart needs at least {max(min_points, 2)} points; got {len(frame)}. "
            "Use a longer period or a coarser unit (e.g. a cluster instead of a clinic)."
        )
    for column in (y, numerator, denominator):
        if column is None:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any():
            row = int(values.index[values.isna()][0])
            raise InputError(
                f"spc: column {column!r} is missing or not a number at point {row} (0-based)"
            )
        frame[column] = values.astype(float)
    out = pd.DataFrame({"x": frame[x] if x is not None else np.arange(1, len(frame) + 1)})
    if numerator is not None and denominator is not None:
        if (frame[denominator] <= 0).any():
            row = int(np.flatnonzero(frame[denominator] <= 0)[0])
            raise InputError(
                f"spc: denominator {denominator!r} must be > 0; point {row} (0-based) is not"
            )
        if (frame[numerator] < 0).any():
            raise InputError(f"spc: numerator {numerator!r} must be >= 0")
        if chart in ("p", "pp") and (frame[numerator] > frame[denominator]).any():
            row = int(np.flatnonzero(frame[numerator] > frame[denominator])[0])
            raise InputError(f"spc: p chart numerator exceeds denominator at point {row} (0-based)")
        out["numerator"] = frame[numerator].to_numpy()
        out["denominator"] = frame[denominator].to_numpy()
        out["y"] = out["numerator"] / out["denominator"]
    else:
        out["y"] = frame[y].to_numpy()
    n = len(out)
    if baseline is not None and part is not None:
        raise InputError(
            "spc: give baseline= (limits frozen on the first points) or part= (limits "
            "recomputed per phase), not both; qicharts2 likewise ignores freeze when part is given"
        )
    if baseline is not None and not 2 <= baseline <= n:
        raise InputError(
            f"baseline must be between 2 and the number of points ({n}); got {baseline}"
        )
    phases = _phases(part, frame, n, x=out["x"])
    out["phase"] = phases
    y_values = out["y"].to_numpy()
    pieces = []
    runs_by_phase = []
    for label in pd.unique(phases):
        rows = np.flatnonzero(phases == label)
        piece = out.iloc[rows].reset_index(drop=True)
        limits = _phase_limits(piece, chart, baseline)
        piece = pd.concat([piece, limits], axis=1)
        bands = (
            {k: piece[k] for k in ("lower", "upper", "lower_2sigma", "upper_2sigma")}
            if "upper" in piece
            else {}
        )
        # the Making Data Count and Anhøj rules look within a phase: a shift that spans the
        # known change is the change itself, not a signal
        rules = making_data_count_rules(
            y_values[rows],
            piece["centre"],
            shift_length=shift_length,
            trend_length=trend_length,
            **bands,
        )
        if "upper" not in piece:
            rules = rules.drop(columns=["beyond_limits", "two_of_three"])
        piece = pd.concat([piece, rules], axis=1)
        runs = anhoej_rules(y_values[rows], piece["centre"])
        for key, value in runs.items():
            piece[key] = value
        runs_by_phase.append({"phase": label, "n_points": len(rows), **runs})
        pieces.append(piece)
    out = pd.concat(pieces, ignore_index=True)
    if improvement is None:
        out["variation"] = np.where(
            out["special_cause"], "special cause (" + out["direction"] + ")", "common cause"
        )
    else:
        good = "higher" if improvement == "up" else "lower"
        out["variation"] = np.select(
            [out["special_cause"] & (out["direction"] == good), out["special_cause"]],
            ["improvement (" + out["direction"] + ")", "concern (" + out["direction"] + ")"],
            "common cause",
        )
    if multiplier != 1:
        for column in (
            "y",
            "centre",
            "upper",
            "lower",
            "upper_2sigma",
            "lower_2sigma",
            "moving_range",
            "mr_centre",
            "mr_upper",
        ):
            if column in out:
                out[column] = out[column] * multiplier
    phase_runs = pd.DataFrame(runs_by_phase)
    current = {k: v for k, v in runs_by_phase[-1].items() if k not in ("phase", "n_points")}
    return SPCResult(
        out,
        chart,
        current,
        improvement,
        labels={"x": x_label, "y": y_label, "title": title},
        phases=phase_runs,
    )


def _is_time(value) -> bool:
    return isinstance(value, (pd.Timestamp, pd.Period, np.datetime64)) or hasattr(value, "year")


def _phases(part, frame: pd.DataFrame, n: int, min_phase: int = 2, x: pd.Series | None = None):
    """Phase number (1, 2, ...) or label of each point of ``frame`` (in time order)."""
    if part is None:
        return np.ones(n, dtype=int)
    starts = list(part) if isinstance(part, (list, tuple)) else [part]
    if starts and all(_is_time(start) for start in starts):
        # dates (or periods) where a new phase starts: the first point at or after each
        times = pd.Series(x).reset_index(drop=True)
        try:
            part = [int((times < start).sum()) for start in starts]
        except TypeError:
            raise InputError(
                f"spc: part={starts!r} are times, but they cannot be compared with the time "
                "column's values; give them in the same type (dates, or periods)"
            ) from None
    if isinstance(part, str):
        labels = frame[part]
        if labels.isna().any():
            raise InputError(f"spc: the phase column {part!r} is missing for some points")
        changes = np.flatnonzero(labels.to_numpy()[1:] != labels.to_numpy()[:-1]) + 1
        if len(set(labels)) != len(changes) + 1:
            raise InputError(
                f"spc: each phase in {part!r} must be one unbroken stretch of time; a label "
                "comes back after another phase"
            )
        sizes = np.diff(np.concatenate([[0], changes, [n]]))
        if sizes.min() < min_phase:
            raise InputError(
                f"spc: every phase needs at least {min_phase} points; phase "
                f"{labels.iloc[np.concatenate([[0], changes])[sizes.argmin()]]!r} has "
                f"{sizes.min()}"
            )
        return labels.to_numpy()
    positions = np.atleast_1d(np.asarray(part))
    if positions.dtype.kind not in "iu" and not (
        positions.dtype.kind == "f" and np.all(positions == np.round(positions))
    ):
        raise InputError(
            "spc: part must be the number of points before each new phase (as qicharts2's "
            "part=24), a list of them, the time(s) a new phase starts, or the name of a phase "
            f"column; got {part!r}"
        )
    positions = np.unique(positions.astype(int))
    bounds = np.concatenate([[0], positions, [n]])
    if positions.min() < min_phase or positions.max() > n - min_phase:
        raise InputError(
            f"spc: part={part!r} must split the {n} points into phases of at least {min_phase} "
            f"points each (positions between {min_phase} and {n - min_phase})"
        )
    phases = np.repeat(np.arange(1, len(bounds)), np.diff(bounds))
    return phases


def _phase_limits(piece: pd.DataFrame, chart: str, baseline: int | None) -> pd.DataFrame:
    """Centre line, limits and (XmR) moving ranges of one phase, from its own points (or its
    first ``baseline`` points)."""
    n = len(piece)
    base = slice(0, baseline if baseline is not None else n)
    y_values = piece["y"].to_numpy()
    sigma = None
    extra = {}
    if chart == "run":
        centre = np.full(n, np.median(y_values[base]))
    elif chart == "xmr":
        centre = np.full(n, y_values[base].mean())
        moving_range = np.abs(np.diff(y_values))
        mr_bar = moving_range[: (baseline - 1 if baseline else n - 1)].mean()
        sigma = np.full(n, mr_bar / _D2)
        extra["moving_range"] = np.concatenate([[np.nan], moving_range])
        extra["mr_centre"] = np.full(n, mr_bar)
        extra["mr_upper"] = np.full(n, _D4 * mr_bar)
    else:
        size = piece["denominator"].to_numpy()
        pooled = piece["numerator"].to_numpy()[base].sum() / size[base].sum()
        centre = np.full(n, pooled)
        if chart in ("u", "up"):
            sigma = np.sqrt(pooled / size)
        else:
            if not 0 < pooled < 1:
                raise InputError(
                    f"spc: the pooled proportion is {pooled!r}; a p chart needs events and "
                    "non-events"
                )
            sigma = np.sqrt(pooled * (1 - pooled) / size)
        if chart in ("up", "pp"):
            # Laney: rescale by the moving-range SD of the z-scores (baseline points only)
            z = (y_values[base] - pooled) / sigma[base]
            sigma = sigma * (np.mean(np.abs(np.diff(z))) / _D2)
    if sigma is not None and not np.all(sigma > 0):
        raise InputError(
            "spc: the series does not vary (zero estimated sigma), so it has no control limits"
        )
    limits = pd.DataFrame({"centre": centre, **extra})
    if sigma is not None:
        limits["upper"] = centre + 3 * sigma
        limits["lower"] = centre - 3 * sigma
        limits["upper_2sigma"] = centre + 2 * sigma
        limits["lower_2sigma"] = centre - 2 * sigma
        floor, ceiling = {
            "u": (0.0, None),
            "up": (0.0, None),
            "p": (0.0, 1.0),
            "pp": (0.0, 1.0),
        }.get(chart, (None, None))
        for column in ("upper", "lower", "upper_2sigma", "lower_2sigma"):
            limits[column] = limits[column].clip(lower=floor, upper=ceiling)
    return limits
