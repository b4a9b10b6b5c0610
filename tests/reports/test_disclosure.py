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
    out = suppress_small_counts(table, columns=["n_gps", "listed patients"])
    assert out["n_gps"].tolist() == [0, "<5", "<5", 5]
    assert out["listed patients"].tolist() == ["<5", 900, 1200, 50]
    # by meaning: n_gps is a canonical person count; "listed patients" is not a canonical name,
    # so a table that declares its units is suppressed as declared ...
    assert suppress_small_counts(table)["listed patients"].tolist() == [2, 900, 1200, 50]
    # ... and only a table that declares nothing is judged by its column names
    undeclared = table.rename(columns={"n_gps": "number of doctors"})
    assert suppress_small_counts(undeclared)["listed patients"].tolist()[0] == "<5"
    assert out["share_attended"].tolist() == [0.5, 0.2, 1.0, 3.0]
    assert table["n_gps"].tolist() == [0, 1, 4, 5], "the input is not changed"
    assert suppress_small_counts(table, suppress_zero=True)["n_gps"].tolist()[0] == "<5"
    assert out.attrs["persons"] == ["n_gps", "listed patients"], "the copy declares its units"
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
    assert [str(leak) for leak in leaks] == ["table 1, column 'n_patients', row '0'"]
    assert [leak.value for leak in leaks] == ["3"]  # kept for the caller, never in the message
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
    assert "figure 1" in message and "3" not in message.split("would be shown")[1].split("Pass")[0]
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


# --- issue 14: disclosure by meaning, secondary suppression ----------------------------------


def _page(*tables) -> str:
    return "<html><body><main>" + "".join(t.to_html() for t in tables) + "</main></body></html>"


def test_a_count_of_persons_is_known_by_its_meaning_not_its_name():
    from evaluation.reports.present import reader_table

    # the table of issue 14: "invited" does not read like a count, but the schemas mark it
    table = pd.DataFrame({"cluster": ["C001", "C002"], "invited": [3, 40], "attended": [0, 31]})
    leaks = find_small_counts(_page(reader_table(table)))
    assert [(leak.column, leak.row, leak.value) for leak in leaks] == [("Invited", "C001", "3")]
    assert suppress_small_counts(table)["invited"].tolist() == ["<5", 40]
    # headers renamed for the reader keep the mark: the HTML carries it, not the words
    shown = reader_table(table, {"cluster": "Klynge", "invited": "Inviterede"})
    assert [leak.column for leak in find_small_counts(_page(shown))] == ["Inviterede"]
    # a declared table's other columns are not persons, whatever their names say
    things = table.assign(n_prescriptions=[2, 9])
    assert [leak.column for leak in find_small_counts(_page(reader_table(things)))] == ["Invited"]


def test_a_derived_table_declares_its_unit_when_recorded_and_the_check_uses_it():
    from evaluation.records import decode, encode
    from evaluation.reports.disclosure import declare_persons, person_columns
    from evaluation.reports.present import reader_table

    derived = pd.DataFrame({"quarter": ["2019Q1", "2019Q2"], "came": [2, 30], "rooms": [3, 4]})
    # undeclared, "came" reads like nothing: this is what name guessing misses
    assert find_small_counts(_page(reader_table(derived))) == []
    back = decode(encode("turnout", derived, persons=["came"]))
    assert back.attrs["persons"] == ["came"] and person_columns(back) == ["came"]
    leaks = find_small_counts(_page(reader_table(back)))
    assert [(leak.column, leak.value) for leak in leaks] == [("Came", "2")]
    assert find_small_counts(_page(reader_table(derived, persons=["came"])))[0].value == "2"
    assert suppress_small_counts(declare_persons(derived, ["came"]))["came"].tolist() == ["<5", 30]
    assert suppress_small_counts(back).attrs["persons"] == ["came"]
    with pytest.raises(ValueError, match="not columns of the table"):
        encode("turnout", derived, persons=["went"])


def _published_grid(table) -> list[list[str]]:
    """The body cells of a reader table's HTML, as a reader copies them out."""
    import lxml.html

    document = lxml.html.fromstring(table.to_html())
    return [[td.text_content() for td in tr.xpath("./td")] for tr in document.xpath("//tbody/tr")]


def _attack(grid: list[list[object]], total_row: int, total_column: int) -> dict:
    """Recover hidden cells by subtraction: any row or column with exactly one unknown cell
    gives it away (total minus the others, or the others' sum); repeat until nothing moves."""
    known = {
        (r, c): float(value.replace(",", ""))
        for r, row in enumerate(grid)
        for c, value in enumerate(row)
        if c > 0 and value.replace(",", "").isdigit()
    }
    cells = {(r, c) for r in range(len(grid)) for c in range(1, len(grid[0]))}
    groups = [[(r, c) for r in range(len(grid))] for c in range(1, len(grid[0]))]
    groups += [[(r, c) for c in range(1, len(grid[0]))] for r in range(len(grid))]
    recovered = {}
    moved = True
    while moved:
        moved = False
        for group in groups:
            unknown = [cell for cell in group if cell not in known]
            if len(unknown) != 1:
                continue
            cell = unknown[0]
            total = (total_row, cell[1]) if group[0][1] == group[-1][1] else (cell[0], total_column)
            others = sum(known[m] for m in group if m != cell and m != total)
            value = others if cell == total else known[total] - others
            known[cell] = recovered[cell] = value
            moved = True
    assert cells >= set(recovered)
    return recovered


def test_secondary_suppression_leaves_nothing_to_recover_by_subtraction():
    from evaluation.reports.present import reader_table

    # invitations per cluster and year, with a row of column totals and a column of row totals
    counts = pd.DataFrame(
        {
            "cluster": ["C001", "C002", "C003", "C004"],
            "y2019": [3, 40, 22, 15],
            "y2020": [30, 2, 25, 18],
        }
    )
    counts["total"] = counts["y2019"] + counts["y2020"]
    table = pd.concat(
        [counts, pd.DataFrame([{"cluster": "All", **counts.drop(columns="cluster").sum()}])],
        ignore_index=True,
    )
    columns = ["y2019", "y2020", "total"]
    small = {(0, 1): 3, (1, 2): 2}  # (row, column in the grid): the true small counts

    # primary suppression alone: the attack gets both small counts back from the totals
    primary_only = suppress_small_counts(table, columns=columns)
    recovered = _attack(_published_grid(reader_table(primary_only)), total_row=4, total_column=3)
    assert {cell: recovered[cell] for cell in small} == small

    protected = suppress_small_counts(table, columns=columns, total_row=4, row_total="total")
    grid = _published_grid(reader_table(protected))
    assert grid[0][1] == "<5" and grid[1][2] == "<5"
    assert sum(row.count("(hidden)") for row in grid) >= 2
    recovered = _attack(grid, total_row=4, total_column=3)
    assert not set(recovered) & set(small), f"recovered {recovered}"
    # and what is hidden is hidden in every row and column holding a small count
    for r, c in small:
        assert sum(1 for cell in grid[r][1:] if not cell.isdigit()) >= 2
        assert sum(1 for row in grid if not row[c].isdigit()) >= 2


def test_secondary_suppression_needs_a_total_row_it_can_find():
    table = pd.DataFrame({"gps": [3, 40, 43]}, index=["A", "B", "All"])
    assert suppress_small_counts(table, total_row="All")["gps"].tolist() == ["<5", 40, "(hidden)"]
    with pytest.raises(ValueError, match="not a row label"):
        suppress_small_counts(table, total_row="Total")
