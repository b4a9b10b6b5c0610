"""Key-findings builders of the region and national reports (evaluation.reports.findings):
the same numbers give an English and a Danish box, honest about uncertainty in both."""

from __future__ import annotations

from evaluation.i18n import translate
from evaluation.reports.findings import attendance_findings, national_findings, prescribing_findings
from evaluation.reports.present import key_findings


def _english_left(text: str) -> list[str]:
    from babel.messages.pofile import read_po

    from evaluation.i18n import LOCALE_DIR

    with open(LOCALE_DIR / "da" / "LC_MESSAGES" / "evaluation.po", "rb") as handle:
        messages = [m.id for m in read_po(handle) if m.id and m.string and m.string != m.id]
    return [m for m in messages if len(m) > 12 and "{" not in m and m in text]


def test_prescribing_findings_in_english_and_danish():
    args = ("nsaid", (-1.97, -3.0, -0.94), (0.98, 0.93, 1.04), 0.41, 120, 60, 140, 300)
    english = prescribing_findings(*args)
    assert english[0] == (
        "After the topic meeting, prescribing in the 120 clinics whose cluster took it up fell "
        "by 1.97 DDD per 1,000 listed patients per day (95% CI 0.94 to 3.00)."
    )
    assert english[1].endswith("we cannot tell this from no change.")
    assert english[2].startswith("The pre-trend test shows no sign of diverging trends (p = 0.41)")
    assert english[3].endswith("of the region's 300.")
    danish = prescribing_findings(*args, lang="da")
    assert danish[0].startswith("Udskrivningen efter temamødet i de 120 praksis")
    assert "faldt med 1,97 DDD pr. 1.000 tilmeldte patienter pr. dag" in danish[0]
    assert "tilfældig variation" in danish[1]
    assert not _english_left(" ".join(danish))
    assert key_findings(danish, lang="da").to_html().count("<li>") == 4
    drifting = prescribing_findings("nsaid", (-1, -2, -0.5), None, 0.01, 10, 0, 5, 20)
    assert len(drifting) == 3 and "drifting apart" in drifting[1]


def test_attendance_findings_in_english_and_danish():
    args = ("Sjælland", 0.734, 2, 17, 31, 400, (0.90, 0.87, 0.93), "nsaid", "nsaid")
    english = attendance_findings(*args)
    assert english[0] == "In Sjælland, 73% of invited GPs attended their cluster's meetings."
    assert english[3].endswith("prescribing of NSAIDs fell by 10.0% (95% CI 7.0% to 13.0%).")
    danish = attendance_findings(*args, lang="da")
    assert (
        danish[0]
        == "I Region Sjælland deltog 73\u00a0% af de inviterede læger i deres klynges møder."
    )
    assert "faldt med 10,0\u00a0%" in danish[3]
    assert not _english_left(" ".join(danish))


def test_national_findings_translate_the_known_estimates():
    pooled = [
        {"name": "att_ddd_per_1000_per_day", "estimate": -1.2, "ci_low": -2.0, "ci_high": -0.4},
        {
            "name": "its_level_rate_ratio_log",
            "estimate": 0.95,
            "ci_low": 0.9,
            "ci_high": 1.01,
            "ratio": True,
        },
    ]
    english = national_findings(5, 5, pooled)
    assert english[0] == "5 of 5 regional runs completed."
    assert english[1] == (
        "Nationally, prescribing after the topic meeting fell by 1.200 (95% CI 0.400 to 2.000)."
    )
    assert english[-1].startswith("Fewer than 10 regions")
    danish = national_findings(4, 5, pooled, lang="da")
    assert danish[0] == "4 af 5 regionale kørsler blev gennemført."
    assert danish[2].startswith("Udskrivningen ved temamødet, samlet for hele landet,")
    assert translate("Nationally, prescribing at the topic meeting", "da") in danish[2]
    assert not _english_left(" ".join(danish))
    assert national_findings(0, 5, []) == ["0 of 5 regional runs completed."]


def test_breakdown_and_hartung_knapp_sentences_in_both_languages():
    args = ("nsaid", (-1.97, -3.0, -0.94), None, 0.41, 120, 0, 140, 300)
    breakdown = {"value": 0.775, "months": 6, "ci_low": -2.1, "ci_high": -0.8}
    english = prescribing_findings(*args, breakdown=breakdown)
    assert len(english) == 4 and "at most 0.78 times" in english[2]
    danish = prescribing_findings(*args, lang="da", breakdown=breakdown)
    assert "højst glider 0,78 gange" in danish[2]
    assert not _english_left(" ".join(danish))
    none = prescribing_findings(*args, breakdown={**breakdown, "value": float("nan")})
    assert "no breakdown value" in none[2] and "95% CI -2.10 to -0.80" in none[2]
    always = prescribing_findings(*args, breakdown={**breakdown, "value": float("inf")})
    assert "for every departure from parallel trends tried" in always[2]

    pooled = [
        {"name": "att_ddd_per_1000_per_day", "estimate": -1.2, "ci_low": -2.0, "ci_high": -0.4}
    ]
    assert national_findings(5, 5, pooled, hartung_knapp=True)[-1].startswith(
        "With fewer than 10 regions, the national intervals are Hartung-Knapp intervals"
    )
    danish = national_findings(5, 5, pooled, lang="da", hartung_knapp=True)
    assert "Hartung-Knapp" in danish[-1] and not _english_left(" ".join(danish))
