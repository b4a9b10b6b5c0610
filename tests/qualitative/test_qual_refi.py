"""REFI-QDA exchange: the NVivo sample round trip, schema validity, targets, hostile files."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

import pytest
from lxml import etree

from evaluation.qualitative import refi
from evaluation.qualitative.store import Store

NS = {"q": "urn:QDA-XML:project:1.0"}


def schema(refi_data, name):
    return etree.XMLSchema(etree.parse(str(refi_data / name)))


def nvivo_truth(path):
    """Independent reading of the NVivo sample: each coding's text by UTF-16 slicing of the file."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        codes = {c.get("guid"): c.get("name") for c in root.iter("{urn:QDA-XML:project:1.0}Code")}
        quotes = Counter()
        for source in root.iterfind(".//q:TextSource", NS):
            member = source.get("plainTextPath").replace("internal://", "Sources/")
            units = archive.read(member).decode("utf-8-sig").encode("utf-16-le")
            for selection in source.iterfind("q:PlainTextSelection", NS):
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
                text = units[2 * start : 2 * end].decode("utf-16-le")
                for ref in selection.iterfind(".//q:CodeRef", NS):
                    quotes[(ref.get("targetGUID"), text)] += 1
    return codes, quotes


def store_quotes(store):
    segments = store.segments(with_text=True)
    guids = dict(store.connection.execute("SELECT id, guid FROM codes").fetchall())
    return Counter(zip(segments["code_id"].map(guids), segments["text"]))


def test_nvivo_sample_imports_exactly(store, refi_data):
    counts = refi.import_qdpx(store, refi_data / "nvivo-sample.qdpx")
    assert counts["segments"] == 303 and counts["documents"] == 2
    codes, quotes = nvivo_truth(refi_data / "nvivo-sample.qdpx")
    assert dict(zip(store.codes()["guid"], store.codes()["name"])) == codes
    assert store_quotes(store) == quotes
    assert set(store.coders()) == {"Gergo", "floriansipos"}
    # the hierarchy survives: a third-level code keeps its ancestors
    assert (
        "HBM 4. Perceived Barriers – Észlelt akadályok/politikai/politikusokkal szembeli "
        "bizalmatlanság/forradalom, ellenállás"
    ) in store.codes()["path"].tolist()


@pytest.mark.parametrize(
    "target, folder", [("nvivo", "Sources/"), ("atlas", "sources/"), ("standard", "sources/")]
)
def test_nvivo_round_trip_keeps_every_code_and_segment(store, refi_data, tmp_path, target, folder):
    refi.import_qdpx(store, refi_data / "nvivo-sample.qdpx")
    out = refi.export_qdpx(store, tmp_path / f"out-{target}.qdpx", target=target)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert all(n == "project.qde" or n.startswith(folder) for n in names)
        root = etree.fromstring(archive.read("project.qde"))
        text = archive.read(next(n for n in names if n.endswith(".txt")))
    assert schema(refi_data, "Project-mrt2019.xsd").validate(root), (
        "export must validate against the schema"
    )
    assert text.startswith(b"\xef\xbb\xbf") == (target == "nvivo")
    again = Store.create(tmp_path / f"again-{target}.sqlite")
    refi.import_qdpx(again, out)
    assert store_quotes(again) == store_quotes(store)
    assert again.codes()[["guid", "path", "description"]].equals(
        store.codes()[["guid", "path", "description"]]
    )


def test_nvivo_target_writes_utf16_positions_and_crlf(store, tmp_path):
    text = "Coordinator: 😀 emoji first.\nThen data 😀 trouble."
    document = store.add_document("emoji", text)
    store.add_code("data", "Obtaining data")
    start = text.index("data")
    store.add_segment(document, "data", start, start + len("data 😀 trouble"), coder="anna")
    nvivo = refi.export_qdpx(store, tmp_path / "n.qdpx", target="nvivo")
    atlas = refi.export_qdpx(store, tmp_path / "a.qdpx", target="atlas")
    for path, expected_start in (
        (nvivo, start + 2),
        (atlas, start),
    ):  # +1 for the emoji, +1 for CRLF
        with zipfile.ZipFile(path) as archive:
            selection = etree.fromstring(archive.read("project.qde")).find(
                ".//q:PlainTextSelection", NS
            )
        assert int(selection.get("startPosition")) == expected_start
    with zipfile.ZipFile(nvivo) as archive:
        raw = archive.read(next(n for n in archive.namelist() if n.startswith("Sources/")))
    assert raw == b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    for path in (nvivo, atlas):
        other = Store.create(tmp_path / f"{path.stem}.sqlite")
        refi.import_qdpx(other, path)
        assert other.segments(with_text=True)["text"].tolist() == ["data 😀 trouble"]


