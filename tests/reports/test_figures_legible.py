"""Issue 12's figure defects, pinned: what a reader sees must not overlap, clip or need red-green
vision. Each figure is drawn as a report saves it (bbox "tight") and measured in display units."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation.reports.present import OKABE_ITO  # noqa: E402

OKABE_HEX = {c.lower() for c in OKABE_ITO.values()}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _draw(ax):
    figure = ax.get_figure()
    figure.canvas.draw()
    return figure.canvas.get_renderer()


def test_forest_plot_heterogeneity_note_sits_below_the_axis_label():
    from evaluation.methods import pool

    regions = pd.DataFrame(
        {
            "region": ["Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"],
            "log_rr": [-0.121, -0.043, -0.102, -0.171, 0.012],
            "se": [0.031, 0.052, 0.038, 0.041, 0.064],
        }
    )
    result = pool(regions, estimate="log_rr", se="se")
    ax = result.plot(x_label="Rate ratio after the meeting", title="NSAID prescribing")
    renderer = _draw(ax)
    label = ax.xaxis.label.get_window_extent(renderer)
    notes = [t for t in ax.texts if t.get_text().startswith("I²")]
    assert len(notes) == 1
    note = notes[0].get_window_extent(renderer)
    assert not label.overlaps(note) and note.y1 <= label.y0 + 0.5


def test_control_chart_legend_covers_no_data_point():
    from evaluation.methods import spc

    rng = np.random.default_rng(3)
    series = pd.DataFrame({"q": np.arange(24), "attended": rng.binomial(300, 0.7, 24)})
    series["invited"] = 300
    chart = spc(series, x="q", chart="pp", numerator="attended", denominator="invited")
    ax = chart.plot()
    renderer = _draw(ax)
    legend = ax.get_legend().get_window_extent(renderer)
    points = ax.transData.transform(chart.to_frame()[["x", "y"]].to_numpy(dtype=float))
    inside = [legend.contains(x, y) for x, y in points]
    assert not any(inside)


def test_typology_plot_uses_okabe_ito_and_no_red_green_pair():
    from evaluation.mixed import typology_plot

    types = [
        "strong effect, high attendance",
        "strong effect, low attendance",
        "weak effect, high attendance",
        "weak effect, low attendance",
    ]
    members = pd.DataFrame(
        {
            "cluster_id": [f"C{i}" for i in range(8)],
            "effect": [-9, -8, -7, -6, -2, -1, 0, 1],
            "engagement": [0.9, 0.5, 0.85, 0.55, 0.9, 0.5, 0.8, 0.6],
            "type": [
                types[0],
                types[1],
                types[0],
                types[1],
                types[2],
                types[3],
                types[2],
                types[3],
            ],
        }
    )
    ax = typology_plot(members, {})
    colours = set()
    for collection in ax.collections:
        for rgba in collection.get_facecolors():
            colours.add(mcolors.to_hex(rgba).lower())
    assert colours and colours <= OKABE_HEX
    assert not {OKABE_ITO["bluish_green"].lower(), OKABE_ITO["vermillion"].lower()} <= colours


def test_cooccurrence_heat_map_labels_stay_inside_the_figure():
    from evaluation.data.catalogue import readable_code
    from evaluation.qualitative.figures import cooccurrence_heatmap

    codes = [
        "challenges_obtaining_data",
        "enablers_data_and_feedback",
        "challenges_time_and_workload",
        "enablers_coordinator_support",
        "challenges_engaging_colleagues",
    ]
    matrix = pd.DataFrame(np.arange(25).reshape(5, 5) % 7, index=codes, columns=codes, dtype=int)
    ax = cooccurrence_heatmap(matrix)
    assert readable_code(codes[0]) in [t.get_text() for t in ax.get_xticklabels()]
    figure = ax.get_figure()
    renderer = _draw(ax)
    box = figure.bbox
    for text in [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title]:
        extent = text.get_window_extent(renderer)
        assert box.x0 - 0.5 <= extent.x0 and extent.x1 <= box.x1 + 0.5, text.get_text()
        assert box.y0 - 0.5 <= extent.y0 and extent.y1 <= box.y1 + 0.5, text.get_text()


def test_a_methods_figure_leaves_the_okabe_ito_colour_cycle_in_place():
    # new_axes applies the seaborn theme; it must not bring back seaborn's red-green cycle
    from evaluation.methods._plotting import new_axes

    ax = new_axes()
    cycle = {mcolors.to_hex(c).lower() for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]}
    assert cycle <= OKABE_HEX and ax is not None
