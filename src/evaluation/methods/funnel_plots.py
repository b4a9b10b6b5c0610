"""Funnel plots: is a clinic's prescribing outside what chance alone would give a clinic its size?

A coordinator sees one clinic prescribing half as much as another and asks what it means. The
funnel plot answers by putting every clinic's ratio (observed / expected prescriptions, or a
proportion) against its size (expected count, or denominator) with control limits that narrow as
clinics grow: a small clinic can sit far from the national rate by chance, a large one cannot.

Method (Spiegelhalter 2005, as implemented by NHS-R FunnelPlotR):

- exact limits: Poisson for indirectly standardised ratios (the chi-square form of the exact
  Poisson interval at O = E), binomial for proportions (interpolated binomial quantiles);
- overdispersion: real clinics vary more than Poisson/binomial noise. Each unit gets a z-score on
  a variance-stabilising scale (log for the SHMI method, square root for the CQC method, arcsine
  for proportions); the extreme 10 % at each end are winsorised (or, for SHMI, truncated), the
  dispersion ratio phi = mean(z^2) is estimated, and the limits are widened either
  multiplicatively (variance phi * s^2) or additively with a DerSimonian-Laird between-unit
  variance tau^2 (variance s^2 + tau^2).

References
----------
Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med 2005;24:1185-1202.
Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health Care
2005;14:347-351.
NHS Digital. Summary Hospital-level Mortality Indicator (SHMI) methodology, v1.x.
Mainey C et al. FunnelPlotR (NHS-R Community), https://github.com/nhs-r-community/FunnelPlotR.
"""

from __future__ import annotations

__all__ = [
    "funnel",
    "funnel_limits",
    "expected_counts",
    "overdispersion_estimates",
    "FunnelResult",
]

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns, require_frame, require_positive
from evaluation.palette import OKABE_ITO

KINDS = ("ratio", "proportion")
OVERDISPERSION = ("none", "multiplicative", "additive")
SR_METHODS = ("SHMI", "CQC")
LEVELS = (0.95, 0.998)


def _level_tag(level: float) -> str:
    """0.95 -> '95', 0.998 -> '998': column suffixes that read like the percentages."""
    return f"{level * 100:g}".replace(".", "")


def _check_levels(levels) -> tuple[float, ...]:
    levels = tuple(float(level) for level in levels)
    if not levels or any(not 0 < level < 1 for level in levels):
        raise InputError(
            f"levels must be coverages strictly between 0 and 1, e.g. (0.95, 0.998); got {levels}"
        )
    return levels


def _positive(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    bad = ~np.isfinite(array) | (array <= 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name} must be positive and finite; position {first} holds {array.flat[first]!r}. "
            "A unit with zero expected count or denominator has no funnel position: drop it first."
        )
    return array


# ---------------------------------------------------------------------------------------------
# exact limits
# ---------------------------------------------------------------------------------------------


def _poisson_ratio_limits(
    expected: np.ndarray, level: float, target: float
) -> tuple[np.ndarray, np.ndarray]:
    # The exact (Garwood) Poisson interval for a count equal to its expectation, divided by the
    # expectation: continuous in E, so the funnel is a smooth curve rather than a staircase.
    tail = (1 - level) / 2
    lower = stats.chi2.ppf(tail, 2 * expected) / (2 * expected)
    upper = stats.chi2.ppf(1 - tail, 2 * (expected + 1)) / (2 * expected)
    return target * lower, target * upper


def _binomial_quantile_limit(n: np.ndarray, p: float, prob: float) -> np.ndarray:
    # Spiegelhalter (2005, appendix A.1.1): r_p is the smallest r with P(R <= r) >= prob; the
    # step between r_p - 1 and r_p is interpolated so the limit moves smoothly with n.
    r = stats.binom.ppf(prob, n, p)
    at_r = stats.binom.cdf(r, n, p)
    below_r = stats.binom.cdf(r - 1, n, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(at_r > below_r, (at_r - prob) / (at_r - below_r), 0.0)
    return np.clip((r - alpha) / n, 0.0, 1.0)


def _binomial_proportion_limits(
    n: np.ndarray, level: float, target: float
) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - level) / 2
    return _binomial_quantile_limit(n, target, tail), _binomial_quantile_limit(n, target, 1 - tail)