def test_cases_memos_and_variables_round_trip(store, tmp_path, refi_data):
    document = store.add_document("interview_C007", "Coordinator: We rarely get the data in time.")
    store.add_code("data", "Obtaining data", colour="#2ca02c", description="Getting data")
    segment = store.add_segment(document, "data", 13, 44, coder="anna", memo="key quote")
    store.add_case(
        "C007",
        attributes={"region": "Syddanmark", "n_gps": 24, "cluster_id": "C007"},
        documents=[document],
    )
    store.add_memo("project note", target="project", title="About")
    store.add_memo("code note", target="code", target_id="data")
    store.add_memo("document note", target="document", target_id=document)
    store.add_memo("segment note", target="segment", target_id=segment)
    out = refi.export_qdpx(store, tmp_path / "p.qdpx")
    assert not refi.validate(refi.read_project_xml(out), "project")
    again = Store.create(tmp_path / "again.sqlite")
    refi.import_qdpx(again, out)
    case = again.cases().iloc[0]
    assert (case["case"], case["region"], case["n_gps"], case["cluster_id"]) == (
        "C007",
        "Syddanmark",
        "24",
        "C007",
    )
    assert again.case_documents()["document_id"].tolist() == [again.document_id("interview_C007")]
    memos = again.memos().set_index("text")["target"].to_dict()
    assert memos == {
        "project note": "project",
        "code note": "code",
        "document note": "document",
        "segment note": "segment",
    }
    assert again.segments()["memo"].tolist() == ["key quote"]
    assert again.codes()["colour"].tolist() == ["#2ca02c"]


def test_qdc_export_validates_and_imports(store, tmp_path, refi_data):
    refi.import_qdpx(store, refi_data / "nvivo-sample.qdpx")
    out = refi.export_qdc(store, tmp_path / "codebook.qdc")
    assert schema(refi_data, "Codebook-reconstructed.xsd").validate(etree.parse(str(out)))
    fresh = Store.create(tmp_path / "fresh.sqlite")
    assert refi.import_qdc(fresh, out) == len(store.codes())
    assert fresh.codes()["path"].tolist() == store.codes()["path"].tolist()
    assert refi.import_qdc(fresh, out) == 0  # same GUIDs: nothing added twice


# ---------------------------------------------------------------------- hostile files
MINIMAL = b"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="x">
  <CodeBook><Codes>
    <Code guid="11111111-1111-1111-1111-111111111111" name="A" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
  <TextSource guid="22222222-2222-2222-2222-222222222222" name="doc"
      plainTextPath="internal://doc.txt">
    <PlainTextSelection guid="33333333-3333-3333-3333-333333333333"
        startPosition="0" endPosition="END">
      <Coding guid="44444444-4444-4444-4444-444444444444">
        <CodeRef targetGUID="11111111-1111-1111-1111-111111111111"/>
      </Coding>
    </PlainTextSelection>
  </TextSource></Sources>
