"""Disclosure control: the suppression helper and the check over rendered HTML."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evaluation.errors import MissingColumnsError
from evaluation.reports.disclosure import (
    DisclosureError,
    check_html,
    find_small_counts,
    is_count_column,
    suppress_count,
    suppress_small_counts,
)


def test_suppress_small_counts_hides_1_to_4_in_count_columns_only():
    table = pd.DataFrame(
        {
            "cluster": ["A", "B", "C", "D"],
            "n_gps": [0, 1, 4, 5],
            "listed patients": [2, 900, 1200, 50],
            "share_attended": [0.5, 0.2, 1.0, 3.0],
        }
    )
    out = suppress_small_counts(table)
    assert out["n_gps"].tolist() == [0, "<5", "<5", 5]
    assert out["listed patients"].tolist() == ["<5", 900, 1200, 50]
    assert out["share_attended"].tolist() == [0.5, 0.2, 1.0, 3.0]
    assert table["n_gps"].tolist() == [0, 1, 4, 5], "the input is not changed"
    assert suppress_small_counts(table, suppress_zero=True)["n_gps"].tolist()[0] == "<5"
    assert suppress_small_counts(table, columns=["share_attended"], threshold=1)[
        "share_attended"
    ].tolist() == ["<1", "<1", 1.0, 3.0]
    with pytest.raises(MissingColumnsError, match="missing column 'users'; it has 'cluster'"):
        suppress_small_counts(table, columns=["users"])


def test_threshold_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("EVALUATION_DISCLOSURE_THRESHOLD", "10")
    assert suppress_count(7) == "<10"
    assert suppress_small_counts(pd.Series([7, 12], name="n")).tolist() == ["<10", 12]
    monkeypatch.setenv("EVALUATION_DISCLOSURE_THRESHOLD", "ten")
    with pytest.raises(ValueError, match="not a whole number"):
        suppress_count(3)


def test_count_column_names():
    assert all(
        is_count_column(c)
        for c in ["n", "N", "count", "n_clinics", "GPs", "Number of patients", "users"]
    )
    assert not any(
        is_count_column(c)
        for c in [
            "users_per_1000",
            "rate",
            "mean patients",
            "% attended",
            "cluster_id",
            "ddd",
            "estimate",
            "month",
        ]
    )


def test_check_finds_small_counts_in_rendered_dataframes():
    plain = pd.DataFrame({"cluster": ["A", "B"], "n_patients": [3, 40]}).to_html()
    leaks = find_small_counts(plain)
    assert [str(leak) for leak in leaks] == ["table 1, column 'n_patients', row '0': shows 3"]
    assert (
        find_small_counts(
            suppress_small_counts(pd.read_html(__import__("io").StringIO(plain))[0]).to_html()
        )
        == []
    )

    # a MultiIndex (rowspans in the index) and column groups (colspans)
    index = pd.MultiIndex.from_tuples(
        [("Nord", "C1"), ("Nord", "C2"), ("Syd", "C3")], names=["region", "cluster"]
    )
    columns = pd.MultiIndex.from_tuples([("2019", "n"), ("2019", "rate"), ("2020", "n")])
    grouped = pd.DataFrame(
        [[10, 1.0, 2], [20, 2.0, 30], [4, 3.0, 40]], index=index, columns=columns
    )
    found = {(leak.column, leak.row, leak.value) for leak in find_small_counts(grouped.to_html())}
    assert found == {("2020 n", "Nord / C1", "2"), ("2019 n", "Syd / C3", "4")}
    assert find_small_counts(grouped.to_html(), threshold=2) == []


def test_check_reads_figure_labels_and_raises_a_clear_error():
    # reports rendered before figures carried data-value-labels listed them in the alt text
    html = (
        '<img alt="Figure: Attendance; y axis: number of GPs. Values labelled: 12, 3, 40." '
        'src="x.png"><img alt="Figure: Rates; y axis: DDD per 1,000 patients per day. '
        'Values labelled: 1.5, 2." src="y.png">'
    )
    with pytest.raises(DisclosureError) as caught:
        check_html(html, report="reports/x.html")
    message = str(caught.value)
    assert "Disclosure check failed for reports/x.html: 1 count(s) below 5" in message
    assert "figure 1" in message and "shows 3" in message
    assert "suppress_count()" in message
    check_html(html.replace("12, 3, 40", "12, &lt;5, 40"))  # suppressed: passes


def test_check_reads_the_value_labels_a_figure_carries_beside_its_short_alt_text():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evaluation.reports.figures import describe

    fig, ax = plt.subplots()
    bars = ax.bar(["C1", "C2", "C3"], [12, 3, 40])
    ax.bar_label(bars)
    ax.set(title="Attendance", ylabel="number of GPs")
    metadata = describe(fig)
    plt.close(fig)
    assert "3" not in metadata["alt"].split("labelled")[1].split(",")[0]
    img = (
        f'<img alt="{metadata["alt"]}" src="x.png" '
        f"data-value-labels='{json.dumps(metadata['value_labels'])}'>"
    )
    leaks = find_small_counts(img)
    assert [(leak.where, leak.value) for leak in leaks] == [("figure 1", "3")]
    assert find_small_counts(img.replace('"3"', '"&lt;5"')) == []
