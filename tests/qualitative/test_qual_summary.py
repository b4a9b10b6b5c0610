"""The interview-themes notebook's tables, built in the package: theme counts, agreement in
words, the pairs of themes raised together, quotes as Markdown, and opening the store (or the
demo built for one run)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from evaluation.qualitative.store import Store
from evaluation.qualitative.summary import (
    agreement_summary,
    kappa_reading,
    quotes_markdown,
    readable_code,
    region_themes,
    theme_table,
    top_pairs,
)


@pytest.fixture(scope="module")
def nordjylland(demo_project):
    with Store.open(demo_project / "coding.sqlite") as store:
        yield region_themes(store, region="Nordjylland", coder="anna", second_coder="bo")


def test_readable_code_is_the_theme_then_each_aspect_in_lower_case():
    assert readable_code("Obtaining data/Challenges") == "Obtaining data: challenges"
    assert readable_code("Funding") == "Funding"
    assert readable_code("Data/ICPC codes/Missing") == "Data: ICPC codes: missing"
    assert readable_code("(all codes)") == "(all codes)"


def test_theme_table_counts_passages_and_interviews_per_theme_and_aspect(nordjylland):
    frequencies = nordjylland.frequencies
    table = nordjylland.theme_table()
    assert table.index.names == ["theme", "aspect"]
    assert list(table.columns) == [
        "coded passages",
        "coordinators who raised it",
        "share of passages %",
    ]
    total = int(frequencies.to_numpy().sum())
    aspects = table[table.index.get_level_values("aspect") != "all"]
    themes = table[table.index.get_level_values("aspect") == "all"]
    # every coded passage is counted once among the aspects and once among the themes
    assert aspects["coded passages"].sum() == themes["coded passages"].sum() == total
    # each theme's row comes first, then its aspects, in codebook order
    assert table.index[0][1] == "all"
    theme_names = list(dict.fromkeys(frequencies.index.str.split("/").str[0]))
    assert list(themes.index.get_level_values("theme")) == theme_names
    first = theme_names[0]
    in_first = frequencies[frequencies.index.str.startswith(first + "/")]
    assert table.loc[(first, "all"), "coordinators who raised it"] == int(
        (in_first.sum() > 0).sum()
    )
    assert table.loc[(first, "all"), "share of passages %"] == round(
        100 * in_first.to_numpy().sum() / total, 1
    )
    assert set(aspects.index.get_level_values("aspect")) <= {"challenges", "enablers"}


def test_theme_table_of_hand_made_counts():
    frequencies = pd.DataFrame(
        {"i1": [1, 2, 0], "i2": [0, 0, 4]},
        index=["Funding", "Funding/Challenges", "Support/Enablers"],
    )
    table = theme_table(frequencies)
    assert table.index.tolist() == [
        ("Funding", "all"),
        ("Funding", "(the theme itself)"),
        ("Funding", "challenges"),
        ("Support", "all"),
        ("Support", "enablers"),
    ]
    assert table["coded passages"].tolist() == [3, 1, 2, 4, 4]
    assert table["coordinators who raised it"].tolist() == [1, 1, 1, 1, 1]
    assert table["share of passages %"].tolist() == [42.9, 14.3, 28.6, 57.1, 57.1]


def test_kappa_reading_uses_the_landis_koch_bands():
    kappas = [-0.5, -1e-12, 0.0, 0.2, 0.21, 0.4, 0.6, 0.61, 0.8, 0.81, 1.0, np.nan]
    assert kappa_reading(kappas) == [
        "poor",
        "slight",  # rounding noise below zero is no disagreement
        "slight",
        "slight",
        "fair",
        "fair",
        "moderate",
        "substantial",
        "substantial",
        "almost perfect",
        "almost perfect",
        "not used by either",
    ]


def test_agreement_summary_is_in_codebook_order_with_all_themes_last(nordjylland):
    raw = nordjylland.agreement
    table = nordjylland.agreement_summary()
    assert list(table.columns) == [
        "characters marked by anna",
        "characters marked by bo",
        "percent agreement",
        "Cohen's kappa",
        "Krippendorff's alpha",
        "reading",
    ]
    assert table.index[-1] == "All themes" and len(table) == len(raw)
    order = [readable_code(path) for path in nordjylland.code_order if path in set(raw["code"])]
    assert list(table.index[:-1]) == order
    overall = raw.iloc[-1]
    assert (
        table.loc["All themes", "characters marked by anna"] == overall["both"] + overall["only_a"]
    )
    assert table.loc["All themes", "characters marked by bo"] == overall["both"] + overall["only_b"]
    assert table.loc["All themes", "Cohen's kappa"] == round(overall["cohen_kappa"], 2)
    assert table.loc["All themes", "reading"] == kappa_reading([overall["cohen_kappa"]])[0]
    assert not (np.signbit(table["Cohen's kappa"]) & (table["Cohen's kappa"] == 0)).any()


def test_agreement_summary_without_a_second_coder_is_an_empty_table():
    table = agreement_summary(pd.DataFrame(), coder="anna", second_coder="bo")
    assert table.empty and "reading" in table.columns and table.index.name == "theme"


def test_top_pairs_counts_each_pair_once_and_never_a_theme_with_itself(nordjylland):
    matrix = nordjylland.cooccurrence
    pairs = nordjylland.top_pairs(3)
    assert list(pairs.columns) == ["code", "other_code", "pairs"] and len(pairs) == 3
    assert (pairs["code"] != pairs["other_code"]).all()
    upper = [matrix.iloc[i, j] for i in range(len(matrix)) for j in range(i + 1, len(matrix))]
    assert pairs["pairs"].tolist() == sorted(upper, reverse=True)[:3]
    for pair in pairs.itertuples():
        assert matrix.loc[pair.code, pair.other_code] == pair.pairs
    assert top_pairs(matrix, top=1).iloc[0].tolist() == pairs.iloc[0].tolist()


def test_quotes_markdown_names_interviews_not_clusters(nordjylland):
    markdown = nordjylland.quotes_markdown()
    labels = nordjylland.interview_labels()
    assert list(labels.values()) == [f"Interview {n}" for n in range(1, 6)]
    assert markdown.count("\n> — Interview ") == len(nordjylland.quotes) > 0
    assert [line[4:] for line in markdown.split("\n") if line.startswith("### ")] == list(
        dict.fromkeys(nordjylland.quotes["theme"])
    )
    assert not re.search(r"\bC\d{3}\b", markdown)


def test_quotes_markdown_shows_markup_literally_and_says_when_there_is_none():
    quotes = pd.DataFrame(
        {
            "theme": ["Funding"],
            "code": ["Funding/Enablers"],
            "case": ["C007"],
            "text": ["We got *some* money\n  for <b>rooms</b> # 2"],
        }
    )
    markdown = quotes_markdown(quotes, {"C007": "Interview 2"})
    # escaped by evaluation.markup: Markdown characters with a backslash, HTML as entities
    assert "> We got \\*some\\* money for &lt;b&gt;rooms&lt;/b&gt; \\# 2" in markdown
    assert markdown.endswith("— Interview 2 (enablers)\n")
    assert quotes_markdown(quotes.iloc[:0], {}).startswith("*No passage in this region")


def test_open_store_opens_the_store_it_is_given(demo_project, capsys):
    from evaluation.qualitative.demo import open_store

    with open_store(demo_project / "coding.sqlite", demo_project / "no-data") as store:
        assert store.summary()["documents"] == 25
    assert capsys.readouterr().out == ""  # no demo was built, so nothing is said


def test_open_store_builds_the_demo_for_one_run_and_removes_it(
    synthetic_small, tmp_path, monkeypatch, capsys
):
    import tempfile

    from evaluation.qualitative.demo import open_store

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    missing = tmp_path / "no-store" / "coding.sqlite"
    with open_store(missing, synthetic_small, per_region=4) as store:
        assert len(store.cases()) == 20  # 4 interviews in each of the 5 regions
        assert len(list(scratch.iterdir())) == 1  # the demo, in a folder of this call's own
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "built the demo project (invented interviews)" in said
    assert list(scratch.iterdir()) == []  # removed as the block ended
    assert not missing.parent.exists()  # nothing written where the store was expected

    # an error inside the block still removes the demo
    with pytest.raises(RuntimeError, match="stop"):
        with open_store(missing, synthetic_small, per_region=4):
            raise RuntimeError("stop")
    assert list(scratch.iterdir()) == []


def test_open_store_without_store_or_data_says_both(tmp_path):
    from evaluation.errors import EvaluationError
    from evaluation.qualitative.demo import DemoDataMissing, open_store

    with pytest.raises(DemoDataMissing, match=r"no coding store at .*none\.sqlite") as caught:
        with open_store(tmp_path / "none.sqlite", tmp_path / "no-data"):
            pass
    assert isinstance(caught.value, EvaluationError)
    assert "workbench data synth" in str(caught.value)
