"""Text from data as text: one escaping helper for every name that enters HTML or Markdown.

Code and theme names, case and cluster names, coder names and parameter values come from data
files, a coding store (often imported from another tool's .qdpx) or the command line. None of
them may become markup in a report: a code named ``<img src=x onerror=alert(1)>`` must be shown
as those characters, not run. Everything that writes such text into a report goes through this
module:

- :func:`escape_html` for HTML (table cells, captions, attributes, the index);
- :func:`escape_markdown` for Markdown (``IPython.display.Markdown`` outputs, headings), which
  the report renderer turns into HTML *including any raw HTML it contains*;
- :func:`escape_mathtext` for figure titles and labels, where matplotlib reads ``$...$`` as
  mathematics.

This module sits at the bottom of the package (like :mod:`evaluation.errors`) so that every
wing, the qualitative and mixed ones included, can use the same helper; the reports re-export it
as :func:`evaluation.reports.present.escape_text`.

>>> escape_html('<script>alert(1)</script> & "x"')
'&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;'
>>> escape_markdown("[x](javascript:alert(1))")
'\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
"""

from __future__ import annotations

import html
import re

__all__ = ["escape_html", "escape_markdown", "escape_mathtext"]

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the characters
# that start or end Markdown structure (emphasis, links, images, code, headings, lists, tables,
# maths, autolinks via "scheme:"). "<", ">", "&" and quotes become HTML entities instead, so
# that raw HTML cannot even be spelled.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=^])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def escape_html(text: object) -> str:
    """``text`` (any value, shown as ``str``) safe inside HTML text or a quoted attribute.

    >>> escape_html("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    """
    return html.escape(str(text), quote=True)


def escape_markdown(text: object) -> str:
    """``text`` (any value) shown literally wherever it sits in a Markdown line.

    Markdown structure characters are backslash-escaped, ``< > & " '`` become entities and line
    breaks become spaces (a newline in a name could otherwise start a heading, list or block of
    raw HTML). The result renders as the original characters in JupyterLab and in the reports.

    >>> escape_markdown("![x](http://evil)")
    '\\\\!\\\\[x\\\\]\\\\(http\\\\://evil\\\\)'
    >>> escape_markdown("<b>Data</b>\\n# not a heading")
    '&lt;b&gt;Data&lt;/b&gt; \\\\# not a heading'
    """
    value = " ".join(str(text).split())
    value = _MARKDOWN_PUNCTUATION.sub(r"\\\1", value)
    return "".join(_ENTITIES.get(character, character) for character in value)


def escape_mathtext(text: object) -> str:
    """``text`` for a matplotlib title, label or legend: a ``$`` is a dollar, not maths.

    >>> escape_mathtext("Costs in $ per GP: $x$")
    'Costs in \\\\$ per GP: \\\\$x\\\\$'
    """
    return str(text).replace("$", r"\$")
