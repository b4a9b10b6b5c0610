"""Alt text for figures in rendered reports, written from the figure itself.

A coordinator using a screen reader should hear what a figure shows, in a sentence or two:
:func:`figure_alt_text` describes a matplotlib figure from its titles, axis labels and legend,
and summarises its value labels ("12 values labelled, from 3 to 40"), never listing them, in at
most :data:`MAX_ALT_CHARS` characters. :func:`install` (run by ``workbench run`` in each fresh
kernel before the notebook starts) makes every inline figure carry that text as its
``image/png`` output metadata ``alt``, which the report template puts on the ``<img>``.

The disclosure check (:mod:`evaluation.reports.disclosure`) must still see every count written
onto a figure, so the full value labels travel separately, as the metadata key
:data:`LABELS_KEY`, which the template writes to the image's ``data-value-labels`` attribute.

The hook works whichever PNG printer is in force, the plain one or the 2x ("retina") one that
:func:`evaluation.reports.present.use_report_style` selects: it sits on the kernel's PNG formatter
itself, not on the printer that ``set_matplotlib_formats`` replaces, and merges its metadata
with the printer's (the retina printer returns the display size as ``width``/``height``).

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> bars = ax.bar(["C001", "C002", "C003"], [12, 30, 40])
>>> _ = ax.bar_label(bars)
>>> _ = ax.set(title="GPs attending", ylabel="number of GPs")
>>> figure_alt_text(fig)
'Figure: GPs attending; y axis: number of GPs. 3 values labelled, from 12 to 40.'
>>> value_labels(fig)
['12', '30', '40']
"""

from __future__ import annotations

import re
from functools import lru_cache

ALT_KEY = "alt"
#: output metadata key (under image/png) with every value label, for the disclosure check
LABELS_KEY = "value_labels"
#: longest alt text: screen readers read it in one go, and WCAG advice is "a sentence or two"
MAX_ALT_CHARS = 300
_LEGEND_ENTRIES = 4  # legend entries named before "and N more"
_NUMBER = re.compile(r"^[+-]?\d[\d,\u00a0 ]*(?:\.\d+)?%?$")


def _clean(text: object) -> str:
    return " ".join(str(text or "").split())


def value_labels(fig) -> list[str]:
    """Every text written onto the axes of ``fig`` (bar labels, annotations, ``ax.text``)."""
    labels: list[str] = []
    for ax in fig.get_axes():
        labels.extend(_clean(t.get_text()) for t in ax.texts if _clean(t.get_text()))
    return labels


def _as_number(label: str) -> float | None:
    if not _NUMBER.match(label):
        return None
    try:
        return float(re.sub(r"[,\u00a0 %]", "", label))
    except ValueError:
        return None


def _show_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def summarise_labels(labels: list[str]) -> str:
    """One phrase for a figure's value labels: how many, and their range if they are numbers.

    >>> summarise_labels(["3", "40", "12", "<5"])
    '4 values labelled, from 3 to 40 (1 shown as <5)'
    >>> summarise_labels(["Interview 07"])
    '1 text label'
    """
    if not labels:
        return ""
    numbers = [n for n in (_as_number(label) for label in labels) if n is not None]
    suppressed = [label for label in labels if label.startswith("<")]
    if not numbers:
        word = "text label" if len(labels) == 1 else "text labels"
        return f"{len(labels)} {word}"
    word = "value labelled" if len(labels) == 1 else "values labelled"
    text = f"{len(labels)} {word}"
    if len(numbers) == 1:
        text += f": {_show_number(numbers[0])}"
    else:
        text += f", from {_show_number(min(numbers))} to {_show_number(max(numbers))}"
    if suppressed:
        text += f" ({len(suppressed)} shown as {suppressed[0]})"
    return text


