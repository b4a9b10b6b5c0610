"""Offsets between the store's text and Taguette's stored HTML.

Taguette keeps a document as sanitised HTML and addresses a highlight by **UTF-8 byte offsets
into the concatenation of the HTML's text nodes** (tags not counted, entities decoded), as the
html5lib parser sees them. The store addresses a segment by **Unicode code points** into its own
immutable text. Three steps connect the two:

1. :func:`text_to_html` writes a transcript as HTML whose text nodes spell the transcript
   exactly, apart from what HTML parsing itself cannot carry: a carriage return becomes a line
   feed (``\\r\\n`` and ``\\r`` both read as ``\\n``), so :func:`taguette_form` is what Taguette
   will hold. (Taguette's sanitiser also drops NUL and turns other control characters into
   ``?``; transcripts rarely hold them, and step 3 aligns around them.)
2. :func:`html_text` recovers Taguette's text from its stored HTML (html5lib, like Taguette).
3. :class:`OffsetMap` turns byte offsets in that text into code-point offsets in the store's
   text. Where the two texts differ (line ends, or characters Taguette's sanitiser dropped) it
   aligns them, so a highlight maps onto the same words.

Byte offset ``b`` of text ``t`` is code point ``len(t.encode()[:b].decode())``; a byte offset
inside a multi-byte character rounds up to the next character boundary, as Taguette's own
extractor does.

Example
-------
>>> text = "Koordinator: Vi fik data 😀\\r\\nInterviewer: Godt."
>>> html = text_to_html(text, title="interview")
>>> stored = html_text(html)          # what Taguette will count bytes in
>>> stored == taguette_form(text)
True
>>> offsets = OffsetMap(stored, text)
>>> start, end = offsets.to_store(stored.encode().index(b"Vi"), stored.encode().index(b"\\nInt"))
>>> text[start:end]
'Vi fik data 😀'
"""

from __future__ import annotations

import bisect
import difflib
import html as html_lib
import re
from dataclasses import dataclass

import html5lib

from evaluation.errors import InputError

_LINE_BREAK = re.compile(r"\r\n|\r")
# A paragraph break: two or more line ends (white space between them included; indentation
# after the last one stays with the next paragraph, inside its <p>).
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n)+")


def taguette_form(text: str) -> str:
    """The text as Taguette stores it after :func:`text_to_html`: line ends become ``\\n``.

    HTML parsers turn ``\\r\\n`` and a lone ``\\r`` into ``\\n`` before anything else (even a
    ``&#13;`` reference comes back as ``\\n`` after Taguette's sanitiser), so a carriage return
    cannot survive the trip; everything else does.
    """
    return _LINE_BREAK.sub("\n", text)


def _paragraph_html(paragraph: str) -> str:
    lines = paragraph.split("\n")
    # A <br> carries no text of its own; the "\n" after it is a text node, so it is counted.
    return "<br>\n".join(html_lib.escape(line, quote=False) for line in lines)


def text_to_html(text: str, *, title: str = "") -> str:
    """A complete UTF-8 HTML page whose body text nodes spell ``taguette_form(text)`` exactly.

    Paragraphs (runs separated by blank lines) become ``<p>`` elements, the blank-line runs
    stay between them as text, single line ends become ``<br>`` plus the line end. Leading and
    trailing white space is kept inside the first and last paragraph, because Taguette strips
    the white space around the body. The page declares ``<meta charset="utf-8">``: without it,
    Taguette decodes the upload as windows-1252.
    """
    body_text = taguette_form(text)
    pieces: list[str] = []
    position = 0
    separators = list(_BLANK_RUN.finditer(body_text))
    paragraphs: list[str] = []
    between: list[str] = []
    for match in separators:
        paragraphs.append(body_text[position : match.start()])
        between.append(match.group())
        position = match.end()
    paragraphs.append(body_text[position:])
    # Empty paragraphs (text starting or ending with a blank run) would leave the run outside
    # any element, where Taguette's strip() would eat it; fold it into the neighbour instead.
    if len(paragraphs) > 1 and paragraphs[0] == "":
        paragraphs[1] = between.pop(0) + paragraphs[1]
        paragraphs.pop(0)
    if len(paragraphs) > 1 and paragraphs[-1] == "":
        paragraphs[-2] = paragraphs[-2] + between.pop()
        paragraphs.pop()
    for index, paragraph in enumerate(paragraphs):
        pieces.append("<p>" + _paragraph_html(paragraph) + "</p>")
        if index < len(between):
            pieces.append(between[index])
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html_lib.escape(title)}</title></head>\n<body>"
        + "".join(pieces)
        + "</body></html>"
    )


