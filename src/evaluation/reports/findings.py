"""Key-findings sentences of the region and national reports, in Danish or English.

Notebooks 00-02 build their "Key findings" boxes from the estimates they record; these
builders write the same sentences from the same numbers with a ``lang`` argument, so that a
region's report can be rendered in Danish too. Each returns a list of sentences for
:func:`evaluation.reports.present.key_findings`.

- :func:`prescribing_findings` -- notebook 01 (difference-in-differences, interrupted time
  series, the pre-trend test, the clinics each analysis uses);
- :func:`attendance_findings` -- notebook 02 (attendance, fading clusters, absentees, dose
  response);
- :func:`national_findings` -- notebook 00 (completed runs, pooled estimates).

>>> first = prescribing_findings("nsaid", (-1.97, -3.0, -0.94), None, 0.41, 120, 0, 140, 300,
...                              lang="da")[0]
>>> first.split(" faldt med ")[1]
'1,97 DDD pr. 1.000 tilmeldte patienter pr. dag (95 %-KI 0,94 til 3,00).'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evaluation.i18n import N_, check_lang, translate
from evaluation.reports.feedback import indicator_name, rate_label, topic_name
from evaluation.reports.present import (
    describe_change,
    format_count,
    format_interval,
    format_number,
    format_p_value,
    format_percent,
)

__all__ = [
    "ESTIMATE_WORDS",
    "attendance_findings",
    "breakdown_finding",
    "national_findings",
    "prescribing_findings",
]

#: what the region notebooks' recorded estimates measure, as the subject of a sentence
ESTIMATE_WORDS = {
    "att_ddd_per_1000_per_day": N_("Nationally, prescribing after the topic meeting"),
    "its_level_rate_ratio_log": N_("Nationally, prescribing at the topic meeting"),
}


def _(message: str, lang: str) -> str:
    return translate(message, lang)


def prescribing_findings(
    indicator: str,
    did: Sequence[float],
    its: Sequence[float] | None,
    pretrend_p: float,
    n_treated: int,
    n_series: int,
    n_before_after: int,
    n_clinics: int,
    lang: str = "en",
    breakdown: Mapping | None = None,
) -> list[str]:
    """Notebook 01's key findings.

    Parameters
    ----------
    indicator : the indicator key (its rate is DDD per 1,000 listed patients per day).
    did : (att, ci_low, ci_high) of the staggered difference-in-differences.
    its : (rate_ratio, ci_low, ci_high) of the step in the time series, or None.
    pretrend_p : p-value of the joint pre-trend test.
    n_treated, n_series, n_before_after, n_clinics : clinics in each analysis and in all.
    breakdown : the sensitivity analysis, if run: ``value`` (the breakdown value of the
        relative-magnitude bounds, NaN when there is none, inf when none of the bounds tried
        breaks it), ``months`` (the post-meeting months averaged) and ``ci_low``/``ci_high``
        (the average's interval under parallel trends); see :func:`breakdown_finding`.
    """
    lang = check_lang(lang)
    label = rate_label(indicator, lang)
    unit = label.split(", ", 1)[1] if ", " in label else label
    what = _(
        N_("After the topic meeting, prescribing in the {n} clinics whose cluster took it up"),
        lang,
    ).format(n=format_count(n_treated, lang))
    findings = [describe_change(*did, what=what, unit=unit, digits=2, lang=lang)]
    if its is not None and n_series:
        what = _(N_("At the meeting, prescribing in {n} clinics with a full time series"), lang)
        findings.append(
            describe_change(
                *its, what=what.format(n=format_count(n_series, lang)), ratio=True, lang=lang
            )
        )
    verdict = (
        N_("The pre-trend test shows no sign of diverging trends (p = {p})")
        if pretrend_p >= 0.05
        else N_("The pre-trend test finds the groups drifting apart before the meeting (p = {p})")
    )
    findings.append(
        _(verdict, lang).format(p=format_p_value(pretrend_p, lang))
        + _(N_("; it has little power, so this is no proof of parallel trends."), lang)
    )
    if breakdown is not None:
        findings.append(
            breakdown_finding(
                breakdown["value"],
                breakdown["months"],
                (breakdown["ci_low"], breakdown["ci_high"]),
                lang=lang,
            )
        )
    findings.append(
        _(
            N_(
                "The analyses use different clinics: {did} (DiD), {its} (time series) and "
                "{before_after} (before/after) of the region's {all}."
            ),
            lang,
        ).format(
            did=format_count(n_treated, lang),
            its=format_count(n_series, lang),
            before_after=format_count(n_before_after, lang),
            all=format_count(n_clinics, lang),
        )
    )
    return findings


def breakdown_finding(
    value: float, months: int, interval: Sequence[float], lang: str = "en"
) -> str:
    """What the breakdown value of Rambachan & Roth's relative-magnitude bounds means, in words.

    ``value`` is NaN when the average post-meeting change is not clear of zero even under exact
    parallel trends, inf when it stays clear for every bound tried; ``interval`` is that
    average's confidence interval under parallel trends.

    >>> breakdown_finding(0.775, 6, (-2.0, -1.0)).split(" by at most ")[1]
    '0.78 times the largest month-to-month drift before it (the breakdown value).'
    >>> breakdown_finding(float("nan"), 3, (-1.0, 0.5), lang="da")[:40]
    'Selv hvis udviklingen var helt parallel,'
    """
    lang = check_lang(lang)
    months = format_count(months, lang)
    if value != value:  # NaN: no breakdown value
        return _(
            N_(
                "Even if the trends were exactly parallel, the average change over the first "
                "{months} months after the meeting is not clearly different from no change "
                "(95% CI {interval}), so there is no breakdown value."
            ),
            lang,
        ).format(months=months, interval=format_interval(*interval, lang=lang))
    if value == float("inf"):
        return _(
            N_(
                "The average change over the first {months} months after the meeting stays "
                "clear of no change for every departure from parallel trends tried."
            ),
            lang,
        ).format(months=months)
    return _(
        N_(
            "The average change over the first {months} months after the meeting stays clear "
            "of no change as long as the trends after the meeting drift apart by at most "
            "{value} times the largest month-to-month drift before it (the breakdown value)."
        ),
        lang,
    ).format(months=months, value=format_number(value, 2, lang))


def attendance_findings(
    region_name: str,
    attendance_rate: float,
    clusters_fading: int,
    n_clusters: int,
    gps_flagged: int,
    n_gps: int,
    dose_ratio: Sequence[float],
    topic: str,
    indicator: str,
    lang: str = "en",
) -> list[str]:
    """Notebook 02's key findings.

    ``dose_ratio``: (rate ratio, ci_low, ci_high) of prescribing in clinics where all GPs
    attended the topic meeting against clinics where none did.
    """
    lang = check_lang(lang)
    return [
        _(
            N_("In {region}, {share} of invited GPs attended their cluster's meetings."), lang
        ).format(region=region_name, share=format_percent(attendance_rate, 0, lang)),
        _(
            N_(
                "{fading} of {n} clusters are fading (attendance falling year by year beyond "
                "what chance explains)."
            ),
            lang,
        ).format(fading=format_count(clusters_fading, lang), n=format_count(n_clusters, lang)),
        _(N_("{flagged} of {n} GPs missed two or more meetings in a row."), lang).format(
            flagged=format_count(gps_flagged, lang), n=format_count(n_gps, lang)
        ),
        describe_change(
            *dose_ratio,
            ratio=True,
            lang=lang,
            what=_(
                N_(
                    "Comparing clinics where all GPs attended the meeting on {topic} with "
                    "clinics where none did, prescribing of {name}"
                ),
                lang,
            ).format(topic=topic_name(topic, lang), name=indicator_name(indicator, lang)),
        ),
    ]


def national_findings(
    n_completed: int,
    n_regional: int,
    pooled: Sequence[Mapping],
    lang: str = "en",
    hartung_knapp: bool = False,
) -> list[str]:
    """Notebook 00's key findings: how many regional runs completed, then up to three pooled
    estimates and the caveat on pooling few regions.

    ``pooled``: dicts with ``name`` (the recorded estimate's name), ``estimate``, ``ci_low``,
    ``ci_high`` and ``ratio`` (True for a rate ratio, already back-transformed), and ``label``
    for names not in :data:`ESTIMATE_WORDS`. ``hartung_knapp``: the intervals are
    Hartung-Knapp's (:func:`evaluation.methods.pool` with ``ci="hk"``, its default below 10
    estimates); the caveat then says they allow for the few regions, not that they may be too
    narrow.
    """
    lang = check_lang(lang)
    findings = [
        _(N_("{completed} of {n} regional runs completed."), lang).format(
            completed=format_count(n_completed, lang), n=format_count(n_regional, lang)
        )
    ]
    for item in list(pooled)[:3]:
        words = ESTIMATE_WORDS.get(item["name"])
        what = _(words, lang) if words else str(item.get("label", item["name"]))
        findings.append(
            describe_change(
                item["estimate"],
                item["ci_low"],
                item["ci_high"],
                what=what,
                ratio=bool(item.get("ratio")),
                digits=1 if item.get("ratio") else 3,
                lang=lang,
            )
        )
    if pooled and hartung_knapp:
        findings.append(
            _(
                N_(
                    "With fewer than 10 regions, the national intervals are Hartung-Knapp "
                    "intervals, wide enough to allow for how little a handful of regions tells "
                    "about their differences."
                ),
                lang,
            )
        )
    elif pooled:
        findings.append(
            _(
                N_(
                    "Fewer than 10 regions are pooled, so the national intervals may be too narrow."
                ),
                lang,
            )
        )
    return findings