</Project>
"""


def qdpx(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def hostile_file(tmp_path, case):
    good_xml = MINIMAL.replace(b"END", b"5")
    xxe = good_xml.replace(
        b'<?xml version="1.0" encoding="utf-8"?>',
        b'<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ).replace(b'name="doc"', b'name="&xxe;"')
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b"]>\n"
        + good_xml.split(b"?>", 1)[1].replace(b'name="x"', b'name="&lol9;"')
    )
    if case == "zip bomb":
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("project.qde", good_xml)
            archive.writestr("sources/doc.txt", b"hello world")
            archive.writestr("sources/padding.txt", b"\0" * 60_000_000)
        (tmp_path / "bomb.qdpx").write_bytes(bomb.getvalue())
    builders = {
        "path traversal": lambda: (
            qdpx(
                tmp_path / "traversal.qdpx",
                {
                    "project.qde": good_xml,
                    "sources/doc.txt": b"hello world",
                    "../../evil.txt": b"owned",
                },
            ),
            "path traversal",
        ),
        "absolute path": lambda: (
            qdpx(
                tmp_path / "absolute.qdpx",
                {"project.qde": good_xml, "/tmp/evil.txt": b"owned", "sources/doc.txt": b"hello"},
            ),
            "outside the project folder",
        ),
        "external entity": lambda: (
            qdpx(tmp_path / "xxe.qdpx", {"project.qde": xxe, "sources/doc.txt": b"hello world"}),
            "DOCTYPE or ENTITY",
        ),
        "billion laughs": lambda: (
            qdpx(
                tmp_path / "laughs.qdpx", {"project.qde": laughs, "sources/doc.txt": b"hello world"}
            ),
            "DOCTYPE or ENTITY",
        ),
        "zip bomb": lambda: (tmp_path / "bomb.qdpx", "zip bomb"),
        "segment past end": lambda: (
            qdpx(
                tmp_path / "past.qdpx",
                {"project.qde": MINIMAL.replace(b"END", b"500"), "sources/doc.txt": b"hello world"},
            ),
            "past the end of the document",
        ),
        "unknown code": lambda: (
            qdpx(
                tmp_path / "unknown.qdpx",
                {
                    "project.qde": good_xml.replace(
                        b'CodeRef targetGUID="1111', b'CodeRef targetGUID="9999'
                    ),
                    "sources/doc.txt": b"hello world",
                },
            ),
            "unknown code",
        ),
        "missing source": lambda: (
            qdpx(tmp_path / "missing.qdpx", {"project.qde": good_xml}),
            "missing from the archive",
        ),
        "not a zip": lambda: (tmp_path / "plain.qdpx", "not a zip archive"),
    }
    return builders[case]()


@pytest.mark.parametrize(
    "case",
    [
        "path traversal",
        "absolute path",
        "external entity",
        "billion laughs",
        "zip bomb",
        "segment past end",
        "unknown code",
        "missing source",
        "not a zip",
    ],
)
def test_hostile_projects_are_refused_and_nothing_is_written(store, tmp_path, case):
    (tmp_path / "plain.qdpx").write_text("just text")
    path, message = hostile_file(tmp_path, case)
    store.add_document("already here", "text that must survive")
    before = store.summary()
    with pytest.raises(refi.RefiError, match=message):
        refi.import_qdpx(store, path)
    assert store.summary() == before
    assert (
        not (tmp_path.parent / "evil.txt").exists()
        and not (tmp_path.parent.parent / "evil.txt").exists()
    )


def test_good_minimal_project_imports(store, tmp_path):
    path = qdpx(
        tmp_path / "good.qdpx",
        {"project.qde": MINIMAL.replace(b"END", b"5"), "sources/doc.txt": b"hello world"},
    )
    refi.import_qdpx(store, path)
    assert store.segments(with_text=True)["text"].tolist() == ["hello"]


def test_empty_selection_is_skipped_and_reversed_one_refused(tmp_path):
    empty = qdpx(
        tmp_path / "empty.qdpx",
        {
            "project.qde": MINIMAL.replace(
                b'startPosition="0" endPosition="END"', b'startPosition="3" endPosition="3"'
            ),
            "sources/doc.txt": b"hello world",
        },
    )
    store = Store.create(tmp_path / "a.sqlite")
    counts = refi.import_qdpx(store, empty)
    assert (
        counts["segments"] == 0
        and counts["skipped_empty_selections"] == 1
        and counts["documents"] == 1
    )
    reversed_ = qdpx(
        tmp_path / "reversed.qdpx",
        {
            "project.qde": MINIMAL.replace(
                b'startPosition="0" endPosition="END"', b'startPosition="4" endPosition="2"'
            ),
            "sources/doc.txt": b"hello world",
        },
    )
    other = Store.create(tmp_path / "b.sqlite")
    with pytest.raises(refi.RefiError, match="ends before it starts"):
        refi.import_qdpx(other, reversed_)
    assert other.summary()["documents"] == 0


def test_hostile_codebook_is_refused(store, tmp_path):
    path = tmp_path / "evil.qdc"
    path.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        b'<Code guid="11111111-1111-1111-1111-111111111111" name="&x;" isCodable="true"/>'
        b"</Codes></CodeBook>"
    )
    with pytest.raises(refi.RefiError, match="DOCTYPE or ENTITY"):
        refi.import_qdc(store, path)
    assert store.summary()["codes"] == 0


def test_export_refuses_to_write_an_invalid_file(store, tmp_path, monkeypatch):
    store.add_code("a", "A")
    # pretend the project schema were the codebook schema: the project cannot be valid then
    codebook_schema = refi._schema("codebook")
    monkeypatch.setattr(refi, "_schema", lambda kind: codebook_schema)
    with pytest.raises(refi.RefiError, match="would not validate"):
        refi.export_qdpx(store, tmp_path / "x.qdpx")
    assert not list(tmp_path.glob("*.qdpx")) and not list(tmp_path.glob(".x.qdpx*"))


def test_package_schemas_match_the_reference_copies(refi_data):
    for name in ("Project-mrt2019.xsd", "Codebook-reconstructed.xsd"):
        assert (refi.SCHEMAS / name).read_bytes() == (refi_data / name).read_bytes()
