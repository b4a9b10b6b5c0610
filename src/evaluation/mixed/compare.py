"""Statistics of the join: do clusters that raise a theme differ in effect or attendance?

- :func:`compare_by_theme`: per theme and outcome, clusters that raised the theme against those
  that did not, by Mann-Whitney U (with the rank-biserial correlation and the common-language
  effect size) and Welch's t-test (with Hedges' g and the interval of the difference), each family
  of tests (one outcome, one test, all themes) corrected for multiple testing (Benjamini-Hochberg
  by default). ``significant`` follows the corrected Mann-Whitney p-value: with a few dozen
  interviewed clusters a rank test does not lean on normality.
- :func:`correlate_frequency`: Spearman's correlation of a theme's frequency (or share) with the
  outcome, corrected likewise.
- :func:`typology`: clusters by effect x engagement, in quadrants split at the medians (or by
  k-means on the standardised pair), each type with its dominant themes.

Interview studies are small: every table reports its group sizes, and a theme raised by (almost)
every or (almost) no cluster is listed as not comparable rather than tested.
All computations are pingouin's (tests, effect sizes, corrections) and scikit-learn's (k-means).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.checks import require_columns, require_unique

__all__ = ["compare_by_theme", "correlate_frequency", "typology", "CompareError"]

CORRECTIONS = ("fdr_bh", "holm", "bonf", "sidak", "fdr_by", "none")
CODE_LEVELS = ("code", "theme", None)
#: the columns of a quantitized table (:func:`evaluation.mixed.quantitizing.quantitize`) read here
QUANTITIZED_COLUMNS = ["cluster_id", "code", "theme", "level"]


class CompareError(InputError):
    """The comparison cannot be made as asked (unknown options, too few clusters)."""


def _outcome_frame(outcomes: pd.DataFrame, columns: list[str], where: str) -> pd.DataFrame:
    require_columns(outcomes, ["cluster_id", *columns], f"{where}: outcomes")
    require_unique(
        outcomes,
        ["cluster_id"],
        f"{where}: outcomes",
        what="one row per cluster",
        hint="join the outcomes per cluster first",
        error=CompareError,
    )
    return outcomes.set_index("cluster_id")[columns]


def _quantitized(quantitized: pd.DataFrame, value: str, where: str, code_level) -> None:
    require_columns(quantitized, [*QUANTITIZED_COLUMNS, value], f"{where}: quantitized")
    if code_level not in CODE_LEVELS:
        raise CompareError(f"code_level {code_level!r}: expected 'code', 'theme' or None")


def _adjust(frame: pd.DataFrame, column: str, method: str, families: list[str]) -> pd.Series:
    import pingouin as pg

    adjusted = pd.Series(np.nan, index=frame.index)
    for _, family in frame.groupby(families, sort=False):
        p = family[column]
        ok = p.notna()
        if not ok.any():
            continue
        if method == "none":
            adjusted.loc[p.index[ok]] = p[ok]
        else:
            adjusted.loc[p.index[ok]] = pg.multicomp(p[ok].to_numpy(), method=method)[1]
    return adjusted


def _by_cluster(
    quantitized: pd.DataFrame, code_level: str | None, value: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clusters x codes of one quantity at ``code_level`` (None: both), and each code's theme
    and level."""
    rows = quantitized if code_level is None else quantitized[quantitized["level"] == code_level]
    wide = rows.pivot(index="cluster_id", columns="code", values=value)
    return wide, rows.drop_duplicates("code").set_index("code")[["theme", "level"]]


def _check_correction(correction: str) -> None:
    if correction not in CORRECTIONS:
        raise CompareError(f"correction {correction!r}: expected one of {', '.join(CORRECTIONS)}")


