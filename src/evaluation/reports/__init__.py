"""Reports: executed notebooks as self-contained HTML, the run's index, disclosure control.

- :mod:`~evaluation.reports.html`        one executed notebook -> one self-contained HTML report
- :mod:`~evaluation.reports.index`       the run's index.html from its manifest
- :mod:`~evaluation.reports.disclosure`  no count below the threshold (5) in a published table
- :mod:`~evaluation.reports.figures`     alt text for every figure a notebook shows

The reports know notebooks, not the methods' insides; the batch runner (above them) decides
what to render and writes it through :mod:`evaluation.files`.
"""

from __future__ import annotations

from evaluation.reports.disclosure import (
    DisclosureError,
    Leak,
    check_html,
    disclosure_threshold,
    find_small_counts,
    publishable_count,
    suppress_count,
    suppress_small_counts,
)
from evaluation.reports.figures import figure_alt_text
from evaluation.reports.html import render_report
from evaluation.reports.index import render_index

__all__ = [
    "DisclosureError",
    "Leak",
    "check_html",
    "disclosure_threshold",
    "figure_alt_text",
    "find_small_counts",
    "render_index",
    "render_report",
    "publishable_count",
    "suppress_count",
    "suppress_small_counts",
]
