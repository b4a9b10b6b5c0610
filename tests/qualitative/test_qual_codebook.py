"""codebook.yml synced into the store; restructuring keeps every segment."""

from __future__ import annotations

import textwrap

import pytest

from evaluation.qualitative.codebook import (
    CodebookError,
    codebook_to_yaml,
    parse_codebook,
    read_codebook,
    sync_codebook,
    sync_codebook_file,
)


def write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BASE = """
codes:
  - key: data
    name: Obtaining data
    colour: "#2ca02c"
    children:
      - key: data.challenges
        name: Challenges
      - key: data.enablers
        name: Enablers
  - key: admin
    name: Administration
  - key: paperwork
    name: Paperwork
"""


@pytest.fixture
def coded(store, tmp_path):
    sync_codebook_file(store, write(tmp_path / "codebook.yml", BASE))
    text = "Coordinator: The portal was slow. The data came late. Minutes take time. Forms too."
    doc = store.add_document("i1", text)
    spans = {
        "data.challenges": ["The portal was slow.", "The data came late."],
        "admin": ["Minutes take time."],
        "paperwork": ["Forms too."],
    }
    for key, quotes in spans.items():
        for quote in quotes:
            start = text.index(quote)
            store.add_segment(doc, key, start, start + len(quote), coder="anna")
    return store


def test_sync_builds_the_tree(coded):
    codes = coded.codes()
    assert codes["path"].tolist() == [
        "Obtaining data",
        "Obtaining data/Challenges",
        "Obtaining data/Enablers",
        "Administration",
        "Paperwork",
    ]
    assert codes.set_index("key").loc["data", "colour"] == "#2ca02c"


def test_rename_keeps_segments(coded, tmp_path):
    renamed = BASE.replace("name: Obtaining data", "name: Getting hold of data").replace(
        "key: admin\n    name: Administration",
        "key: administration\n    renamed_from: admin\n    name: Admin work",
    )
    counts = sync_codebook_file(coded, write(tmp_path / "codebook.yml", renamed))
    assert counts["renamed"] == 1 and counts["deleted"] == 0
    segments = coded.segments()
    assert (segments["code_key"] == "administration").sum() == 1
    assert "Getting hold of data/Challenges" in coded.codes()["path"].tolist()
    assert len(segments) == 4


def test_merge_keeps_segments(coded, tmp_path):
    merged = BASE.replace("  - key: paperwork\n    name: Paperwork\n", "").replace(
        "name: Administration", "name: Administration\n    merged_from: [paperwork]"
    )
    counts = sync_codebook_file(coded, write(tmp_path / "codebook.yml", merged))
    assert counts["merged"] == 1 and counts["segments_moved"] == 1
    assert coded.segments()["code_key"].value_counts()["admin"] == 2
    assert "paperwork" not in coded.codes()["key"].tolist()
    # syncing the same file again changes nothing
    again = sync_codebook_file(coded, tmp_path / "codebook.yml")
    assert again["merged"] == 0 and again["segments_moved"] == 0


def test_split_keeps_segments(coded, tmp_path):
    split = BASE.replace(
        """      - key: data.challenges
        name: Challenges
""",
        """      - key: data.portal
        name: Portal trouble
        split_from: data.challenges
        keywords: [portal]
      - key: data.delays
        name: Delays
        split_from: data.challenges
        default: true
""",
    )
    counts = sync_codebook_file(coded, write(tmp_path / "codebook.yml", split))
    assert counts["split"] == 1 and counts["segments_moved"] == 2
    segments = coded.segments(with_text=True).set_index("text")
    assert segments.loc["The portal was slow.", "code_key"] == "data.portal"
    assert segments.loc["The data came late.", "code_key"] == "data.delays"
    assert len(segments) == 4


def test_dropping_a_code_with_segments_is_refused_and_nothing_changes(coded, tmp_path):
    before = coded.codes()
    dropped = BASE.replace("  - key: paperwork\n    name: Paperwork\n", "").replace(
        "Administration", "Admin"
    )
    with pytest.raises(CodebookError, match="still has 1 segment"):
        sync_codebook_file(coded, write(tmp_path / "codebook.yml", dropped))
    assert coded.codes()[["key", "name"]].equals(before[["key", "name"]])


def test_cycle_is_refused(tmp_path):
    cyclic = """
    codes:
      - {key: a, name: A, parent: c}
      - {key: b, name: B, parent: a}
      - {key: c, name: C, parent: b}
    """
    with pytest.raises(CodebookError, match="cycle: a -> c -> b -> a|cycle"):
        read_codebook(write(tmp_path / "cyclic.yml", cyclic))


@pytest.mark.parametrize(
    "body, message",
    [
        ("codes: []\n", None),
        ("nothing: here\n", "list under 'codes:'"),
        ("codes:\n  - {key: 'a b', name: A}\n", "must be letters"),
        ("codes:\n  - {key: a, name: A}\n  - {key: a, name: B}\n", "duplicate code key"),
        ("codes:\n  - {key: a, name: A, parent: zz}\n", "parent 'zz' is not in the codebook"),
        ("codes:\n  - {key: a, name: A, colour: red}\n", "colour"),
        ("codes:\n  - {key: a, name: A, typo: 1}\n", "unknown field"),
        ("codes:\n  - {key: a, name: 'A/B'}\n", "may not contain '/'"),
    ],
)
def test_invalid_codebooks_name_the_problem(body, message):
    import yaml

    if message is None:
        assert parse_codebook(yaml.safe_load(body)) == []
    else:
        with pytest.raises(CodebookError, match=message):
            parse_codebook(yaml.safe_load(body))


def test_yaml_export_round_trips(coded, store):
    import yaml

    text = codebook_to_yaml(coded)
    specs = parse_codebook(yaml.safe_load(text))
    assert [s.key for s in specs] == coded.codes()["key"].tolist()
    counts = sync_codebook(coded, specs)
    assert counts["added"] == counts["deleted"] == 0


def test_repository_codebook_is_the_study_codebook():
    """qualitative/codebook.yml (reviewed in git) equals what the demo generator writes."""
    from pathlib import Path

    from evaluation.qualitative.demo import codebook_yaml

    committed = Path(__file__).resolve().parents[2] / "qualitative" / "codebook.yml"
    assert committed.read_text(encoding="utf-8") == codebook_yaml()
    specs = read_codebook(committed)
    themes = [s for s in specs if s.parent is None]
    assert len(themes) == 8 and all(
        {f"{t.key}.challenges", f"{t.key}.enablers"} <= {s.key for s in specs} for t in themes
    )


def test_cyclic_codebook_file_changes_nothing_in_the_store(coded, tmp_path):
    before = coded.codes()
    cyclic = BASE + "  - {key: x, name: X, parent: y}\n  - {key: y, name: Y, parent: x}\n"
    with pytest.raises(CodebookError, match="cycle"):
        sync_codebook_file(coded, write(tmp_path / "codebook.yml", cyclic))
    assert coded.codes().equals(before)


def test_cycle_made_in_sql_is_caught_by_the_store(coded):
    from evaluation.qualitative.store import StoreError

    data, challenges = coded.code_id("data"), coded.code_id("data.challenges")
    coded.connection.execute("UPDATE codes SET parent_id = ? WHERE id = ?", (challenges, data))
    with pytest.raises(StoreError, match="cycle"):
        coded.codes()
