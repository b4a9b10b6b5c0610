"""The presentation layer: result frames in, tables and sentences a reader can use out.

Every table a report shows goes through :func:`reader_table`, and every number in a sentence
through the ``format_*`` functions here, so that a coordinator reads "0.90 (0.87 to 0.93)",
"<0.001", "Apr 2019", "1,234" and "12.3%" (Danish: "0,90 (0,87 til 0,93)", "<0,001",
"apr. 2019", "1.234", "12,3 %") everywhere, never ``0.899871``, ``NaT``, ``True`` or
``rr_ci_lower``. Numbers, percentages and dates are formatted by locale with Babel.

- :func:`reader_table` -- readable headers, an estimate and its interval in one column,
  p-values, counts, percentages, months, yes/no, missing values as an en dash with a footnote,
  no index. Returns a :class:`ReaderTable` that displays itself as HTML in a notebook.
- :func:`describe_change` -- one honest sentence about an estimate and its interval ("we cannot
  tell this from no change" when the interval includes it).
- :func:`key_findings` -- the "Key findings" box a report opens with.
- :data:`OKABE_ITO` and :func:`use_report_style` -- one colour-blind-safe palette and figure
  settings legible in print (2x resolution).

>>> format_estimate(0.8991, 0.8712, 0.9301)
'0.90 (0.87 to 0.93)'
>>> format_estimate(0.8991, 0.8712, 0.9301, lang="da")
'0,90 (0,87 til 0,93)'
>>> format_p_value(0.00002), format_p_value(0.0312), format_p_value(0.5)
('<0.001', '0.031', '0.50')
>>> format_month("2019-04-01"), format_month("2019-04-01", lang="da")
('Apr 2019', 'apr. 2019')
>>> format_count(12345), format_count(12345, lang="da")
('12,345', '12.345')
>>> format_percent(0.1234), format_percent(0.1234, lang="da")
('12.3%', '12,3\\xa0%')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluation.errors import InputError
from evaluation.i18n import N_, check_lang, locale_for, translate
from evaluation.markup import escape_html, escape_markdown
from evaluation.palette import OKABE_ITO

__all__ = [
    "COLUMN_LABELS",
    "MISSING",
    "OKABE_ITO",
    "PALETTE",
    "KeyFindings",
    "ReaderTable",
    "describe_change",
    "escape_markdown",
    "escape_text",
    "format_count",
    "format_date",
    "format_estimate",
    "format_interval",
    "format_month",
    "format_number",
    "format_p_value",
    "format_percent",
    "key_findings",
    "label_column",
    "reader_table",
    "use_report_style",
]

#: the one escaping helper for text from data, a coding store or parameters (issue 14): use it
#: for every name written into HTML; :func:`escape_markdown` for Markdown
escape_text = escape_html
#: the mark a header cell of a person count carries (read by reports.disclosure.check_html)
UNIT_MARK = ' data-unit="persons"'

MISSING = "\u2013"  # an en dash: "no value here", explained in the table's footnote

# the palette lives with the methods' figures, so that every wing can draw with it
PALETTE = [
    OKABE_ITO[name]
    for name in (
        "blue",
        "orange",
        "bluish_green",
        "vermillion",
        "sky_blue",
        "reddish_purple",
        "yellow",
        "black",
    )
]

# Words the formatters put between numbers, in English; translated through evaluation.i18n.
_WORDS = {
    "to": N_("to"),
    "yes": N_("yes"),
    "no": N_("no"),
    "missing_note": N_("no value (not estimable, not applicable or not available)"),
    "key_findings": N_("Key findings"),
    "ci": N_("95% CI"),
    "no_change": N_("we cannot tell this from no change"),
    "rose": N_("rose"),
    "fell": N_("fell"),
    "changed": N_("changed"),
    "by": N_("by"),
}


def _word(key: str, lang: str) -> str:
    return translate(_WORDS[key], lang)


# Headers for the result vocabulary and the columns the notebooks show; anything else is made
# readable by label_column's rules. Kept short: a header is read many times.
COLUMN_LABELS: dict[str, str] = {
    "estimate": N_("Estimate"),
    "se": N_("Standard error"),
    "ci": N_("95% CI"),
    "ci_low": N_("Lower 95% limit"),
    "ci_high": N_("Upper 95% limit"),
    "p_value": N_("p"),
    "p_value_adjusted": N_("Adjusted p"),
    "att": N_("Change (ATT)"),
    "rate_ratio": N_("Rate ratio"),
    "odds_ratio": N_("Odds ratio"),
    "region": N_("Region"),
    "cluster_id": N_("Cluster"),
    "clinic_id": N_("Clinic"),
    "n": N_("N"),
    "n_clinics": N_("Clinics"),
    "n_gps": N_("GPs"),
    "listed_patients": N_("Listed patients"),
    "month": N_("Month"),
    "year": N_("Year"),
    "invited": N_("Invited"),
    "attended": N_("Attended"),
    "rate": N_("Rate"),
    "took_up": N_("Took up the topic"),
    "n_beyond_limits": N_("Points beyond the limits"),
}


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_number(value: Any, digits: int = 2, lang: str = "en") -> str:
    """``value`` with ``digits`` decimals and the locale's separators; an en dash if missing.

    >>> format_number(-1234.5678), format_number(-1234.5678, lang="da")
    ('-1,234.57', '-1.234,57')
    """
    from babel.numbers import format_decimal

    if _is_missing(value):
        return MISSING
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    text = format_decimal(round(value, digits), format=pattern, locale=locale_for(lang))
    return text.replace("\u2212", "-")


def format_count(value: Any, lang: str = "en") -> str:
    """A whole number with thousands separators (1,234; Danish 1.234)."""
    if _is_missing(value):
        return MISSING
    return format_number(round(float(value)), digits=0, lang=lang)


def format_percent(value: Any, digits: int = 1, lang: str = "en") -> str:
    """A proportion (0.123) as a percentage ("12.3%"; Danish "12,3 %" with a no-break space)."""
    if _is_missing(value):
        return MISSING
    number = format_number(100 * float(value), digits=digits, lang=lang)
    return f"{number}\u00a0%" if lang == "da" else f"{number}%"


def format_interval(low: Any, high: Any, digits: int = 2, lang: str = "en") -> str:
    """ "0.87 to 0.93" (Danish "0,87 til 0,93")."""
    if _is_missing(low) or _is_missing(high):
        return MISSING
    to = _word("to", check_lang(lang))
    return f"{format_number(low, digits, lang)} {to} {format_number(high, digits, lang)}"


def format_estimate(estimate: Any, low: Any, high: Any, digits: int = 2, lang: str = "en") -> str:
    """An estimate with its interval: "0.90 (0.87 to 0.93)"."""
    if _is_missing(estimate):
        return MISSING
    text = format_number(estimate, digits, lang)
    if _is_missing(low) or _is_missing(high):
        return text
    return f"{text} ({format_interval(low, high, digits, lang)})"


def format_p_value(value: Any, lang: str = "en") -> str:
    """p-values as journals print them: "<0.001", three decimals below 0.1, else two."""
    if _is_missing(value):
        return MISSING
    value = float(value)
    if value < 0.001:
        return "<" + format_number(0.001, 3, lang)
    return format_number(value, 3 if value < 0.1 else 2, lang)


def _timestamp(value: Any) -> pd.Timestamp | None:
    if _is_missing(value):
        return None
    if isinstance(value, pd.Period):
        return value.to_timestamp()
    return pd.Timestamp(value)


def format_month(value: Any, lang: str = "en") -> str:
    """A month as a reader writes it: "Apr 2019" (Danish "apr. 2019")."""
    from babel.dates import format_date as babel_date

    stamp = _timestamp(value)
    if stamp is None:
        return MISSING
    return babel_date(stamp.date(), "MMM y", locale=locale_for(lang))


def format_date(value: Any, lang: str = "en") -> str:
    """A day: "14 Apr 2019" (Danish "14. apr. 2019")."""
    from babel.dates import format_date as babel_date

    stamp = _timestamp(value)
    if stamp is None:
        return MISSING
    pattern = "d. MMM y" if check_lang(lang) == "da" else "d MMM y"
    return babel_date(stamp.date(), pattern, locale=locale_for(lang))


def label_column(name: str, labels: Mapping[str, str] | None = None, lang: str = "en") -> str:
    """A readable header for a column name: from ``labels``, then :data:`COLUMN_LABELS`, then by
    rule (``n_gps_invited`` -> "GPs invited", ``share_attending`` -> "Share attending").

    >>> label_column("rate_ratio"), label_column("n_beyond_limits"), label_column("mean_with")
    ('Rate ratio', 'Points beyond the limits', 'Mean with')
    """
    if labels and name in labels:
        return labels[name]
    if name in COLUMN_LABELS:
        return translate(COLUMN_LABELS[name], check_lang(lang))
    text = str(name)
    if re.fullmatch(r"[a-z0-9_]+", text):
        words = text.split("_")
        if words[0] == "n" and len(words) > 1:
            words = ["number", "of", *words[1:]] if lang == "en" else ["antal", *words[1:]]
        text = " ".join(words)
        text = re.sub(r"\bgps\b", "GPs", text)
        text = re.sub(r"\bci\b", "CI", text)
        text = text[:1].upper() + text[1:]
    return text


@dataclass
class ReaderTable:
    """A table ready for a reader: every cell a string, headers in words, footnotes.

    Displays itself as HTML in a notebook (``_repr_html_``) with every cell escaped; ``frame``
    holds the formatted strings, for tests and for other renderers (Excel, Word).
    """

    frame: pd.DataFrame
    caption: str | None = None
    notes: list[str] = field(default_factory=list)
    lang: str = "en"
    #: headers of the columns that count persons, or None if the table declares no units (the
    #: disclosure check then judges its headers by name); see reports.disclosure
    persons: list[str] | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def to_html(self) -> str:
        escape = escape_html
        persons = set(self.persons or [])
        head = "".join(
            f'<th scope="col"{UNIT_MARK if c in persons else ""}>{escape(str(c))}</th>'
            for c in self.frame.columns
        )
        units = "" if self.persons is None else ' data-units="declared"'
        rows = []
        for values in self.frame.itertuples(index=False):
            cells = "".join(
                f'<td class="{"missing" if v == MISSING else ""}">{escape(str(v))}</td>'
                for v in values
            )
            rows.append(f"<tr>{cells}</tr>")
        caption = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        foot = ""
        if self.notes:
            width = len(self.frame.columns)
            notes = "".join(f"<p>{escape(note)}</p>" for note in self.notes)
            foot = f'<tfoot><tr><td colspan="{width}">{notes}</td></tr></tfoot>'
        return (
            f'<div class="reader-table-wrap"><table class="reader-table" lang="{self.lang}"{units}>'
            f"{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>{foot}"
            "</table></div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:  # text/plain fallback: readable, not an index dump
        return self.frame.to_string(index=False)


def _format_column(series: pd.Series, name: str, digits: int, lang: str, percent: bool) -> list:
    if percent:
        return [format_percent(v, lang=lang) for v in series]
    if name == "p_value" or name.startswith("p_value") or name.endswith("_p_value"):
        return [format_p_value(v, lang=lang) for v in series]
    if pd.api.types.is_bool_dtype(series):
        return [MISSING if _is_missing(v) else _word("yes" if v else "no", lang) for v in series]
    if pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype):
        stamps = [_timestamp(v) for v in series]
        monthly = all(s is None or (s.day == 1 and s.hour == 0) for s in stamps)
        form = format_month if monthly else format_date
        return [form(s, lang=lang) if s is not None else MISSING for s in stamps]
    if pd.api.types.is_integer_dtype(series):
        return [format_count(v, lang=lang) for v in series]
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        if len(whole) and (whole == whole.round()).all() and name.startswith("n"):
            return [format_count(v, lang=lang) for v in series]
        return [format_number(v, digits, lang=lang) for v in series]
    out = []
    for v in series:
        if isinstance(v, bool):
            out.append(_word("yes" if v else "no", lang))
        elif _is_missing(v):
            out.append(MISSING)
        elif isinstance(v, float):
            out.append(format_number(v, digits, lang=lang))
        elif isinstance(v, int):
            out.append(format_count(v, lang=lang))
        elif isinstance(v, pd.Timestamp):
            out.append(format_month(v, lang=lang) if v.day == 1 else format_date(v, lang=lang))
        else:
            out.append(str(v))
    return out


def reader_table(
    frame: pd.DataFrame,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    estimate: str | Iterable[str] | None = None,
    digits: int | Mapping[str, int] = 2,
    percent: Iterable[str] = (),
    caption: str | None = None,
    notes: Iterable[str] = (),
    lang: str = "en",
    persons: Iterable[str] | None = None,
) -> ReaderTable:
    """Turn a result frame into a table a reader can use.

    Parameters
    ----------
    frame : DataFrame
        A tidy result frame (index is dropped; put identifiers in columns).
    columns : list or dict, optional
        Columns to show, in order; a dict also gives their headers ({"att": "Change"}).
    labels : dict, optional
        Headers for columns (else :data:`COLUMN_LABELS` and readable rules).
    estimate : str or list of str, optional
        Estimate column(s) to show with their interval in one cell, "0.90 (0.87 to 0.93)". The
        interval columns are ``ci_low``/``ci_high`` for the first, ``<name>_ci_low`` /
        ``<name>_ci_high`` (or ``<prefix>_ci_low`` for ``<prefix>_<x>``) for others; they are
        then not shown on their own. The header gets ", 95% CI" added.
    digits : int or dict
        Decimals for floats (per column with a dict; default 2).
    percent : list of str
        Columns holding proportions, shown as percentages.
    caption, notes : str, list of str
        A caption above and footnotes below. A footnote explaining the en dash is added when a
        cell is missing.
    lang : "en" or "da"
    persons : list of str, optional
        Columns that count persons, besides those the frame already declares (canonical names
        such as ``n_gps`` or ``invited``, and ``frame.attrs["persons"]`` set by
        :func:`~evaluation.reports.disclosure.suppress_small_counts` or
        :func:`~evaluation.reports.disclosure.declare_persons`). Their headers carry
        ``data-unit="persons"`` in the HTML, which the disclosure check goes by.

    Returns
    -------
    ReaderTable (``.frame`` holds the strings; displays as HTML).

    Example
    -------
    >>> result = pd.DataFrame({"region": ["Sjælland"], "rate_ratio": [0.8991],
    ...                        "ci_low": [0.8712], "ci_high": [0.9301], "p_value": [0.00002],
    ...                        "n_clinics": [1234], "took_up": [True]})
    >>> reader_table(result, estimate="rate_ratio").frame.iloc[0].tolist()
    ['Sjælland', '0.90 (0.87 to 0.93)', '<0.001', '1,234', 'yes']
    >>> list(reader_table(result, estimate="rate_ratio").frame.columns)
    ['Region', 'Rate ratio (95% CI)', 'p', 'Clinics', 'Took up the topic']
    """
    lang = check_lang(lang)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"reader_table: expected a DataFrame, got {type(frame).__name__}.")
    from evaluation.reports.disclosure import declared_person_columns

    declared = set(declared_person_columns(frame, list(persons or [])))
    data = frame.reset_index(drop=True) if not isinstance(frame.index, pd.RangeIndex) else frame
    headers = dict(labels or {})
    if isinstance(columns, Mapping):
        headers.update(columns)
        columns = list(columns)
    order = list(columns) if columns is not None else list(data.columns)
    missing = [c for c in order if c not in data.columns]
    if missing:
        from evaluation.errors import MissingColumnsError

        raise MissingColumnsError(missing, where="reader_table", available=list(data.columns))
    estimates = [estimate] if isinstance(estimate, str) else list(estimate or [])
    interval_of: dict[str, tuple[str, str]] = {}
    for position, name in enumerate(estimates):
        candidates = [(f"{name}_ci_low", f"{name}_ci_high")]
        if "_" in name:
            prefix = name.rsplit("_", 1)[0]
            candidates.append((f"{prefix}_ci_low", f"{prefix}_ci_high"))
        if position == 0:
            candidates.append(("ci_low", "ci_high"))
        for low, high in candidates:
            if low in data.columns and high in data.columns:
                interval_of[name] = (low, high)
                break
        else:
            raise InputError(
                f"reader_table: estimate {name!r} has no interval columns "
                f"({candidates[0][0]}/{candidates[0][1]} or ci_low/ci_high)."
            )
    hidden = {c for pair in interval_of.values() for c in pair}
    order = [c for c in order if c not in hidden or c in estimates]
    digit_for = (lambda c: digits.get(c, 2)) if isinstance(digits, Mapping) else (lambda c: digits)
    percent = set(percent)
    shown: dict[str, list[str]] = {}
    person_headers: list[str] = []
    any_missing = False
    for name in order:
        if name in interval_of:
            low, high = interval_of[name]
            cells = [
                format_estimate(e, lo, hi, digit_for(name), lang)
                for e, lo, hi in zip(data[name], data[low], data[high])
            ]
            header = headers.get(name) or label_column(name, lang=lang)
            header = f"{header} ({_word('ci', lang)})"
        else:
            cells = _format_column(data[name], str(name), digit_for(name), lang, name in percent)
            header = headers.get(name) or label_column(str(name), lang=lang)
        any_missing = any_missing or any(cell == MISSING for cell in cells)
        shown[header] = cells
        if name in declared and name not in interval_of:
            person_headers.append(header)
    table = pd.DataFrame(shown, columns=list(shown))
    footnotes = list(notes)
    if any_missing:
        footnotes.append(f"{MISSING} {_word('missing_note', lang)}.")
    return ReaderTable(
        table,
        caption=caption,
        notes=footnotes,
        lang=lang,
        persons=person_headers if declared else None,
    )


def describe_change(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    what: str,
    unit: str = "",
    ratio: bool = False,
    digits: int = 1,
    lang: str = "en",
) -> str:
    """One honest sentence about a change and its 95% interval.

    A difference (``ratio=False``) is described in ``unit``; a ratio (rate or odds ratio) as a
    percentage change. When the interval includes no change (0, or 1 for a ratio), the sentence
    says that we cannot tell it from no change, instead of naming a direction.

    >>> describe_change(-1.97, -3.00, -0.94, what="NSAID prescribing",
    ...                 unit="DDD per 1,000 patients per day")
    'NSAID prescribing fell by 2.0 DDD per 1,000 patients per day (95% CI 0.9 to 3.0).'
    >>> describe_change(0.98, 0.93, 1.04, what="The rate", ratio=True)
    'The rate changed by -2.0% (95% CI -7.0% to 4.0%): we cannot tell this from no change.'
    >>> describe_change(0.90, 0.87, 0.93, what="Prescribing", ratio=True, lang="da")
    'Prescribing faldt med 10,0\\xa0% (95 %-KI 7,0\\xa0% til 13,0\\xa0%).'
    """
    words = {key: _word(key, check_lang(lang)) for key in _WORDS}
    null = 1.0 if ratio else 0.0
    if any(_is_missing(v) for v in (estimate, ci_low, ci_high)):
        raise InputError(f"describe_change({what!r}): the estimate and both limits are needed.")
    if ratio:
        change, low, high = (100 * (float(v) - 1) for v in (estimate, ci_low, ci_high))
        suffix = "\u00a0%" if lang == "da" else "%"

        def show(v):
            return format_number(v, digits, lang) + suffix
    else:
        change, low, high = float(estimate), float(ci_low), float(ci_high)

        def show(v):
            return format_number(v, digits, lang)

    unit_text = f" {unit}" if unit and not ratio else ""
    includes_null = ci_low <= null <= ci_high
    if includes_null:
        return (
            f"{what} {words['changed']} {words['by']} {show(change)}{unit_text} "
            f"({words['ci']} {show(low)} {words['to']} {show(high)}): {words['no_change']}."
        )
    direction = words["rose"] if change > 0 else words["fell"]
    magnitude = abs(change)
    bounds = sorted((abs(low), abs(high)))
    return (
        f"{what} {direction} {words['by']} {show(magnitude)}{unit_text} "
        f"({words['ci']} {show(bounds[0])} {words['to']} {show(bounds[1])})."
    )


@dataclass
class KeyFindings:
    """The "Key findings" box (3-5 plain sentences) a report opens with.

    Its HTML is a ``<section class="key-findings">`` whose heading the report renderer keeps
    first after the title, wherever the notebook computes it.
    """

    sentences: list[str]
    lang: str = "en"
    title: str | None = None

    def to_html(self) -> str:
        title = self.title or _word("key_findings", self.lang)
        items = "".join(f"<li>{escape_html(s)}</li>" for s in self.sentences)
        return (
            f'<section class="key-findings" lang="{self.lang}">'
            f"<h2>{escape_html(title)}</h2><ul>{items}</ul></section>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:  # JupyterLab shows HTML; plain-text front ends this
        title = self.title or _word("key_findings", self.lang)
        return f"**{title}**\n\n" + "\n".join(f"- {s}" for s in self.sentences)


def key_findings(
    sentences: Iterable[str], lang: str = "en", title: str | None = None
) -> KeyFindings:
    """The "Key findings" box: 1-5 plain sentences, built from the recorded estimates.

    >>> key_findings(["Attendance stayed high."]).to_html()[:61]
    '<section class="key-findings" lang="en"><h2>Key findings</h2>'
    """
    sentences = [str(s).strip() for s in sentences if str(s).strip()]
    if not 1 <= len(sentences) <= 5:
        raise InputError(
            f"key_findings: give 1 to 5 sentences (got {len(sentences)}); a reader takes in a "
            "handful, the evidence follows below."
        )
    return KeyFindings(sentences, lang=check_lang(lang), title=title)


def use_report_style() -> None:
    """Figures for reports: the Okabe-Ito palette, text sizes legible in print, 2x resolution
    (sharp when printed or zoomed), tight bounding boxes so no label is clipped."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=PALETTE),
            "figure.dpi": 100,
            "savefig.dpi": 200,
            "figure.figsize": (7.5, 4.2),
            "font.size": 10.5,
            "axes.titlesize": 11.5,
            "axes.labelsize": 10.5,
            "legend.fontsize": 9.5,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "savefig.bbox": "tight",
            "figure.constrained_layout.use": True,
            # names from data in titles and labels ("$x$") are text, never maths
            "text.parse_math": False,
        }
    )
    try:  # in a kernel: inline figures as 2x PNG
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("retina")
    except ImportError:  # plain Python: nothing to configure
        pass
