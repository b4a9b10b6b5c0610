"""The presentation layer: every number formatted for its reader, in English and Danish."""

from __future__ import annotations

import re

import lxml.html
import numpy as np
import pandas as pd
import pytest

from evaluation.errors import EvaluationError, MissingColumnsError
from evaluation.reports.present import (
    MISSING,
    OKABE_ITO,
    describe_change,
    format_estimate,
    format_month,
    format_p_value,
    key_findings,
    reader_table,
)

RAW = re.compile(r"\b(NaN|NaT|None|True|False|nan)\b|[a-z]+_[a-z_]+|\d\.\d{5,}")


@pytest.fixture
def result() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["Hovedstaden", "Sjælland", "Nordjylland"],
            "odds_ratio": [0.752, 1.02, np.nan],
            "ci_low": [0.684, 0.95, np.nan],
            "ci_high": [0.826, 1.10, np.nan],
            "p_value": [0.0000001, 0.61, np.nan],
            "n_clinics": [580, 312, 140],
            "took_up": [True, False, None],
            "first_treated_month": pd.to_datetime(["2019-04-01", "2020-11-01", None]),
            "n_beyond_limits": [3.0, 0.0, 12.0],
        },
        index=[7, 8, 9],
    )


@pytest.mark.parametrize("lang", ["en", "da"])
def test_no_raw_value_reaches_a_reader(result, lang):
    table = reader_table(result, estimate="odds_ratio", lang=lang)
    html = table.to_html()
    cells = [c.text_content() for c in lxml.html.fromstring(html).iter("td", "th")]
    assert cells and not [c for c in cells if RAW.search(c)], cells
    assert "7" not in table.frame.iloc[:, 0].tolist()  # no index column
    assert MISSING in table.frame.to_numpy().ravel()
    assert any(MISSING in note for note in table.notes)  # the dash is explained


def test_estimate_and_interval_share_one_cell_on_their_own_scale(result):
    frame = reader_table(result, estimate="odds_ratio").frame
    assert frame["Odds ratio (95% CI)"].tolist()[:2] == [
        "0.75 (0.68 to 0.83)",
        "1.02 (0.95 to 1.10)",
    ]
    assert "Lower 95% limit" not in frame.columns
    assert frame["p"].tolist() == ["<0.001", "0.61", MISSING]
    assert frame["Took up the topic"].tolist() == ["yes", "no", MISSING]
    assert frame["First treated month"].tolist() == ["Apr 2019", "Nov 2020", MISSING]
    assert frame["Points beyond the limits"].tolist() == ["3", "0", "12"]


def test_danish_numbers_dates_and_words(result):
    frame = reader_table(result, estimate="odds_ratio", lang="da").frame
    assert frame.iloc[0, 1] == "0,75 (0,68 til 0,83)"
    assert frame["p"].tolist()[0] == "<0,001"
    assert frame.iloc[0].tolist()[4] == "ja"
    assert "apr. 2019" in frame.iloc[0].tolist()
    assert format_month("2019-05-01", lang="da") == "maj 2019"
    assert (
        format_estimate(1234.5, 1000, 1500, digits=1, lang="da") == "1.234,5 (1.000,0 til 1.500,0)"
    )


def test_cells_are_escaped():
    frame = pd.DataFrame({"theme": ["<img src=x onerror=alert(1)>"]})
    root = lxml.html.fromstring(reader_table(frame).to_html())
    assert not root.xpath("//img") and "onerror" in root.text_content()


def test_p_values_as_journals_print_them():
    assert [format_p_value(p) for p in (0.0004, 0.001, 0.0123, 0.049, 0.1, 0.456)] == [
        "<0.001",
        "0.001",
        "0.012",
        "0.049",
        "0.10",
        "0.46",
    ]


def test_honest_sentences():
    significant = describe_change(0.90, 0.87, 0.93, what="NSAID prescribing", ratio=True)
    assert significant == "NSAID prescribing fell by 10.0% (95% CI 7.0% to 13.0%)."
    unclear = describe_change(-0.3, -1.2, 0.6, what="Prescribing", unit="DDD")
    assert "cannot tell this from no change" in unclear
    danish = describe_change(-0.3, -1.2, 0.6, what="Ordinationen", unit="DDD", lang="da")
    assert "tilfældig variation" in danish and "-0,3" in danish


def test_bad_requests_name_what_is_wrong(result):
    with pytest.raises(MissingColumnsError, match="'odds'"):
        reader_table(result, columns=["odds"])
    with pytest.raises(EvaluationError, match="interval"):
        reader_table(result.drop(columns=["ci_low"]), estimate="odds_ratio")
    with pytest.raises(EvaluationError, match="lang"):
        reader_table(result, lang="sv")
    with pytest.raises(EvaluationError, match="1 to 5 sentences"):
        key_findings([])


def test_key_findings_box():
    html = key_findings(["Attendance stayed high.", "Prescribing fell."], lang="da").to_html()
    root = lxml.html.fromstring(html)
    assert root.get("class") == "key-findings" and root.get("lang") == "da"
    assert root.findtext("h2") == "Vigtigste resultater" and len(root.findall(".//li")) == 2


def test_palette_is_okabe_ito():
    assert OKABE_ITO["blue"] == "#0072B2" and OKABE_ITO["vermillion"] == "#D55E00"