# ---------------------------------------------------------------------------------------------
# the transformed scale used for z-scores and overdispersion
# ---------------------------------------------------------------------------------------------


def _transform(kind: str, sr_method: str, numerator, denominator, target: float):
    """(Y, s, target on the transformed scale) for each unit."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore"):
        if kind == "ratio" and sr_method == "SHMI":
            return np.log(numerator / denominator), 1 / np.sqrt(denominator), np.log(target)
        if kind == "ratio":  # CQC: square root
            return np.sqrt(numerator / denominator), 1 / (2 * np.sqrt(denominator)), np.sqrt(target)
    return (
        np.arcsin(np.sqrt(numerator / denominator)),
        1 / (2 * np.sqrt(denominator)),
        np.arcsin(np.sqrt(target)),
    )


def _back_transform(kind: str, sr_method: str, value: np.ndarray) -> np.ndarray:
    if kind == "ratio" and sr_method == "SHMI":
        return np.exp(value)
    if kind == "ratio":
        return np.clip(value, 0, None) ** 2
    # arcsine: keep the angle in [0, pi/2] so limits stop at 0 and 1 instead of folding back
    return np.sin(np.clip(value, 0, np.pi / 2)) ** 2


def _approximate_limits(kind, sr_method, denominator, level, target, phi, tau2):
    z = stats.norm.ppf(1 - (1 - level) / 2)
    _, s, centre = _transform(kind, sr_method, np.ones_like(denominator), denominator, target)
    spread = z * np.sqrt(phi * s**2 + tau2)
    return _back_transform(kind, sr_method, centre - spread), _back_transform(
        kind, sr_method, centre + spread
    )


def funnel_limits(
    denominator,
    kind: str = "ratio",
    target: float = 1.0,
    levels=LEVELS,
    overdispersion: str = "none",
    phi: float = 1.0,
    tau2: float = 0.0,
    sr_method: str = "SHMI",
) -> pd.DataFrame:
    """Funnel control limits at given sizes (expected counts or denominators).

    Parameters
    ----------
    denominator : array-like
        Expected counts E (``kind="ratio"``) or denominators n (``kind="proportion"``); > 0.
    kind : {"ratio", "proportion"}
        Indirectly standardised ratio O/E (target 1) or proportion (target the overall proportion).
    target : float
        Centre line: 1 for a standardised ratio, the pooled proportion for proportions.
    levels : tuple of float
        Coverages, by default 95 % and 99.8 % (about 2 and 3 standard deviations).
    overdispersion : {"none", "multiplicative", "additive"}
        ``"none"`` gives the exact limits:

        - ratio: :math:`L = \\chi^2_{\\alpha/2}(2E) / 2E`,
          :math:`U = \\chi^2_{1-\\alpha/2}(2E+2) / 2E`;
        - proportion: :math:`(r_p - a)/n`, with :math:`r_p` the binomial quantile and
          :math:`a` the interpolation of Spiegelhalter (2005, A.1.1).

        Otherwise, on the transformed scale :math:`g` with within-unit SD :math:`s`,
        :math:`g^{-1}(g(\\theta_0) \\pm z \\sqrt{\\phi s^2 + \\tau^2})` where ``multiplicative``
        uses ``phi`` (``tau2`` = 0) and ``additive`` uses ``tau2`` (``phi`` = 1).
    phi, tau2 : float
        Dispersion ratio and between-unit variance, as estimated by :func:`funnel`.
    sr_method : {"SHMI", "CQC"}
        Transformation for ratios: log (SHMI) or square root (CQC).

    References
    ----------
    Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
    2005;24:1185-1202 (appendix A.1); the chi-square form of the Poisson limits as in NHS-R
    FunnelPlotR.

    Returns
    -------
    DataFrame, one row per size: ``denominator``, then ``lower_<level>``/``upper_<level>`` for
    each level (``lower_95``, ``upper_95``, ``lower_998``, ``upper_998``).

    Examples
    --------
    The exact 95 % and 99.8 % limits of a standardised ratio for 15, 20 and 30 expected events
    (FunnelPlotR gives the same to 7 digits):

    >>> from evaluation.methods.funnel_plots import funnel_limits
    >>> funnel_limits([15, 20, 30]).round(4)
       denominator  lower_95  upper_95  lower_998  upper_998
    0         15.0    0.5597    1.6493     0.3863     2.0829
    1         20.0    0.6108    1.5444     0.4479     1.9021
    2         30.0    0.6747    1.4276     0.5290     1.7028
    """
    kind, overdispersion, sr_method = _check_options(kind, overdispersion, sr_method)
    levels = _check_levels(levels)
    size = _positive(np.atleast_1d(denominator), "denominator")
    if not np.isfinite(target) or target <= 0 or (kind == "proportion" and target >= 1):
        raise InputError(
            f"target must be positive{' and below 1' if kind == 'proportion' else ''}; "
            f"got {target!r}"
        )
    if phi <= 0 or tau2 < 0 or not np.isfinite(phi) or not np.isfinite(tau2):
        raise InputError(f"phi must be > 0 and tau2 >= 0; got phi={phi!r}, tau2={tau2!r}")
    if kind == "proportion" and overdispersion == "none" and not np.all(size == np.round(size)):
        first = size[size != np.round(size)][0]
        raise InputError(
            "exact binomial limits need whole-number denominators (people, not rates); "
            f"got {first!r}"
        )
    out = {"denominator": size}
    for level in levels:
        tag = _level_tag(level)
        if overdispersion == "none":
            exact = _poisson_ratio_limits if kind == "ratio" else _binomial_proportion_limits
            lower, upper = exact(size, level, target)
        else:
            lower, upper = _approximate_limits(
                kind,
                sr_method,
                size,
                level,
                target,
                phi if overdispersion == "multiplicative" else 1.0,
                tau2 if overdispersion == "additive" else 0.0,
            )
        out[f"lower_{tag}"], out[f"upper_{tag}"] = lower, upper
    return pd.DataFrame(out)


def _check_options(kind, overdispersion, sr_method):
    if kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS}; got {kind!r}")
    if overdispersion not in OVERDISPERSION:
        raise InputError(f"overdispersion must be one of {OVERDISPERSION}; got {overdispersion!r}")
    sr_method = str(sr_method).upper()
    if sr_method not in SR_METHODS:
        raise InputError(f"sr_method must be one of {SR_METHODS}; got {sr_method!r}")
    return kind, overdispersion, sr_method


# ---------------------------------------------------------------------------------------------
# overdispersion estimates
# ---------------------------------------------------------------------------------------------


def _winsorise(z: np.ndarray, trim: float) -> np.ndarray:
    # Quantiles as R's default (type 7), which numpy's "linear" method is.
    low, high = np.quantile(z, [trim, 1 - trim])
    return np.clip(z, low, high)


def _truncate(z: np.ndarray, trim: float) -> np.ndarray:
    """SHMI: drop (not clip) the units in the lowest and highest ``trim`` rank groups."""
    groups = round(1 / trim)
    rank = stats.rankdata(z, method="average")
    group = np.floor(rank * groups / (len(z) + 1))
    keep = (group > 0) & (group < groups - 1)
    return np.where(keep, z, np.nan)


def overdispersion_estimates(z: np.ndarray, s: np.ndarray, trim: float, truncate: bool) -> dict:
    """phi (dispersion ratio) and DerSimonian-Laird tau^2 from unadjusted z-scores.

    :math:`\\phi = \\frac{1}{n}\\sum z_w^2` over the winsorised (or truncated) z-scores, and
    :math:`\\tau^2 = \\max\\left(0, \\frac{n\\phi - (n-1)}{\\sum w - \\sum w^2/\\sum w}\\right)`,
    :math:`w = 1/s^2`, set to 0 when :math:`n\\phi < n - 1` (Spiegelhalter 2005, QSHC).

    Parameters
    ----------
    z : the units' z-scores on the transformed scale; s : their within-unit standard errors.
    trim : share winsorised (or truncated) at each end before estimating phi.
    truncate : drop the extreme units (the SHMI's way) instead of winsorising them.

    Returns
    -------
    dict with phi, tau2, n_used (units left after trimming) and p_overdispersion (the
    chi-square test of :math:`n\\phi` on n - 1 df).

    Examples
    --------
    >>> import numpy as np
    >>> from evaluation.methods.funnel_plots import overdispersion_estimates
    >>> z = np.array([-2.5, -1.0, -0.5, 0.0, 0.4, 1.1, 1.8, 3.0])
    >>> estimates = overdispersion_estimates(z, np.full(8, 0.1), trim=0, truncate=False)
    >>> round(estimates["phi"], 3), round(estimates["tau2"], 4)
    (2.639, 0.0202)
    """
    if not 0 <= trim < 0.5:
        raise InputError(
            f"trim must be in [0, 0.5): the share winsorised at each end; got {trim!r}"
        )
    if trim == 0:
        trimmed = z.astype(float)
    else:
        trimmed = _truncate(z, trim) if truncate else _winsorise(z, trim)
    used = ~np.isnan(trimmed)
    if not np.all(np.isfinite(trimmed[used])):
        raise InputError(
            "a unit with an observed count of 0 has an infinite log z-score and was not trimmed "
            "away; use sr_method='CQC' (square-root scale), which handles zero counts"
        )
    n = int(used.sum())
    if n < 2:
        raise InputError(f"overdispersion needs at least 2 units left after trimming; got {n}")
    phi = float(np.sum(trimmed[used] ** 2) / n)
    w = 1 / s[used] ** 2
    if n * phi < n - 1:
        tau2 = 0.0
    else:
        tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return {
        "phi": phi,
        "tau2": float(tau2),
        "n_used": n,
        "p_overdispersion": float(stats.chi2.sf(n * phi, n - 1)),
    }


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------


@dataclass
class FunnelResult:
    """A funnel plot's numbers: per-unit frame, limits and the overdispersion estimates.

    Build with :func:`funnel`; ``.to_frame()`` per unit, ``.summary()`` the overdispersion in
    one row, ``.limits()`` the curves, ``.plot()`` the funnel.
    """

    units: pd.DataFrame
    kind: str
    target: float
    overdispersion: str
    sr_method: str
    levels: tuple[float, ...]
    phi: float
    tau2: float
    n_used: int
    p_overdispersion: float
    trim: float
    labels: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: group, numerator, denominator, value (O/E or proportion), z-scores,
        the limits at the unit's size, ``outlier_<level>`` ("high", "low" or "") and an assessment
        in words."""
        return self.units.copy()

    def limits(self, sizes=None, n_points: int = 300) -> pd.DataFrame:
        """The limit curves over ``sizes`` (default: a grid spanning the units' sizes)."""
        if sizes is None:
            low, high = self.units["denominator"].min(), self.units["denominator"].max()
            sizes = np.geomspace(max(low * 0.8, 1e-9), high * 1.05, n_points)
            if self.kind == "proportion":  # binomial sizes are whole numbers of people
                sizes = np.unique(np.maximum(np.round(sizes), 1.0))
        return funnel_limits(
            sizes,
            self.kind,
            self.target,
            self.levels,
            self.overdispersion,
            self.phi,
            self.tau2,
            self.sr_method,
        )

    @property
    def outliers(self) -> pd.DataFrame:
        tag = _level_tag(max(self.levels))
        return self.units[self.units[f"outlier_{tag}"] != ""].copy()

    def summary(self) -> pd.DataFrame:
        """The funnel in one row: kind, target, overdispersion method, phi, tau2, units, units
        used for the overdispersion estimate, its chi-square p-value, trim, and the number of
        units beyond each limit (``n_outliers_<level>``)."""
        row = {
            "kind": self.kind,
            "target": self.target,
            "overdispersion": self.overdispersion,
            "sr_method": self.sr_method if self.kind == "ratio" else None,
            "phi": self.phi,
            "tau2": self.tau2,
            "n_units": len(self.units),
            "n_used_for_overdispersion": self.n_used,
            "p_overdispersion": self.p_overdispersion,
            "trim": self.trim,
        }
        for level in sorted(self.levels):
            tag = _level_tag(level)
            row[f"n_outliers_{tag}"] = int((self.units[f"outlier_{tag}"] != "").sum())
        return pd.DataFrame([row])

    def plot(
        self,
        ax=None,
        label: str | float | None = "outliers",
        title: str | None = None,
        x_label: str | None = None,
        y_label: str | None = None,
    ):
        """Units as points against their size, limits as curves; outliers labelled.

        ``label``: "outliers" labels units beyond the widest limits, a level (0.95) labels units
        beyond that one, None labels nothing.
        """
        import seaborn as sns

        from evaluation.methods._plotting import new_axes

        ax = new_axes(ax, figsize=(8, 5))
        curves = self.limits()
        palette = list(OKABE_ITO.values())
        styles = {0: ("--", OKABE_ITO["blue"]), 1: ("-", OKABE_ITO["vermillion"])}
        for i, level in enumerate(sorted(self.levels)):
            tag = _level_tag(level)
            line, colour = styles.get(i, ("-.", palette[i % len(palette)]))
            name = f"{level * 100:g}% limits"
            if self.overdispersion != "none":
                name += " (allowing for real variation between units)"
            ax.plot(
                curves["denominator"],
                curves[f"lower_{tag}"],
                line,
                color=colour,
                lw=1.3,
                label=name,
            )
            ax.plot(curves["denominator"], curves[f"upper_{tag}"], line, color=colour, lw=1.3)
        ax.axhline(self.target, color="black", lw=1, label="Expected (centre line)")
        status = self.units[f"outlier_{_level_tag(max(self.levels))}"].map(
            {
                "high": "higher than expected",
                "low": "lower than expected",
                "": "within expected variation",
            }
        )
        sns.scatterplot(
            x=self.units["denominator"],
            y=self.units["value"],
            hue=status,
            ax=ax,
            s=30,
            palette={
                "higher than expected": OKABE_ITO["vermillion"],
                "lower than expected": OKABE_ITO["blue"],
                "within expected variation": "#7f7f7f",
            },
            hue_order=[
                h
                for h in (
                    "within expected variation",
                    "lower than expected",
                    "higher than expected",
                )
                if (status == h).any()
            ],
            edgecolor="white",
            linewidth=0.4,
        )
        if label is not None:
            tag = _level_tag(max(self.levels) if label == "outliers" else float(label))
            _label_points(ax, self.units[self.units[f"outlier_{tag}"] != ""], self.target)
        ax.set_xlabel(
            x_label
            or self.labels.get("x")
            or (
                "Expected count (if the unit matched the reference rate)"
                if self.kind == "ratio"
                else "Denominator"
            )
        )
        ax.set_ylabel(
            y_label
            or self.labels.get("y")
            or ("Observed / expected (1 = as expected)" if self.kind == "ratio" else "Proportion")
        )
        if title or self.labels.get("title"):
            ax.set_title(title or self.labels["title"])
        ax.legend(fontsize=8, loc="upper right")
        return ax


def _label_points(ax, points: pd.DataFrame, target: float, fontsize: int = 8) -> None:
    """Name each point at the first free spot around it (right, left, above, below, then
    further out), so crowded outliers among the small clinics stay readable."""
    ax.autoscale_view()
    width, height = 6.0 * fontsize * 0.6, fontsize * 1.2  # rough label box in points, ~6 characters
    candidates = [
        (dx, dy)
        for ring in range(4)
        for dx, dy in (
            (4, 3 + ring * height),
            (-4 - width, 3 + ring * height),
            (4, -height - ring * height),
            (-4 - width, -height - ring * height),
        )
    ]
    placed: list[tuple[float, float]] = []
    scale = ax.figure.dpi / 72.0  # display pixels per point
    for row in points.sort_values(["denominator", "value"]).itertuples():
        x, y = ax.transData.transform((row.denominator, row.value))
        x, y = x / scale, y / scale
        for dx, dy in candidates:
            box = (x + dx, y + dy)
            if not any(abs(box[0] - px) < width and abs(box[1] - py) < height for px, py in placed):
                break
        placed.append(box)
        ax.annotate(
            str(row.group),
            (row.denominator, row.value),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=fontsize,
        )


def funnel(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    group: str | None = None,
    kind: str = "ratio",
    overdispersion: str = "none",
    sr_method: str = "SHMI",
    trim: float = 0.1,
    levels=LEVELS,
    target: float | None = None,
    shmi_rounding: bool = False,
    x_label: str | None = None,
    y_label: str | None = None,
    title: str | None = None,
) -> FunnelResult:
    """Funnel plot of standardised ratios or proportions (Spiegelhalter 2005).

    Parameters
    ----------
    data : DataFrame
        One row per unit (clinic), or several rows per unit that are summed (e.g. months).
    numerator : str
        Observed count column (prescriptions, deaths, events).
    denominator : str
        ``kind="ratio"``: expected count E (from indirect standardisation, see
        :func:`expected_counts`); ``kind="proportion"``: number at risk n.
    group : str, optional
        Unit identifier column; default the index.
    kind : {"ratio", "proportion"}
        Standardised ratio O/E with target 1, or a proportion with target the pooled proportion.
    overdispersion : {"none", "multiplicative", "additive"}
        ``"none"``: exact Poisson/binomial limits. ``"multiplicative"``: variances times the
        dispersion ratio :math:`\\phi = \\frac{1}{n}\\sum z_w^2` (applied only when > 1).
        ``"additive"``: a between-unit variance :math:`\\tau^2` (DerSimonian-Laird) added to each
        unit's within-unit variance :math:`s^2`.
    sr_method : {"SHMI", "CQC"}
        For ratios: ``"SHMI"`` works on the log scale (:math:`z = \\sqrt{E}\\log(O/E)`) and
        truncates the extreme ``trim`` share at each end, as the NHS SHMI does; ``"CQC"`` works on
        the square-root scale (:math:`z = 2\\sqrt{E}(\\sqrt{O/E} - 1)`) and winsorises.
        Proportions always use the arcsine square-root scale and winsorising.
        Unlike FunnelPlotR 0.5, CQC limits are back-transformed (squared) to the ratio scale.
    trim : float
        Share winsorised/truncated at each end before estimating overdispersion (default 10 %).
    levels : tuple
        Limit coverages (default 95 % and 99.8 %).
    target : float, optional
        Centre line; default 1 for ratios and :math:`\\sum O / \\sum n` for proportions.
    shmi_rounding : bool
        Round expected counts to 2 decimals first, as the published SHMI (and FunnelPlotR's
        default).

    Returns
    -------
    :class:`FunnelResult` with ``.to_frame()`` (one row per unit: value, z, limits at the unit's
    size, outlier flags and an assessment in words), ``.limits()`` (curves), ``.summary()``
    (phi, tau2, chi-square test of overdispersion, outliers) and ``.plot()``.

    References
    ----------
    Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
    2005;24:1185-1202.
    Spiegelhalter DJ. Handling over-dispersion of performance indicators. QSHC 2005;14:347-351.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods import funnel
    >>> clinics = pd.DataFrame({"clinic": list("ABCDEFGH"),
    ...                         "observed": [12, 30, 22, 41, 9, 60, 18, 35],
    ...                         "expected": [15.0, 20.0, 25.0, 40.0, 12.0, 45.0, 20.0, 30.0]})
    >>> f = funnel(clinics, "observed", "expected", group="clinic")
    >>> f.to_frame()[["group", "value", "lower_998", "upper_998", "assessment"]].round(2).head(3)
      group  value  lower_998  upper_998                               assessment
    0     A   0.80       0.39       2.08  within the variation expected by chance
    1     B   1.50       0.45       1.90  within the variation expected by chance
    2     C   0.88       0.49       1.79  within the variation expected by chance
    """
    kind, overdispersion, sr_method = _check_options(kind, overdispersion, sr_method)
    levels = _check_levels(levels)
    require_frame(data, "funnel: data")
    require_columns(data, [numerator, denominator, group], "funnel: data")
    if data.empty:
        raise InputError("funnel: data has no rows")
    frame = data[[c for c in (group, numerator, denominator) if c]].copy()
    if group is None:
        frame.insert(0, "group", data.index)
    else:
        frame = frame.rename(columns={group: "group"})
    if frame["group"].isna().any():
        row = frame.index[frame["group"].isna()][0]
        raise InputError(
            f"funnel: the unit column {group or 'index'!r} is missing at row {row}; name every unit"
        )
    frame = frame.rename(columns={numerator: "numerator", denominator: "denominator"})
    for column, name in (("numerator", numerator), ("denominator", denominator)):
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any():
            row = values.index[values.isna()][0]
            raise InputError(
                f"funnel: column {name!r} has a missing or non-numeric value at row {row}"
            )
        frame[column] = values.astype(float)
    if (frame["numerator"] < 0).any():
        row = frame.index[frame["numerator"] < 0][0]
        raise InputError(f"funnel: {numerator!r} must be a count >= 0; row {row} is negative")
    units = frame.groupby("group", sort=False, as_index=False)[["numerator", "denominator"]].sum()
    bad = units["denominator"] <= 0
    if bad.any():
        what = "expected count" if kind == "ratio" else "denominator"
        raise InputError(
            f"funnel: {what} ({denominator!r}) must be > 0 for every unit; "
            f"{int(bad.sum())} unit(s) have {units.loc[bad, 'denominator'].iloc[0]!r}, "
            f"e.g. {units.loc[bad, 'group'].iloc[0]!r}. Drop units without {what} before plotting."
        )
    if kind == "proportion":
        fractional = (units["numerator"] % 1 != 0) | (units["denominator"] % 1 != 0)
        if fractional.any():
            raise InputError(
                "funnel: a proportion needs whole-number counts; unit "
                f"{units.loc[fractional, 'group'].iloc[0]!r} has a fractional numerator or "
                "denominator"
            )
    if kind == "proportion" and (units["numerator"] > units["denominator"]).any():
        row = units.loc[units["numerator"] > units["denominator"], "group"].iloc[0]
        raise InputError(f"funnel: a proportion's numerator exceeds its denominator for unit {row}")
    if len(units) < 3:
        raise InputError(f"funnel: needs at least 3 units to compare; got {len(units)}")
    if kind == "ratio" and sr_method == "SHMI" and shmi_rounding:
        units["denominator"] = units["denominator"].round(2)
        if (units["denominator"] <= 0).any():
            raise InputError(
                "funnel: an expected count rounds to 0 at 2 decimals; turn shmi_rounding off"
            )
    if target is None:
        target = (
            1.0 if kind == "ratio" else float(units["numerator"].sum() / units["denominator"].sum())
        )
    if kind == "proportion" and not 0 < target < 1:
        raise InputError(
            f"funnel: the pooled proportion is {target!r}; a funnel needs some events and some "
            "non-events"
        )

    units["value"] = units["numerator"] / units["denominator"]
    y, s, centre = _transform(kind, sr_method, units["numerator"], units["denominator"], target)
    z = (y - centre) / s
    units["z"] = z
    estimates = overdispersion_estimates(
        z, s, trim, truncate=(kind == "ratio" and sr_method == "SHMI")
    )
    phi_used = max(estimates["phi"], 1.0) if overdispersion == "multiplicative" else 1.0
    tau2_used = estimates["tau2"] if overdispersion == "additive" else 0.0
    if overdispersion != "none":
        units["z_adjusted"] = (y - centre) / np.sqrt(phi_used * s**2 + tau2_used)

    limits = funnel_limits(
        units["denominator"], kind, target, levels, overdispersion, phi_used, tau2_used, sr_method
    )
    worst = ""
    for level in sorted(levels):
        tag = _level_tag(level)
        units[f"lower_{tag}"] = limits[f"lower_{tag}"].to_numpy()
        units[f"upper_{tag}"] = limits[f"upper_{tag}"].to_numpy()
        units[f"outlier_{tag}"] = np.select(
            [units["value"] > units[f"upper_{tag}"], units["value"] < units[f"lower_{tag}"]],
            ["high", "low"],
            "",
        )
        worst = tag
    inner = _level_tag(min(levels))
    units["assessment"] = np.select(
        [
            units[f"outlier_{worst}"] == "high",
            units[f"outlier_{worst}"] == "low",
            units[f"outlier_{inner}"] == "high",
            units[f"outlier_{inner}"] == "low",
        ],
        [
            f"higher than expected (beyond the {max(levels) * 100:g}% limit)",
            f"lower than expected (beyond the {max(levels) * 100:g}% limit)",
            f"possibly higher than expected (beyond the {min(levels) * 100:g}% limit only)",
            f"possibly lower than expected (beyond the {min(levels) * 100:g}% limit only)",
        ],
        "within the variation expected by chance",
    )
    return FunnelResult(
        units=units,
        kind=kind,
        target=float(target),
        overdispersion=overdispersion,
        sr_method=sr_method,
        levels=levels,
        phi=estimates["phi"],
        tau2=estimates["tau2"],
        n_used=estimates["n_used"],
        p_overdispersion=estimates["p_overdispersion"],
        trim=trim,
        labels={"x": x_label, "y": y_label, "title": title},
    )


def expected_counts(
    data: pd.DataFrame,
    observed: str,
    exposure: str,
    unit: str,
    strata: list[str] | str | None = None,
) -> pd.DataFrame:
    """Indirect standardisation: each unit's expected count at the reference (all-unit) rates.

    :math:`E_u = \\sum_s x_{us} \\cdot \\frac{\\sum_v O_{vs}}{\\sum_v x_{vs}}` where :math:`x` is
    the exposure (e.g. patient-months) and :math:`s` the strata (e.g. month, urbanicity).

    Returns a frame with ``unit``, ``observed``, ``expected`` and ``ratio`` (O/E), ready for
    :func:`funnel`.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.methods.funnel_plots import expected_counts
    >>> rows = pd.DataFrame({"clinic": ["A", "A", "B", "B"], "month": [1, 2, 1, 2],
    ...                      "rx": [10, 14, 30, 26], "patients": [1000, 1000, 2000, 2000]})
    >>> expected_counts(rows, "rx", "patients", "clinic", strata="month").round(3)
      clinic  observed  expected  ratio
    0      A      24.0    26.667   0.90
    1      B      56.0    53.333   1.05
    """
    strata = [strata] if isinstance(strata, str) else list(strata or [])
    where = "expected_counts: data"
    require_columns(data, [observed, exposure, unit, *strata], where)
    frame = data[[unit, *strata, observed, exposure]].copy()
    for column in (observed, exposure):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
        if frame[column].isna().any():
            raise InputError(f"{where}: column {column!r} has missing or non-numeric values")
    require_positive(
        frame, exposure, where, hint="a unit with no exposure has no expected count: drop it"
    )
    if strata:
        totals = frame.groupby(strata)[[observed, exposure]].transform("sum")
        rate = totals[observed] / totals[exposure]
    else:
        rate = frame[observed].sum() / frame[exposure].sum()
    frame["_expected"] = frame[exposure] * rate
    out = (
        frame.groupby(unit, sort=True)
        .agg(observed=(observed, "sum"), expected=("_expected", "sum"))
        .reset_index()
    )
    out["observed"] = out["observed"].astype(float)
    out["ratio"] = out["observed"] / out["expected"]
    return out
