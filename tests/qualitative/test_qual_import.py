"""Transcripts in every format, speaker turns, pseudonymisation."""

from __future__ import annotations

import pytest
from qual_helpers import make_pdf

from evaluation.qualitative.importers import (
    TranscriptImportError,
    import_transcripts,
    read_transcript,
)
from evaluation.qualitative.pseudonyms import (
    PseudonymError,
    PseudonymMapping,
    propose_mapping,
    read_mapping,
    write_mapping,
)

LINES = [
    "Interviewer: Hvordan får I data?",
    "Coordinator: Vi får data fra portalen i Ærøskøbing, men det tager tid.",
    "Interviewer: Og fremmødet?",
    "Coordinator: Næsten alle kommer, også Søren Ålund.",
]


def write_all_formats(folder):
    import docx
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    folder.mkdir(exist_ok=True)
    paths = {}
    (folder / "a.txt").write_bytes(("\ufeff" + "\r\n".join(LINES) + "\r\n").encode("utf-8"))
    paths["txt"] = folder / "a.txt"
    (folder / "b.md").write_text(
        "# Title\n\n"
        + "\n\n".join(f"**{line.split(': ', 1)[0]}:** {line.split(': ', 1)[1]}" for line in LINES),
        encoding="utf-8",
    )
    paths["md"] = folder / "b.md"
    document = docx.Document()
    for line in LINES:
        document.add_paragraph(line)
    document.save(folder / "c.docx")
    paths["docx"] = folder / "c.docx"
    odt = OpenDocumentText()
    for line in LINES:
        odt.text.addElement(P(text=line))
    odt.save(str(folder / "d.odt"))
    paths["odt"] = folder / "d.odt"
    (folder / "e.html").write_text(
        "<html><head><style>p{}</style><script>var x=1;</script></head><body>"
        + "".join("<p><b>{}:</b> {}</p>".format(*line.split(": ", 1)) for line in LINES)
        + "</body></html>",
        encoding="utf-8",
    )
    paths["html"] = folder / "e.html"
    paths["pdf"] = make_pdf(folder / "f.pdf", LINES)
    return paths


@pytest.mark.parametrize("kind", ["txt", "md", "docx", "odt", "html", "pdf"])
def test_every_format_gives_text_and_speaker_turns(tmp_path, kind):
    path = write_all_formats(tmp_path / "in")[kind]
    transcript = read_transcript(path)
    assert "\r" not in transcript.text and "\ufeff" not in transcript.text
    assert "Ærøskøbing" in transcript.text and "Søren Ålund" in transcript.text
    assert "var x" not in transcript.text
    speakers = [speaker for _, _, speaker in transcript.turns]
    assert speakers == ["Interviewer", "Coordinator", "Interviewer", "Coordinator"]
    start, end, _ = transcript.turns[1]
    assert transcript.text[start:end] == "Vi får data fra portalen i Ærøskøbing, men det tager tid."


def test_import_is_all_or_nothing(store, tmp_path):
    paths = write_all_formats(tmp_path / "in")
    bad = tmp_path / "in" / "broken.docx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(TranscriptImportError, match="broken.docx"):
        import_transcripts(store, [paths["txt"], bad], progress=False)
    assert store.summary()["documents"] == 0
    ids = import_transcripts(store, list(paths.values()), progress=False)
    assert len(ids) == 6 and len(store.speaker_turns()) == 24


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("x.rtf", b"{\\rtf1}", "cannot import .rtf"),
        ("empty.txt", b"  \n", "has no text"),
        ("scan.pdf", None, "no text layer"),
        ("evil.html", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><p>&a;</p>', "declares XML entities"),
    ],
)
def test_bad_transcripts_get_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        make_pdf(path, [])
    else:
        path.write_bytes(content)
    with pytest.raises(TranscriptImportError, match=message):
        read_transcript(path)


def test_cp1252_text_is_read(tmp_path):
    path = tmp_path / "danish.txt"
    path.write_bytes("Coordinator: Vi mødes på kroen.".encode("cp1252"))
    assert read_transcript(path).text == "Coordinator: Vi mødes på kroen."


def test_pseudonymisation_is_reversible_only_with_the_mapping(store, tmp_path):
    paths = write_all_formats(tmp_path / "in")
    mapping_path = tmp_path / "pseudonyms.yml"
    draft = propose_mapping([read_transcript(paths["txt"]).text])
    assert "Søren Ålund" in [real for real, _ in draft.pairs]
    write_mapping(mapping_path, draft)
    unreviewed = read_mapping(mapping_path)
    with pytest.raises(PseudonymError, match="not been reviewed"):
        import_transcripts(store, [paths["txt"]], pseudonyms=unreviewed, progress=False)
    assert store.summary()["documents"] == 0
    reviewed = PseudonymMapping(
        [("Søren Ålund", "[GP 1]"), ("Ærøskøbing", "[Town 1]")], reviewed_by="tester"
    )
    write_mapping(mapping_path, reviewed)
    mapping = read_mapping(mapping_path)
    import_transcripts(store, [paths["txt"]], pseudonyms=mapping, progress=False)
    stored = store.document_text("a")
    assert "Søren" not in stored and "Ærøskøbing" not in stored
    assert "[GP 1]" in stored and "[Town 1]" in stored
    # speaker turns are found in the pseudonymised text
    assert store.speaker_turns("a")["speaker"].tolist() == [
        "Interviewer",
        "Coordinator",
        "Interviewer",
        "Coordinator",
    ]
    assert mapping.reverse(stored) == read_transcript(paths["txt"]).text


def test_mapping_errors(tmp_path):
    with pytest.raises(PseudonymError, match="listed twice"):
        PseudonymMapping([("A", "[X]"), ("B", "[X]")], reviewed_by="me")
    mapping = PseudonymMapping([("Holm", "[Name 1]")], reviewed_by="me")
    with pytest.raises(PseudonymError, match="already contains the pseudonym"):
        mapping.apply("[Name 1] met Holm")
    # whole words only: Holmgaard is not Holm
    assert mapping.apply("Holm and Holmgaard") == "[Name 1] and Holmgaard"
    (tmp_path / "bad.yml").write_text("replacements:\n  - real: x\n", encoding="utf-8")
    with pytest.raises(PseudonymError, match="needs 'real' and 'pseudonym'"):
        read_mapping(tmp_path / "bad.yml")


def test_zip_bomb_disguised_as_docx_is_refused(store, tmp_path):
    import zipfile

    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 60_000_000)
    with pytest.raises(TranscriptImportError, match="zip bomb"):
        import_transcripts(store, [path], progress=False)
    assert store.summary()["documents"] == 0
