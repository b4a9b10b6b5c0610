"""Figure alt text: what a figure shows in at most 300 characters, and the hook that puts it on
every inline figure, the 2x (retina) ones included."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from evaluation.reports.figures import (
    ALT_KEY,
    LABELS_KEY,
    MAX_ALT_CHARS,
    describe,
    figure_alt_text,
    install,
)


@pytest.fixture
def busy_figure():
    """60 labelled bars, a long title and a legend of twelve entries: the alt text that once
    listed 60 numbers."""
    fig, ax = plt.subplots()
    for group in range(12):
        bars = ax.bar(
            [f"C{group:02d}{i}" for i in range(5)],
            [10 + group + i for i in range(5)],
            label=f"Cluster group {group} with a rather long descriptive name",
        )
        ax.bar_label(bars)
    ax.set(
        title="Patients treated per clinic in every cluster of the region, by month " * 2,
        xlabel="Clinic",
        ylabel="Number of patients",
    )
    ax.legend(title="Cluster")
    yield fig
    plt.close(fig)


def test_alt_text_summarises_value_labels_and_stays_short(busy_figure):
    alt = figure_alt_text(busy_figure)
    assert len(alt) <= MAX_ALT_CHARS
    assert alt.startswith("Figure: Patients treated per clinic")
    assert alt.endswith("60 values labelled, from 10 to 25.")
    assert "x axis: Clinic; y axis: Number of patients" in alt
    assert "legend" not in alt, "a legend of twelve long entries gives way to title and axes"
    labels = describe(busy_figure)[LABELS_KEY]
    assert len(labels) == 60 and labels[:3] == ["10", "11", "12"], "all kept for the check"


def test_a_title_too_long_for_alt_text_is_cut_between_words(busy_figure):
    busy_figure.axes[0].set_title("Patients treated per clinic, month by month " * 10)
    alt = figure_alt_text(busy_figure)
    assert len(alt) <= MAX_ALT_CHARS
    assert alt.endswith("month… 60 values labelled, from 10 to 25.")


def test_small_multiples_are_named_once():
    fig, axes = plt.subplots(2, 3)
    for number, ax in enumerate(axes.flat):
        ax.plot([0, 1], [0, number])
        ax.set(title=f"Cluster C00{number}", xlabel="Month", ylabel="Rate per 1,000")
    alt = figure_alt_text(fig)
    plt.close(fig)
    assert alt == (
        "Figure: 6 panels (Cluster C000, Cluster C001, Cluster C002, Cluster C003 ...); "
        "x axis: Month; y axis: Rate per 1,000."
    )


def test_a_figure_without_labels_says_so():
    fig, _ = plt.subplots()
    assert figure_alt_text(fig) == "Figure: a chart without titles or axis labels."
    assert describe(fig) == {ALT_KEY: "Figure: a chart without titles or axis labels."}
    plt.close(fig)


def test_the_hook_adds_alt_text_to_plain_and_retina_png_figures():
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    shell = InteractiveShell.instance()
    try:
        assert install(shell) and install(shell), "installing twice is harmless"
        fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
        ax.bar(["a", "b"], [12, 30])
        ax.set(title="GPs attending", ylabel="number of GPs")
        for formats in (("png",), ("retina",)):
            # set_matplotlib_formats replaces the figure printer; the alt text must survive it
            set_matplotlib_formats(*formats)
            data, metadata = shell.display_formatter.format(fig)
            png = metadata["image/png"]
            assert png[ALT_KEY] == "Figure: GPs attending; y axis: number of GPs."
            assert "image/png" in data
        assert png["width"] > 0 and png["height"] > 0, "retina keeps its display size"
        plt.close(fig)
    finally:
        InteractiveShell.clear_instance()
