"""The words, tables and figures of a cluster's feedback report (evaluation.reports.feedback),
and the cluster data and analyses they are drawn from (evaluation.data.cluster,
evaluation.methods.cluster_feedback), on small frames made here."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from evaluation.data.cluster import (
    clinic_letters,
    cluster_attendance,
    cluster_indicators,
    data_quality_notes,
    monthly_rate,
)
from evaluation.errors import InputError
from evaluation.methods.cluster_feedback import cluster_change, spc_in_phases
from evaluation.reports import feedback as fb
from evaluation.reports.disclosure import check_html


def _english_messages() -> set[str]:
    from babel.messages.pofile import read_po

    from evaluation.i18n import LOCALE_DIR

    with open(LOCALE_DIR / "da" / "LC_MESSAGES" / "evaluation.po", "rb") as handle:
        return {m.id for m in read_po(handle) if m.id and m.string and m.string != m.id}


def _no_english(text: str) -> None:
    left = [m for m in _english_messages() if len(m) > 12 and "{" not in m and m in text]
    assert not left, f"English in a Danish text: {left}"


def _funnel_frames(n_other: int = 30):
    """A funnel's unit frame and limits: the cluster's clinics K0001-K0003, others K1xxx."""
    rng = np.random.default_rng(3)
    ids = ["K0001", "K0002", "K0003"] + [f"K{1000 + i}" for i in range(n_other)]
    size = rng.uniform(50, 900, len(ids))
    value = np.r_[[1.9, 0.4, 1.0], rng.normal(1, 0.15, n_other)]
    units = pd.DataFrame(
        {
            "group": ids,
            "denominator": size,
            "value": value,
            "lower_998": 1 - 3 / np.sqrt(size),
            "upper_998": 1 + 3 / np.sqrt(size),
        }
    )
    sizes = np.linspace(40, 1000, 50)
    limits = pd.DataFrame(
        {
            "denominator": sizes,
            "lower_95": 1 - 2 / np.sqrt(sizes),
            "upper_95": 1 + 2 / np.sqrt(sizes),
            "lower_998": 1 - 3 / np.sqrt(sizes),
            "upper_998": 1 + 3 / np.sqrt(sizes),
        }
    )
    return units, limits


def test_only_the_clusters_own_clinics_are_labelled_on_the_funnel():
    import matplotlib.pyplot as plt

    from evaluation.reports.figures import value_labels

    open_before = set(plt.get_fignums())  # other tests in this worker may have left some open
    units, limits = _funnel_frames()
    letters = {"K0001": "A", "K0002": "B", "K0003": "C"}
    fig = fb.plot_practice_variation(units, limits, letters, lang="da")
    assert sorted(value_labels(fig)) == ["A", "B", "C"]
    drawn = " ".join(t.get_text() for ax in fig.axes for t in ax.findobj(matplotlib.text.Text))
    assert "K0" not in drawn and "K1" not in drawn  # no clinic id anywhere on the figure
    image = fb.figure_image(fig, fb.funnel_alt("nsaid", "da"))
    assert image.metadata["value_labels"] == value_labels(fig)
    assert "Tragtdiagram" in image.metadata["alt"]
    # closed: nothing left for the inline backend to show twice
    assert set(plt.get_fignums()) <= open_before


def test_the_funnel_sentence_names_clinics_by_letter_and_invites_a_conversation():
    units, _ = _funnel_frames()
    letters = {"K0001": "A", "K0002": "B", "K0003": "C"}
    sentence = fb.funnel_sentence(units, letters, "en")
    assert sentence.startswith("1 of the cluster's 3 clinics lie inside the funnel.")
    assert (
        "more than chance explains): A." in sentence
        and "less than chance explains): B." in sentence
    )
    assert "worth a conversation" in sentence and "K0" not in sentence
    danish = fb.funnel_sentence(units, letters, "da")
    assert "Over tragten" in danish and "Under tragten" in danish
    _no_english(danish)


def test_a_too_small_cluster_or_region_gets_a_sentence():
    assert "fewer than three clinics" in fb.funnel_withheld_sentence(40, 2, "en")
    assert "(7)" in fb.funnel_withheld_sentence(7, 5, "en")
    _no_english(fb.funnel_withheld_sentence(7, 2, "da") + fb.funnel_withheld_sentence(7, 5, "da"))


def test_the_change_sentence_is_honest_about_an_interval_that_includes_no_change():
    date = pd.Timestamp("2019-04-15")
    clear = {"rate_ratio": 0.86, "ci_low": 0.80, "ci_high": 0.93}
    unclear = {"rate_ratio": 0.96, "ci_low": 0.89, "ci_high": 1.04, "n_clinics": 33}
    text = fb.change_sentence("nsaid", clear, unclear, date, "en")
    assert "fell by 14.0% (95% CI 7.0% to 20.0%)." in text
    assert "we cannot tell this from no change" in text and "33 clinics" in text
    danish = fb.change_sentence("nsaid", clear, unclear, date, "da")
    assert "faldt med 14,0\u00a0%" in danish and "15. apr. 2019" in danish
    assert "vi kan ikke skelne det fra tilfældig variation" in danish
    _no_english(danish)
    assert "no meeting on the topic" in fb.change_sentence("nsaid", None, None, None, "en")
    assert "fewer than 12 months" in fb.change_sentence("nsaid", None, None, date, "en")


def test_attendance_hides_small_counts_and_the_shares_that_would_reveal_them():
    meetings = pd.DataFrame(
        {
            "meeting_id": ["M1", "M2", "M3"],
            "date": pd.to_datetime(["2019-03-01", "2020-03-01", "2021-03-01"]),
            "topic": ["nsaid", "organisation", "copd"],
            "n_invited": [26, 4, 20],
            "n_attended": [20, 3, 18],
            "share_attended": [20 / 26, 0.75, 0.9],
        }
    )
    table = fb.attendance_table(meetings, "da")
    cells = table.frame.to_numpy().tolist()
    assert cells[0][2:] == ["26", "77\u00a0%"]
    assert cells[1][2:] == ["<5", "<5"]  # 4 invited, 3 came
    assert cells[2][2:] == ["20", "<5"]  # 2 stayed away: the share would tell
    check_html(table.to_html(), 5)
    _no_english(table.to_html())
    fig = fb.plot_attendance(meetings, "en")
    xs = [len(line.get_xdata()) for line in fig.axes[0].get_lines()]
    assert sum(xs[1:]) == 1  # only the meeting with no small count is drawn
    sentence = fb.attendance_sentence(meetings, "en")
    assert sentence.startswith("Across its 3 meetings, 82% of the invited GPs came.")


def test_the_glance_table_suppresses_a_small_number_of_gps():
    glance = {
        "n_clinics": 2,
        "n_gps": 3,
        "listed_patients": 4321,
        "n_meetings": 0,
        "first_meeting": None,
        "last_meeting": None,
        "topics": [],
    }
    table = fb.at_a_glance_table(glance, "Klynge Nord", "Nordjylland", "da")
    values = dict(table.frame.to_numpy().tolist())
    assert values["Praksis"] == "<5" and values["Læger"] == "<5"
    assert values["Tilmeldte patienter"] == "4.321"
    assert fb.glance_sentence(glance, "da") == (
        "Der er ikke registreret nogen klyngemøder i perioden."
    )


def test_data_quality_notes_find_gaps_arrivals_departures_and_list_jumps():
    months = pd.date_range("2016-01-01", "2017-12-01", freq="MS")
    rows = []
    for clinic, span in (("K1", months), ("K2", months[3:]), ("K3", months[:-2])):
        for k, month in enumerate(span):
            if clinic == "K1" and 5 <= k <= 6:
                continue  # two months missing
            size = 1000 if not (clinic == "K3" and k >= 10) else 1500
            rows.append((clinic, month, "nsaid", 1.0, 1, size))
    prescribing = pd.DataFrame(
        rows,
        columns=["clinic_id", "month", "indicator", "ddd", "prescriptions", "listed_patients"],
    )
    notes = data_quality_notes(prescribing, ["K1", "K2", "K3"], "nsaid", ("2016-01", "2017-12"))
    found = {(r.clinic_id, r.note): r for r in notes.itertuples()}
    assert set(found) == {("K1", "missing"), ("K2", "joined"), ("K3", "left"), ("K3", "list_jump")}
    assert found["K1", "missing"].n_months == 2
    assert found["K1", "missing"].month == pd.Timestamp("2016-06-01")
    assert found["K3", "list_jump"].change == pytest.approx(0.5)
    letters = {"K1": "A", "K2": "B", "K3": "C"}
    english = fb.data_quality_sentences(notes, letters, "en")
    assert "Clinic A lacks data for 2 months, the first in Jun 2016." in english
    assert "Clinic B has data only from Apr 2016 (it joined later)." in english
    danish = fb.data_quality_sentences(notes, letters, "da")
    assert "Praksis A mangler data for 2 måneder, første gang i jun. 2016." in danish
    _no_english(" ".join(danish))
    clean = data_quality_notes(prescribing, ["K1"], "antibiotics", ("2016-01", "2017-12"))
    assert clean.iloc[0]["note"] == "missing"  # a clinic with no rows at all
    assert fb.data_quality_sentences(clean.iloc[0:0], letters, "en")[0].startswith(
        "No months are missing"
    )


def test_cluster_data_helpers():
    meetings = pd.DataFrame(
        {
            "meeting_id": ["M1", "M2", "M3", "M4"],
            "cluster_id": ["C1", "C1", "C1", "C2"],
            "date": pd.to_datetime(["2019-01-10", "2019-05-02", "2020-02-01", "2019-01-01"]),
            "topic": ["organisation", "dependence_producing", "nsaid", "nsaid"],
        }
    )
    assert cluster_indicators(meetings, "C1") == ["dependence_producing", "nsaid"]
    assert cluster_indicators(meetings, "C1", ["antibiotics"]) == ["antibiotics"]
    with pytest.raises(InputError, match="indicators"):
        cluster_indicators(meetings, "C1", ["aspirin"])
    clinics = pd.DataFrame(
        {"clinic_id": [f"K{i:04d}" for i in range(30)], "cluster_id": ["C1"] * 29 + ["C2"]}
    )
    letters = clinic_letters(clinics, "C1")
    assert list(letters.values())[:2] == ["A", "B"] and list(letters.values())[-3:] == [
        "AA",
        "AB",
        "AC",
    ]
    assert "K0029" not in letters
    with pytest.raises(InputError, match="C9"):
        clinic_letters(clinics, "C9")
    attendance = pd.DataFrame(
        {
            "meeting_id": ["M1", "M1", "M2", "M4"],
            "gp_id": ["G1", "G2", "G1", "G3"],
            "attended": [True, False, True, True],
        }
    )
    table = cluster_attendance(meetings, attendance, "C1")
    assert table[["n_invited", "n_attended"]].to_numpy().tolist() == [[2, 1], [1, 1], [0, 0]]
    assert np.isnan(table["share_attended"].iloc[2])


def _step_series(step: float, months: int = 96, split: int = 40, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    month = pd.date_range("2016-01-01", periods=months, freq="MS")
    listed = np.full(months, 40_000)
    rate = 25 * np.where(np.arange(months) >= split, step, 1.0)
    ddd = rng.poisson(rate * listed * month.days_in_month / 1000).astype(float)
    rows = pd.DataFrame(
        {
            "clinic_id": "K1",
            "month": month,
            "indicator": "nsaid",
            "ddd": ddd,
            "prescriptions": 1,
            "listed_patients": listed,
        }
    )
    return monthly_rate(rows, "nsaid")


def test_the_clusters_step_at_its_meeting_is_recovered():
    series = _step_series(0.8)
    split = series["month"].iloc[40]
    result = cluster_change(series, split)
    assert result["ci_low"] < 0.8 < result["ci_high"] < 1
    assert (result["months_before"], result["months_after"]) == (40, 56)
    assert cluster_change(series, None) is None
    assert cluster_change(series, series["month"].iloc[-5]) is None  # too few months after


def test_the_control_chart_is_split_at_the_meeting_or_kept_whole():
    series = _step_series(0.8)
    split = series["month"].iloc[40]
    chart = spc_in_phases(series, "ddd_per_1000_per_day", "month", split)
    centres = chart.groupby("phase", sort=False)["centre"].first()
    assert list(centres.index) == ["before", "after"]
    assert centres["after"] / centres["before"] == pytest.approx(0.8, abs=0.01)
    whole = spc_in_phases(series, "ddd_per_1000_per_day", "month", series["month"].iloc[-3])
    assert set(whole["phase"]) == {"all"}
    sentence = fb.spc_sentence(chart, "NSAID", "da")
    assert sentence.startswith("Den gennemsnitlige månedlige rate var 25,0 før klyngens møde")
    _no_english(sentence)


def test_the_report_takes_its_language_from_the_notebooks_lang_parameter():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from evaluation.reports.html import render_report

    cell = new_code_cell(
        "",
        outputs=[
            new_output("display_data", data={"text/markdown": "# Tilbagemelding til klynge C001"}),
            new_output("display_data", data={"text/markdown": "## Klyngen i tal\n\nTekst."}),
        ],
    )
    page = render_report(
        new_notebook(cells=[cell]),
        {
            "status": "failed",
            "parameters": {"region": "sjaelland", "cluster_id": "C001", "lang": "da"},
            "synthetic": True,
        },
    )
    assert '<html lang="da"' in page
    for words in (
        "Syntetiske demodata",
        "Detaljer om kørslen",
        "Indhold",
        "Fejlede",
        "Sjælland · klynge C001",
        "<title>Tilbagemelding til klynge C001",
    ):
        assert words in page
    assert page.count("Tilbagemelding til klynge C001</h1>") == 1  # the title, not twice
    english = render_report(new_notebook(cells=[cell]), {"parameters": {"lang": "en"}})
    assert '<html lang="en"' in english and "Run details" in english