def html_text(stored_html: str) -> str:
    """The text Taguette counts offsets in: every text node of the parsed HTML, in order.

    Taguette parses with html5lib (through BeautifulSoup) and walks the text nodes; we parse
    with the same html5lib so that implied elements, entity decoding and white space agree.
    Comments are not text (Taguette's sanitiser removes them anyway).
    """
    tree = html5lib.parse(stored_html, treebuilder="etree", namespaceHTMLElements=False)
    # Taguette stores only the body's contents; reading the body alone lets the same function
    # read a whole page we are about to upload (its <title> is not document text).
    body = tree.find("body")
    walker = html5lib.getTreeWalker("etree")
    return "".join(
        token["data"]
        for token in walker(body)
        if token["type"] in ("Characters", "SpaceCharacters")
    )


# Where a block ends, a reader expects a line break; Taguette's text has one only if the HTML
# carried a newline there (Calibre's and other tools' HTML often does not: "<p>a</p><p>b</p>").
_BREAK_AT = {
    **dict.fromkeys(("br", "li", "tr", "dt", "dd", "caption"), "\n"),
    **dict.fromkeys(
        (
            "p",
            "div",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "table",
            "ul",
            "ol",
            "dl",
        ),
        "\n\n",
    ),
}


def readable_text(stored_html: str) -> tuple[str, list[int]]:
    """Taguette's text with line breaks added where blocks meet without white space between
    them, and for each of Taguette's characters its index in that text.

    Used for documents born in Taguette (uploaded there, not pushed from the store), so that the
    store holds a transcript people can read ("…end.\\n\\nNext…" rather than "…end.Next…"),
    while highlights still map exactly. For HTML written by :func:`text_to_html` nothing is
    added: the readable text is Taguette's text.
    """
    _, readable, partner = parse_stored_html(stored_html)
    return readable, partner


def parse_stored_html(stored_html: str) -> tuple[str, str, list[int]]:
    """One html5lib pass: Taguette's text (:func:`html_text`), the readable text and the map
    between them (:func:`readable_text`)."""
    tree = html5lib.parse(stored_html, treebuilder="etree", namespaceHTMLElements=False)
    walker = html5lib.getTreeWalker("etree")
    out: list[str] = []
    partner: list[int] = []
    nodes: list[str] = []
    pending = ""
    for token in walker(tree.find("body")):
        kind = token["type"]
        if kind in ("Characters", "SpaceCharacters"):
            data = token["data"]
            nodes.append(data)
            if pending and out and not out[-1].isspace() and not data[:1].isspace():
                out.extend(pending)
            pending = ""
            for character in data:
                partner.append(len(out))
                out.append(character)
        elif kind in ("StartTag", "EndTag", "EmptyTag") and token.get("name") in _BREAK_AT:
            if len(_BREAK_AT[token["name"]]) > len(pending):
                pending = _BREAK_AT[token["name"]]
    return "".join(nodes), "".join(out), partner