def compare_by_theme(
    quantitized: pd.DataFrame,
    outcomes: pd.DataFrame,
    outcome_columns: list[str],
    *,
    code_level: str | None = "code",
    min_group: int = 3,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> pd.DataFrame:
    """Clusters with and without each theme, compared on each outcome.

    Parameters
    ----------
    quantitized : :func:`evaluation.mixed.quantitizing.quantitize` output.
    outcomes : one row per cluster: cluster_id and the outcome columns (e.g. the effect estimate
        and the attendance rate); clusters with a missing outcome leave that outcome's tests.
    code_level : "code" (challenges and enablers), "theme" (top level) or None (both).
    min_group : fewest clusters on each side for a test; otherwise the row says why not.
    alpha : significance level of the corrected Mann-Whitney p-value (``significant``).
    correction : pingouin's multiple-testing method, per outcome and test over the themes.

    Returns
    -------
    One row per outcome and code: outcome, code, theme, level, n_with, n_without, mean_with,
    mean_without, median_with, median_without, difference (mean with - without) with Welch's
    interval diff_ci_low/diff_ci_high, welch_t, welch_dof, welch_p_value,
    welch_p_value_adjusted, hedges_g, mwu_u, mwu_p_value, mwu_p_value_adjusted, rank_biserial,
    cles, significant, note.

    References
    ----------
    Mann HB, Whitney DR. On a test of whether one of two random variables is stochastically
    larger than the other. Ann Math Stat 1947;18:50-60.
    Benjamini Y, Hochberg Y. Controlling the false discovery rate. JRSS B 1995;57:289-300.

    Examples
    --------
    >>> import pandas as pd
    >>> quantitized = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(8)],
    ...                             "code": "Data/Challenges", "theme": "Data", "level": "code",
    ...                             "presence": [True] * 4 + [False] * 4})
    >>> outcomes = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(8)],
    ...                          "effect": [-2.0, -3.0, -2.5, -4.0, -9.0, -8.0, -10.0, -7.5]})
    >>> table = compare_by_theme(quantitized, outcomes, ["effect"])
    >>> table[["code", "n_with", "difference", "mwu_p_value"]].round(3)
                  code  n_with  difference  mwu_p_value
    0  Data/Challenges       4        5.75        0.029
    """
    import pingouin as pg

    where = "compare_by_theme"
    _check_correction(correction)
    _quantitized(quantitized, "presence", where, code_level)
    values = _outcome_frame(outcomes, outcome_columns, where)
    presence, codes = _by_cluster(quantitized, code_level, "presence")
    presence = presence.astype(bool)
    rows = []
    for outcome in outcome_columns:
        y = values[outcome].reindex(presence.index)
        known = y.notna()
        for code in presence.columns:
            has = presence.loc[known, code]
            with_ = y[known][has].to_numpy(dtype=float)
            without = y[known][~has].to_numpy(dtype=float)
            row = {
                "outcome": outcome,
                "code": code,
                "theme": codes.loc[code, "theme"],
                "level": codes.loc[code, "level"],
                "n_with": len(with_),
                "n_without": len(without),
                "mean_with": with_.mean() if len(with_) else np.nan,
                "mean_without": without.mean() if len(without) else np.nan,
                "median_with": np.median(with_) if len(with_) else np.nan,
                "median_without": np.median(without) if len(without) else np.nan,
                "note": "",
            }
            if min(len(with_), len(without)) < min_group:
                row["note"] = (
                    f"not compared: {len(with_)} of the clusters with this outcome raised it and "
                    f"{len(without)} did not; each side needs at least {min_group}"
                )
                rows.append(row)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pingouin's notes on ties and small samples
                mwu = pg.mwu(with_, without, alternative="two-sided").iloc[0]
                welch = pg.ttest(with_, without, correction=True).iloc[0]
                hedges = pg.compute_effsize(with_, without, eftype="hedges")
            row.update(
                {
                    "difference": with_.mean() - without.mean(),
                    "diff_ci_low": float(welch["CI95"][0]),
                    "diff_ci_high": float(welch["CI95"][1]),
                    "welch_t": float(welch["T"]),
                    "welch_dof": float(welch["dof"]),
                    "welch_p_value": float(welch["p_val"]),
                    "hedges_g": float(hedges),
                    "mwu_u": float(mwu["U_val"]),
                    "mwu_p_value": float(mwu["p_val"]),
                    "rank_biserial": float(mwu["RBC"]),
                    "cles": float(mwu["CLES"]),
                }
            )
            rows.append(row)
    columns = [
        "outcome",
        "code",
        "theme",
        "level",
        "n_with",
        "n_without",
        "mean_with",
        "mean_without",
        "median_with",
        "median_without",
        "difference",
        "diff_ci_low",
        "diff_ci_high",
        "welch_t",
        "welch_dof",
        "welch_p_value",
        "welch_p_value_adjusted",
        "hedges_g",
        "mwu_u",
        "mwu_p_value",
        "mwu_p_value_adjusted",
        "rank_biserial",
        "cles",
        "significant",
        "note",
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    table["welch_p_value_adjusted"] = _adjust(table, "welch_p_value", correction, ["outcome"])
    table["mwu_p_value_adjusted"] = _adjust(table, "mwu_p_value", correction, ["outcome"])
    table["significant"] = table["mwu_p_value_adjusted"] < alpha
    table.attrs.update(correction=correction, alpha=alpha)
    return table


def correlate_frequency(
    quantitized: pd.DataFrame,
    outcomes: pd.DataFrame,
    outcome_columns: list[str],
    *,
    value: str = "frequency",
    code_level: str | None = "code",
    method: str = "spearman",
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    min_clusters: int = 5,
) -> pd.DataFrame:
    """Correlation of each theme's ``value`` (frequency, share or coverage) with each outcome
    over the clusters (Spearman's by default), corrected for testing many themes like
    :func:`compare_by_theme`.

    Returns
    -------
    One row per outcome and code: outcome, code, theme, level, n, r, ci_low, ci_high,
    p_value, p_value_adjusted, significant, note. A theme with no variation (all zero, say) is
    noted, not tested.

    Examples
    --------
    >>> import pandas as pd
    >>> quantitized = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(6)],
    ...                             "code": "Data/Challenges", "theme": "Data", "level": "code",
    ...                             "frequency": [0, 1, 2, 3, 4, 5]})
    >>> outcomes = pd.DataFrame({"cluster_id": [f"C{i}" for i in range(6)],
    ...                          "effect": [-9.0, -8.0, -6.0, -7.0, -3.0, -1.0]})
    >>> correlate_frequency(quantitized, outcomes, ["effect"])[["code", "n", "r"]].round(3)
                  code  n      r
    0  Data/Challenges  6  0.943
    """
    import pingouin as pg

    where = "correlate_frequency"
    _check_correction(correction)
    if value not in ("frequency", "share", "coverage"):
        raise CompareError(f"value {value!r}: expected frequency, share or coverage")
    _quantitized(quantitized, value, where, code_level)
    values = _outcome_frame(outcomes, outcome_columns, where)
    wide, codes = _by_cluster(quantitized, code_level, value)
    rows = []
    for outcome in outcome_columns:
        y = values[outcome].reindex(wide.index)
        known = y.notna()
        for code in wide.columns:
            x = wide.loc[known, code].to_numpy(dtype=float)
            row = {
                "outcome": outcome,
                "code": code,
                "theme": codes.loc[code, "theme"],
                "level": codes.loc[code, "level"],
                "n": int(known.sum()),
                "note": "",
            }
            if known.sum() < min_clusters or np.unique(x).size < 2:
                row["note"] = "not tested: " + (
                    f"fewer than {min_clusters} clusters"
                    if known.sum() < min_clusters
                    else f"the {value} is the same in every cluster"
                )
                rows.append(row)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = pg.corr(x, y[known].to_numpy(dtype=float), method=method).iloc[0]
            row.update(
                {
                    "r": float(result["r"]),
                    "ci_low": float(result["CI95"][0]),
                    "ci_high": float(result["CI95"][1]),
                    "p_value": float(result["p_val"]),
                }
            )
            rows.append(row)
    table = pd.DataFrame(rows).reindex(
        columns=[
            "outcome",
            "code",
            "theme",
            "level",
            "n",
            "r",
            "ci_low",
            "ci_high",
            "p_value",
            "p_value_adjusted",
            "significant",
            "note",
        ]
    )
    table["p_value_adjusted"] = _adjust(table, "p_value", correction, ["outcome"])
    table["significant"] = table["p_value_adjusted"] < alpha
    table.attrs.update(correction=correction, alpha=alpha, method=method, value=value)
    return table


QUADRANT_LABELS = {
    (True, True): "strong effect, high attendance",
    (True, False): "strong effect, low attendance",
    (False, True): "weak effect, high attendance",
    (False, False): "weak effect, low attendance",
}


def typology(
    outcomes: pd.DataFrame,
    quantitized: pd.DataFrame,
    *,
    effect: str = "estimate",
    engagement: str = "attendance_rate",
    desired: str = "decrease",
    method: str = "quadrants",
    code_level: str = "code",
    top: int = 3,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clusters by effect x engagement, with the themes that mark each type.

    A *strong* effect is one beyond the median in the ``desired`` direction ("decrease": more
    negative, as for every prescribing indicator of the catalogue; "increase" the other way);
    *high* attendance is above the median. ``method="kmeans"`` groups the standardised pair into
    four k-means clusters instead and names each by the quadrant of its centre.

    A type's dominant themes are the codes raised by at least half of its clusters whose mean
    share of passages there most exceeds their mean share over all clusters (lift).

    Returns
    -------
    (members, types): members = cluster_id, effect, engagement, type; types = type, clusters,
    mean effect, mean engagement, dominant_themes (text), dominant (list of codes).

    Examples
    --------
    >>> import pandas as pd
    >>> outcomes = pd.DataFrame({"cluster_id": ["C1", "C2", "C3", "C4"],
    ...                          "estimate": [-9.0, -2.0, -8.0, -1.0],
    ...                          "attendance_rate": [0.9, 0.9, 0.6, 0.6]})
    >>> quantitized = pd.DataFrame({"cluster_id": ["C1", "C2", "C3", "C4"], "code": "Data",
    ...                             "theme": "Data", "level": "code",
    ...                             "presence": [True, False, True, False],
    ...                             "share": [0.4, 0.0, 0.3, 0.0]})
    >>> members, types = typology(outcomes, quantitized)
    >>> members[["cluster_id", "type"]]
      cluster_id                            type
    0         C1  strong effect, high attendance
    1         C2    weak effect, high attendance
    2         C3   strong effect, low attendance
    3         C4     weak effect, low attendance
    """
    where = "typology"
    if desired not in ("decrease", "increase"):
        raise CompareError(f"desired {desired!r}: expected decrease or increase")
    if method not in ("quadrants", "kmeans"):
        raise CompareError(f"method {method!r}: expected quadrants or kmeans")
    _quantitized(quantitized, "share", where, code_level)
    require_columns(quantitized, ["presence"], f"{where}: quantitized")
    values = _outcome_frame(outcomes, [effect, engagement], where).dropna()
    if len(values) < 4:
        raise CompareError(
            f"a typology needs at least 4 clusters with both {effect} and {engagement}; "
            f"found {len(values)}"
        )
    sign = -1.0 if desired == "decrease" else 1.0
    strength = sign * values[effect]
    if method == "quadrants":
        strong = strength > strength.median()
        high = values[engagement] > values[engagement].median()
        labels = [QUADRANT_LABELS[(bool(s), bool(h))] for s, h in zip(strong, high)]
    else:
        from sklearn.cluster import KMeans
        from sklearn.preprocessing import StandardScaler

        pair = StandardScaler().fit_transform(np.column_stack([strength, values[engagement]]))
        groups = KMeans(n_clusters=4, n_init=10, random_state=seed).fit(pair)
        centres = groups.cluster_centers_
        names = {
            k: QUADRANT_LABELS[(bool(c[0] > 0), bool(c[1] > 0))] for k, c in enumerate(centres)
        }
        # two k-means groups may fall in one quadrant: number them so they stay apart
        seen: dict[str, int] = {}
        for k in sorted(names, key=lambda k: (names[k], k)):
            seen[names[k]] = seen.get(names[k], 0) + 1
            if list(names.values()).count(names[k]) > 1:
                names[k] = f"{names[k]} ({seen[names[k]]})"
        labels = [names[k] for k in groups.labels_]
    members = pd.DataFrame(
        {
            "cluster_id": values.index,
            "effect": values[effect].to_numpy(),
            "engagement": values[engagement].to_numpy(),
            "type": labels,
        }
    )

    share = _by_cluster(quantitized, code_level, "share")[0].reindex(members["cluster_id"])
    presence = _by_cluster(quantitized, code_level, "presence")[0].reindex(members["cluster_id"])
    overall = share.mean()
    types = []
    for label, group in members.groupby("type", sort=True):
        ids = group["cluster_id"]
        raised = presence.loc[ids].astype(float).mean()
        lift = (share.loc[ids].mean() - overall)[raised >= 0.5].sort_values(ascending=False)
        dominant = [code for code, gain in lift.items() if gain > 0][:top]
        types.append(
            {
                "type": label,
                "clusters": len(group),
                f"mean {effect}": group["effect"].mean(),
                f"mean {engagement}": group["engagement"].mean(),
                "dominant_themes": "; ".join(dominant) if dominant else "(none stands out)",
                "dominant": dominant,
            }
        )
    return members, pd.DataFrame(types)
