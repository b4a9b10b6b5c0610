"""Alt text for figures in rendered reports, written from the figure itself.

A coordinator using a screen reader should hear what a figure shows. :func:`figure_alt_text`
describes a matplotlib figure from its titles, axis labels, legend and value labels;
:func:`install` (run by ``workbench run`` in each fresh kernel before the notebook starts) makes
every inline figure carry that text as its ``image/png`` output metadata ``alt``, which the report
template puts on the ``<img>``. Value labels (``ax.bar_label``, ``ax.annotate``) are listed after
"Values labelled:" so that the disclosure check can see counts written onto a figure.

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> bars = ax.bar(["C001", "C002"], [12, 30])
>>> _ = ax.bar_label(bars)
>>> _ = ax.set(title="GPs attending", ylabel="number of GPs")
>>> figure_alt_text(fig)
'Figure: GPs attending; y axis: number of GPs. Values labelled: 12, 30.'
"""

from __future__ import annotations

ALT_KEY = "alt"


def _clean(text: object) -> str:
    return " ".join(str(text or "").split())


def figure_alt_text(fig) -> str:
    """A one-paragraph description of ``fig`` (titles, axes, legend entries, value labels)."""
    parts: list[str] = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and _clean(suptitle.get_text()):
        parts.append(_clean(suptitle.get_text()))
    labels: list[str] = []
    for ax in fig.get_axes():
        pieces = []
        title = _clean(ax.get_title())
        if title:
            pieces.append(title)
        if _clean(ax.get_xlabel()):
            pieces.append(f"x axis: {_clean(ax.get_xlabel())}")
        if _clean(ax.get_ylabel()):
            pieces.append(f"y axis: {_clean(ax.get_ylabel())}")
        legend = ax.get_legend()
        if legend is not None:
            entries = [_clean(t.get_text()) for t in legend.get_texts() if _clean(t.get_text())]
            legend_title = _clean(legend.get_title().get_text())
            if entries:
                pieces.append(
                    f"legend{' ' + legend_title if legend_title else ''}: {', '.join(entries)}"
                )
        if pieces:
            parts.append("; ".join(pieces))
        labels.extend(_clean(t.get_text()) for t in ax.texts if _clean(t.get_text()))
    text = "Figure: " + (". ".join(parts) if parts else "a chart without titles or axis labels")
    if labels:
        text += ". Values labelled: " + ", ".join(labels[:60])
    return text + "."


def install(shell=None) -> bool:
    """Make inline matplotlib figures in this IPython kernel carry alt text. True if installed."""
    try:
        import matplotlib
        from IPython import get_ipython
    except ImportError:
        return False
    shell = shell or get_ipython()
    if shell is None:
        return False
    backend = (
        str(matplotlib.rcParams._get("backend")) if hasattr(matplotlib.rcParams, "_get") else ""
    )
    if "inline" in backend:
        import matplotlib_inline.backend_inline  # noqa: F401  (registers the inline PNG formatter)
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        original = formatter.lookup_by_type(Figure)
    except KeyError:
        return False
    if getattr(original, "_adds_alt_text", False):
        return True

    def png_with_alt(fig):
        data = original(fig)
        if data is None:
            return None
        try:
            return data, {ALT_KEY: figure_alt_text(fig)}
        except Exception:  # a description must never break a figure
            return data

    png_with_alt._adds_alt_text = True
    formatter.for_type(Figure, png_with_alt)
    return True