class ByteIndex:
    """Code-point index of each UTF-8 byte offset of one text (and back)."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        total = 0
        for character in text:
            total += len(character.encode("utf-8", "surrogatepass"))
            starts.append(total)
        # starts[i] is the byte offset where code point i begins; starts[-1] the byte length
        self._starts = starts

    @property
    def n_bytes(self) -> int:
        return self._starts[-1]

    def to_char(self, byte_offset: int) -> int:
        """Code point at ``byte_offset``; inside a character, the next character boundary."""
        if not 0 <= byte_offset <= self.n_bytes:
            raise InputError(
                f"byte offset {byte_offset} outside the document (0..{self.n_bytes} bytes)"
            )
        return bisect.bisect_left(self._starts, byte_offset)

    def to_byte(self, char_offset: int) -> int:
        if not 0 <= char_offset <= len(self.text):
            raise InputError(
                f"offset {char_offset} outside the document (0..{len(self.text)} characters)"
            )
        return self._starts[char_offset]


@dataclass(frozen=True)
class Alignment:
    """How many characters of Taguette's text found no partner in the store's text."""

    exact: bool
    unmatched_taguette: int
    unmatched_store: int


class OffsetMap:
    """Map highlights in Taguette's text (UTF-8 bytes) to the store's text (code points).

    ``taguette`` is the text from :func:`html_text`; ``store`` the document's text in the store
    (default: the same text, for documents that were born in Taguette). When the store's text in
    Taguette's form (:func:`taguette_form`) equals Taguette's text the map is exact; otherwise
    the texts are aligned line by line and then character by character (difflib), and a
    highlight's ends snap inwards to the nearest characters both texts share.
    """

    def __init__(
        self, taguette: str, store: str | None = None, *, partner: list[int] | None = None
    ) -> None:
        self.taguette = taguette
        self.store = taguette if store is None else store
        self.bytes = ByteIndex(taguette)
        normal, self._normal_start, self._normal_end = _normal_with_sources(self.store)
        if normal == taguette and partner is None:
            self._partner = None
            self.alignment = Alignment(True, 0, 0)
        else:
            # ``partner`` (from :func:`readable_text`) says where each character went; without
            # it, find out by aligning the two texts
            partner = _align(taguette, normal) if partner is None else partner
            self._partner = partner
            matched = sum(1 for p in partner if p >= 0)
            self.alignment = Alignment(False, len(taguette) - matched, len(normal) - matched)
            # first partner at or after each boundary, last partner before each boundary
            n = len(taguette)
            next_partner = [len(normal)] * (n + 1)
            for i in range(n - 1, -1, -1):
                next_partner[i] = partner[i] if partner[i] >= 0 else next_partner[i + 1]
            previous_end = [0] * (n + 1)
            for i in range(1, n + 1):
                previous_end[i] = partner[i - 1] + 1 if partner[i - 1] >= 0 else previous_end[i - 1]
            self._next_partner = next_partner
            self._previous_end = previous_end

    def to_store(self, start_byte: int, end_byte: int) -> tuple[int, int]:
        """Code-point ``(start, end)`` in the store's text of Taguette's byte span."""
        start = self.bytes.to_char(start_byte)
        end = self.bytes.to_char(end_byte)
        if self._partner is None:
            normal_start, normal_end = start, end
        else:
            normal_start, normal_end = self._next_partner[start], self._previous_end[end]
        store_start = self._normal_start[normal_start]
        store_end = self._normal_end[normal_end]
        return store_start, max(store_start, store_end)

    def to_taguette(self, start: int, end: int) -> tuple[int, int]:
        """Byte ``(start, end)`` in Taguette's text of the store's code-point span ``[start, end)``.

        Used to place highlights for segments pushed from the store; needs an exact map.
        """
        if self._partner is not None:
            raise InputError(
                "the document's text in Taguette differs from the store's; cannot place a span"
            )
        normal_start = bisect.bisect_left(self._normal_start, start)
        normal_end = bisect.bisect_left(self._normal_end, end)
        return self.bytes.to_byte(normal_start), self.bytes.to_byte(normal_end)

    def taguette_span(self, start_byte: int, end_byte: int) -> str:
        """The highlighted text as Taguette holds it."""
        return self.taguette[self.bytes.to_char(start_byte) : self.bytes.to_char(end_byte)]


def _normal_with_sources(text: str) -> tuple[str, list[int], list[int]]:
    """``taguette_form(text)`` plus, for every boundary of it, where it lies in ``text``.

    ``starts[i]`` is the store offset where normal character ``i`` begins (``len(text)`` at the
    end); ``ends[i]`` is the store offset just after normal character ``i - 1`` (0 at the start),
    so a ``\\n`` that stood for ``\\r\\n`` covers both characters.
    """
    normal: list[str] = []
    starts: list[int] = []
    ends: list[int] = [0]
    i, n = 0, len(text)
    while i < n:
        character = text[i]
        starts.append(i)
        if character == "\r":
            width = 2 if i + 1 < n and text[i + 1] == "\n" else 1
            normal.append("\n")
        else:
            width = 1
            normal.append(character)
        i += width
        ends.append(i)
    starts.append(n)
    return "".join(normal), starts, ends


def _align(taguette: str, normal: str) -> list[int]:
    """For each character of ``taguette``, its partner's index in ``normal`` (or -1).

    The common beginning and end pair up directly; in between, lines first (fast, and
    differences in transcripts are local), then characters inside the lines that differ.
    ``autojunk`` is off: in prose, frequent characters are not junk.
    """
    partner = [-1] * len(taguette)
    limit = min(len(taguette), len(normal))
    head = 0
    while head < limit and taguette[head] == normal[head]:
        partner[head] = head
        head += 1
    tail = 0
    while tail < limit - head and taguette[-1 - tail] == normal[-1 - tail]:
        partner[len(taguette) - 1 - tail] = len(normal) - 1 - tail
        tail += 1
    middle = _align_lines(taguette[head : len(taguette) - tail], normal[head : len(normal) - tail])
    for index, other in enumerate(middle):
        if other >= 0:
            partner[head + index] = head + other
    return partner


def _align_lines(taguette: str, normal: str) -> list[int]:
    partner = [-1] * len(taguette)
    t_lines = taguette.splitlines(keepends=True)
    n_lines = normal.splitlines(keepends=True)
    t_starts = _line_starts(t_lines)
    n_starts = _line_starts(n_lines)
    lines = difflib.SequenceMatcher(None, t_lines, n_lines, autojunk=False)
    for tag, t1, t2, n1, n2 in lines.get_opcodes():
        t_from, n_from = t_starts[t1], n_starts[n1]
        if tag == "equal":
            for k in range(t_starts[t2] - t_from):
                partner[t_from + k] = n_from + k
        elif tag == "replace":
            t_block = taguette[t_from : t_starts[t2]]
            n_block = normal[n_from : n_starts[n2]]
            chars = difflib.SequenceMatcher(None, t_block, n_block, autojunk=False)
            for a, b, size in chars.get_matching_blocks():
                for k in range(size):
                    partner[t_from + a + k] = n_from + b + k
    return partner


def _line_starts(lines: list[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts
