"""Reading transcripts (.txt, .md, .docx, .odt, .pdf, .html) into plain text with speaker turns.

Every reader returns the document's plain text in Unicode NFC with ``\\n`` line ends; offsets
everywhere else in the module are code points into exactly this text. Speaker turns are
recognised where a line starts with a label and a colon ("Interviewer:", "Coordinator:",
"**Interviewer:**" in Markdown) and the label is a usual role (Interviewer, Coordinator, ...) or
starts at least two lines - so a stray "Note:" is not taken for a speaker.

Example
-------
>>> text = "Interviewer: How do you start?\\nCoordinator: With data.\\nInterviewer: And?\\n"
>>> turns = find_speaker_turns(text)
>>> [(speaker, start, end) for start, end, speaker in turns]
[('Interviewer', 13, 30), ('Coordinator', 44, 54), ('Interviewer', 68, 72)]
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.archives import ArchiveLimits, check_archive
from evaluation.errors import EvaluationError
from evaluation.qualitative.store import Store, StoreError

TRANSCRIPT_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".pdf", ".html", ".htm")

_SPEAKER_LINE = re.compile(
    # the label, optionally in bold (** or __), then a colon; white space around each part
    r"^[ \t]*(?:\*\*|__)?"
    r"(?P<label>[A-ZÆØÅÄÖÜ\[][\wÆØÅæøåÄÖÜäöü .'\-\]]{0,40}?)"
    r"[ \t]*(?:\*\*|__)?:[ \t]*(?:\*\*|__)?[ \t]*",
    re.MULTILINE,
)


# labels always taken for speakers, even if they speak only once
KNOWN_SPEAKERS = {
    "interviewer",
    "coordinator",
    "interviewee",
    "respondent",
    "moderator",
    "participant",
}


class TranscriptImportError(EvaluationError, ValueError):
    """A file that cannot be imported; the message names the file and what to do."""


@dataclass
class Transcript:
    name: str
    text: str
    source_path: str | None = None
    turns: list[tuple[int, int, str]] = field(default_factory=list)


def normalise_text(text: str) -> str:
    """NFC, ``\\n`` line ends, no BOM, no NUL: the one form the store's offsets refer to."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return unicodedata.normalize("NFC", text)


def find_speaker_turns(text: str, *, min_occurrences: int = 2) -> list[tuple[int, int, str]]:
    """Speaker turns as (start, end, speaker): the utterance after the label up to the next label
    (trailing whitespace excluded). Labels must start a line and recur ``min_occurrences`` times."""
    matches = [m for m in _SPEAKER_LINE.finditer(text) if len(m.group("label").split()) <= 4]
    counts = Counter(m.group("label").strip() for m in matches)
    matches = [
        m
        for m in matches
        if counts[m.group("label").strip()] >= min_occurrences
        or m.group("label").strip().lower() in KNOWN_SPEAKERS
    ]
    turns = []
    for index, match in enumerate(matches):
        start = match.end()
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            turns.append((start, end, match.group("label").strip()))
    return turns


# ---------------------------------------------------------------------- readers
def _read_plain(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in (
        ("utf-8-sig", "utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    ):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    # Danish files from Windows tools are often cp1252; it decodes every byte except five
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        raise TranscriptImportError(
            f"{path}: neither UTF-8 nor cp1252 text; save it as UTF-8 and import again"
        ) from None


def _read_markdown(path: Path) -> str:
    text = _read_plain(path)
    # bold speaker labels ("**Interviewer:**") become plain labels; the rest stays as written
    return re.sub(r"^([ \t]*)(\*\*|__)([^*_\n]{1,40}?:)\2", r"\1\3", text, flags=re.MULTILINE)


# A transcript is text: a few MB of XML at most, whatever the word processor adds; images are
# read by python-docx too, hence the total. Checked member by member in bounded memory before
# the library (which trusts the zip's headers) opens the file.
TRANSCRIPT_LIMITS = ArchiveLimits(members=5_000, total_bytes=100_000_000, member_bytes=50_000_000)


def _check_zip(path: Path) -> None:
    check_archive(
        path, TRANSCRIPT_LIMITS, kind=f"a {path.suffix} file", error=TranscriptImportError
    )


def _read_docx(path: Path) -> str:
    _check_zip(path)
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as error:  # python-docx raises several types for broken packages
        raise TranscriptImportError(f"{path}: cannot read as .docx ({error})") from None
    return "\n".join(paragraph.text for paragraph in document.paragraphs)


def _read_odt(path: Path) -> str:
    _check_zip(path)
    from odf import teletype
    from odf import text as odf_text
    from odf.opendocument import load

    try:
        document = load(str(path))
    except Exception as error:
        raise TranscriptImportError(f"{path}: cannot read as .odt ({error})") from None
    paragraphs = document.getElementsByType(odf_text.P) + document.getElementsByType(odf_text.H)
    # getElementsByType groups by type; restore document order via the element tree walk
    ordered = [node for node in _walk(document.text) if node in set(paragraphs)]
    return "\n".join(teletype.extractText(node) for node in ordered)


def _walk(node):
    for child in node.childNodes:
        yield child
        yield from _walk(child)


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise TranscriptImportError(f"{path}: the PDF is encrypted; export an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as error:
        raise TranscriptImportError(f"{path}: cannot read as PDF ({error})") from None
    text = "\n".join(page.rstrip("\n") for page in pages)
    if not text.strip():
        raise TranscriptImportError(f"{path}: the PDF has no text layer (a scan?); run OCR first")
    return text


_BLOCKS = {
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "pre",
    "dt",
    "dd",
    "section",
    "article",
}


def _read_html(path: Path) -> str:
    from lxml import etree, html

    raw = path.read_bytes()
    if re.search(rb"<!ENTITY", raw, re.IGNORECASE):
        raise TranscriptImportError(
            f"{path}: declares XML entities; refusing (possible entity expansion attack)"
        )
    # decode ourselves: lxml guesses latin-1 for HTML without a charset, which garbles æøå
    declared = re.search(
        rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", raw[:4096], re.IGNORECASE
    )
    encodings = [declared.group(1).decode("ascii")] if declared else ["utf-8-sig", "cp1252"]
    for encoding in encodings:
        try:
            markup = raw.decode(encoding)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    else:
        raise TranscriptImportError(
            f"{path}: cannot decode the HTML as {' or '.join(encodings)}; save it as UTF-8"
        )
    markup = re.sub(
        r"^\s*<\?xml[^>]*\?>", "", markup
    )  # lxml refuses str input with an XML declaration
    parser = html.HTMLParser(
        no_network=True, remove_comments=True, remove_pis=True, default_doctype=False
    )
    try:
        root = html.document_fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError) as error:
        raise TranscriptImportError(f"{path}: cannot parse HTML ({error})") from None
    for bad in root.xpath("//script|//style|//head"):
        bad.drop_tree()
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = re.sub(r"[ \t\r\n]+", " ", "".join(current)).strip()
        if line:
            lines.append(line)
        current.clear()

    def visit(element) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == "br":
            flush()
        elif tag in _BLOCKS:
            flush()
        if element.text and tag != "br":
            current.append(element.text)
        for child in element:
            visit(child)
            if child.tail:
                current.append(child.tail)
        if tag in _BLOCKS:
            flush()

    visit(root)
    flush()
    return "\n".join(lines)


READERS = {
    ".txt": _read_plain,
    ".md": _read_markdown,
    ".docx": _read_docx,
    ".odt": _read_odt,
    ".pdf": _read_pdf,
    ".html": _read_html,
    ".htm": _read_html,
}


def read_transcript(path: str | os.PathLike, *, name: str | None = None) -> Transcript:
    """Read one transcript file into a :class:`Transcript` (format chosen by extension)."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise TranscriptImportError(
            f"{path}: cannot import {path.suffix or 'files without an extension'}; "
            f"expected one of {', '.join(TRANSCRIPT_SUFFIXES)} (or .qdpx/.qdc for projects)"
        )
    if not path.is_file():
        raise TranscriptImportError(f"{path}: no such file")
    text = normalise_text(reader(path))
    if not text.strip():
        raise TranscriptImportError(f"{path}: the file has no text")
    return Transcript(
        name=name or path.stem, text=text, source_path=str(path), turns=find_speaker_turns(text)
    )


def import_transcripts(
    store: Store,
    paths: list[str | os.PathLike],
    *,
    pseudonyms=None,
    progress: bool = True,
) -> list[int]:
    """Read every file, pseudonymise it if a mapping is given, and add all of them in one
    transaction: if any file fails, nothing is added. Returns the new document ids."""
    from tqdm.auto import tqdm

    transcripts = []
    for path in tqdm(paths, desc="reading transcripts", unit="file", disable=not progress):
        transcript = read_transcript(path)
        if pseudonyms is not None:
            transcript.text = pseudonyms.apply(transcript.text, source=str(path))
            transcript.turns = find_speaker_turns(transcript.text)
        transcripts.append(transcript)
    names = [t.name for t in transcripts]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise TranscriptImportError(
            f"several files would become the document(s) {clashes}; rename them first"
        )
    ids = []
    with store.transaction() as cur:
        if pseudonyms is not None:
            # which mapping was used, without the mapping itself (that stays with the team)
            cur.execute(
                "INSERT OR REPLACE INTO project VALUES ('pseudonym_mapping_sha256', ?)",
                (pseudonyms.sha256,),
            )
        for transcript in transcripts:
            try:
                ids.append(
                    store.add_document(
                        transcript.name,
                        transcript.text,
                        source_path=transcript.source_path,
                        turns=transcript.turns,
                    )
                )
            except StoreError as error:
                raise TranscriptImportError(f"{transcript.source_path}: {error}") from None
    return ids