def _axes_description(ax, legend: bool = True) -> str:
    pieces = []
    title = _clean(ax.get_title())
    if title:
        pieces.append(title)
    if _clean(ax.get_xlabel()):
        pieces.append(f"x axis: {_clean(ax.get_xlabel())}")
    if _clean(ax.get_ylabel()):
        pieces.append(f"y axis: {_clean(ax.get_ylabel())}")
    box = ax.get_legend() if legend else None
    if box is not None:
        entries = [_clean(t.get_text()) for t in box.get_texts() if _clean(t.get_text())]
        legend_title = _clean(box.get_title().get_text())
        if entries:
            named = ", ".join(entries[:_LEGEND_ENTRIES])
            if len(entries) > _LEGEND_ENTRIES:
                named += f" and {len(entries) - _LEGEND_ENTRIES} more"
            pieces.append(f"legend{' ' + legend_title if legend_title else ''}: {named}")
    return "; ".join(pieces)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def figure_alt_text(fig) -> str:
    """What ``fig`` shows in at most :data:`MAX_ALT_CHARS` characters: title, axes, legend, and
    a summary of its value labels.

    A figure of several panels names the panels that differ (their titles) and says how many
    there are, instead of repeating shared axis labels per panel. When the whole would be too
    long, the legend goes first; only then is the text cut.
    """
    labels = summarise_labels(value_labels(fig))
    ending = f". {labels[:1].upper()}{labels[1:]}." if labels else "."
    full = _describe(fig, legend=True)
    if len(full) + len(ending) > MAX_ALT_CHARS:
        full = _describe(fig, legend=False)
    if len(full) + len(ending) > MAX_ALT_CHARS:
        return _shorten(full, MAX_ALT_CHARS - len(ending) + 1) + ending[1:]
    return full + ending


def _describe(fig, legend: bool) -> str:
    suptitle = getattr(fig, "_suptitle", None)
    heading = _clean(suptitle.get_text()) if suptitle is not None else ""
    described = [d for d in (_axes_description(ax, legend) for ax in fig.get_axes()) if d]
    unique = list(dict.fromkeys(described))
    if len(unique) > 3:  # small multiples: the panels' titles, once
        titles = [_clean(ax.get_title()) for ax in fig.get_axes() if _clean(ax.get_title())]
        first = _axes_description(fig.get_axes()[0], legend).split("; ", 1)
        shared = first[1] if len(first) > 1 else ""
        unique = [
            f"{len(fig.get_axes())} panels"
            + (f" ({', '.join(titles[:4])}{' ...' if len(titles) > 4 else ''})" if titles else "")
            + (f"; {shared}" if shared else "")
        ]
    parts = [p for p in (heading, *unique) if p]
    return "Figure: " + (". ".join(parts) if parts else "a chart without titles or axis labels")


def describe(fig) -> dict[str, object]:
    """The output metadata the report needs for ``fig``: alt text and, if any, its value labels."""
    metadata: dict[str, object] = {ALT_KEY: figure_alt_text(fig)}
    labels = value_labels(fig)
    if labels:
        metadata[LABELS_KEY] = labels
    return metadata


@lru_cache(maxsize=1)
def _alt_text_formatter_class():
    from IPython.core.formatters import PNGFormatter
    from matplotlib.figure import Figure

    class AltTextPNGFormatter(PNGFormatter):
        """The kernel's PNG formatter, adding alt text to every matplotlib figure it formats."""

        def __call__(self, obj):
            result = super().__call__(obj)
            if result is None or not isinstance(obj, Figure):
                return result
            data, metadata = result if isinstance(result, tuple) else (result, {})
            try:
                return data, {**(metadata or {}), **describe(obj)}
            except Exception:  # a description must never break a figure
                return result

    return AltTextPNGFormatter


def install(shell=None) -> bool:
    """Make inline matplotlib figures in this IPython kernel carry alt text. True if installed.

    Replaces the kernel's ``image/png`` formatter by one that keeps every registered printer
    (and any registered later, e.g. by ``set_matplotlib_formats("retina")``) and adds the
    figure's description to the printer's metadata.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = shell or get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    current = formatters.get("image/png")
    cls = _alt_text_formatter_class()
    if current is None:
        return False
    if isinstance(current, cls):
        return True
    replacement = cls(parent=shell.display_formatter)
    # the same dicts, so printers registered on either object are seen by both
    replacement.type_printers = current.type_printers
    replacement.deferred_printers = current.deferred_printers
    replacement.singleton_printers = current.singleton_printers
    replacement.enabled = current.enabled
    formatters["image/png"] = replacement
    return True
