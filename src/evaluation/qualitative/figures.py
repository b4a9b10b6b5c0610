"""Figures for the interview-themes notebook: theme frequencies and the co-occurrence heat map,
labelled in words a GP understands (:func:`~evaluation.qualitative.summary.readable_code`).
Each function takes the tidy frame of a query and returns the matplotlib Axes, so the notebook
only calls and shows.
"""

from __future__ import annotations

import pandas as pd

from evaluation.data.catalogue import readable_code


def theme_frequency_plot(frequencies: pd.DataFrame, *, ax=None, title: str | None = None):
    """Horizontal bars: how many coded passages each (sub)theme has, stacked by group
    (the columns of :func:`evaluation.qualitative.queries.code_frequencies`)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, max(3, 0.35 * len(frequencies))))
    readable = frequencies.rename(index=readable_code)
    readable.iloc[::-1].plot.barh(stacked=True, ax=ax, width=0.8)
    ax.set_xlabel("Number of coded passages")
    ax.set_ylabel("")
    ax.set_title(title or "How often each theme came up in the interviews")
    ax.legend(
        title=frequencies.columns.name or "",
        bbox_to_anchor=(1.01, 1),
        loc="upper left",
        frameon=False,
    )
    return ax


def cooccurrence_heatmap(matrix: pd.DataFrame, *, ax=None, title: str | None = None):
    """Heat map of :func:`evaluation.qualitative.queries.cooccurrence` (diagonal hidden: it is
    each theme's own count, which would swamp the colours)."""
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    if ax is None:
        size = max(5, 0.45 * len(matrix))
        # constrained layout makes room for every label inside the figure (they were clipped)
        _, ax = plt.subplots(figsize=(size + 2, size), layout="constrained")
    mask = np.eye(len(matrix), dtype=bool)
    readable = matrix.rename(index=readable_code, columns=readable_code)
    sns.heatmap(
        readable,
        mask=mask,
        annot=len(matrix) <= 20,
        fmt="d",
        cmap="Blues",
        square=True,
        ax=ax,
        cbar_kws={"label": "Pairs of passages coded close together"},
    )
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title or "Themes that were talked about together")
    # long theme names ("Enablers: data and feedback") ran off the figure's edge: slant them
    plt.setp(ax.get_xticklabels(), rotation=40, ha="right", rotation_mode="anchor")
    return ax
