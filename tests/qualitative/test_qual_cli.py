"""`workbench qual ...`: help everywhere, the demo, and clear errors with exit status 1."""

from __future__ import annotations

import zipfile

import click
import pytest
from click.testing import CliRunner

from evaluation.cli import main
from evaluation.qualitative.cli import qual


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


def test_qual_is_registered_and_every_command_has_help():
    runner = CliRunner()
    commands = list(all_commands(qual))
    assert {
        ("init",),
        ("import",),
        ("import-qdpx",),
        ("export",),
        ("code", "span"),
        ("code", "pattern"),
        ("query", "segments"),
        ("query", "cooccurrence"),
        ("query", "framework"),
        ("agreement",),
        ("disagreements",),
        ("consensus",),
        ("suggest",),
        ("demo",),
        ("codebook", "sync"),
    } <= set(commands)
    for command in commands:
        result = runner.invoke(main, ["qual", *command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage: main qual" in result.output or "Usage:" in result.output


def test_demo_through_the_cli_is_reproducible(demo_project, synthetic_national, tmp_path):
    runner = CliRunner()
    out = tmp_path / "demo"
    result = runner.invoke(
        main,
        [
            "qual",
            "demo",
            "--data",
            str(synthetic_national),
            "--out",
            str(out),
            "--seed",
            "2026",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    from evaluation.qualitative.store import Store

    with (
        Store.open(out / "coding.sqlite") as mine,
        Store.open(demo_project / "coding.sqlite") as theirs,
    ):
        assert mine.summary() == theirs.summary()
        columns = ["document", "code_key", "coder", "start", "end"]
        assert mine.segments()[columns].equals(theirs.segments()[columns])
    assert (out / "truth.json").read_text() == (demo_project / "truth.json").read_text()


def test_workflow_from_init_to_export(tmp_path, monkeypatch, refi_data):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qualitative").mkdir()
    (tmp_path / "qualitative" / "codebook.yml").write_text(
        "codes:\n  - key: data\n    name: Obtaining data\n  - key: funding\n    name: Funding\n",
        encoding="utf-8",
    )
    (tmp_path / "t1.txt").write_text(
        "Interviewer: Data?\nCoordinator: The portal is slow. Money is short.\n", encoding="utf-8"
    )
    (tmp_path / "map.yml").write_text("reviewed_by: me\nreplacements: []\n", encoding="utf-8")

    def run(*args):
        result = runner.invoke(main, ["qual", *args])
        assert result.exit_code == 0, (args, result.output)
        return result.output

    assert "codes" in run("init")
    run("import", "t1.txt", "--pseudonyms", "map.yml", "--case", "C001", "--quiet")
    run("cases", "set", "C001", "--attribute", "region=Nordjylland")
    run("code", "pattern", "data", "--keywords", "portal", "--coder", "anna")
    run("code", "quote", "t1", "funding", "Money is short.", "--coder", "anna")
    run("code", "pattern", "data", "--pattern", "portal|slow", "--unit", "turn", "--coder", "bo")
    run("memo", "Check the portal story", "--on", "code", "--target", "data")
    assert "The portal is slow." in run("query", "segments", "--attribute", "region=Nordjylland")
    assert "Obtaining data" in run("query", "frequencies", "--by", "region")
    run("query", "cooccurrence", "--out", "co.csv")
    assert "cohen_kappa" in run("agreement", "anna", "bo")
    run("disagreements", "anna", "bo", "--out", "dis.csv")
    import pandas as pd

    decisions = pd.read_csv(tmp_path / "dis.csv")
    decisions["keep"] = (
        decisions["coded_by"] == "anna"
    )  # the team sides with anna on every disagreement
    decisions.to_csv(tmp_path / "decisions.csv", index=False)
    run("consensus", "anna", "bo", "--keep", "decisions.csv")
    summary = run("summary")
    assert "coders     3" in summary
    run("pseudonyms", "propose", "t1.txt", "--out", "draft.yml")
    assert "reviewed_by: ''" in (tmp_path / "draft.yml").read_text(encoding="utf-8")
    (tmp_path / "real.yml").write_text(
        "reviewed_by: me\nreplacements:\n  - {real: Money, pseudonym: '[M]'}\n", encoding="utf-8"
    )
    (tmp_path / "masked.txt").write_text("[M] is short.", encoding="utf-8")
    run("pseudonyms", "reverse", "masked.txt", "--mapping", "real.yml", "--out", "back.txt")
    assert (tmp_path / "back.txt").read_text(encoding="utf-8") == "Money is short."
    for name in ("p.qdpx", "c.qdc", "q.docx", "q.xlsx", "q.md", "q.html"):
        run("export", name)
        assert (tmp_path / name).stat().st_size > 0
    with zipfile.ZipFile(tmp_path / "p.qdpx") as archive:
        assert "project.qde" in archive.namelist()
    run("import", str(refi_data / "nvivo-sample.qdpx"), "--store", "other.sqlite")
    assert "303" in run("summary", "--store", "other.sqlite")


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "x.pdf"], "cannot export to .pdf"),
        (["agreement", "anna", "nobody"], "has no segments"),
        (["code", "span", "t1", "nope", "0", "3", "--coder", "anna"], "no code 'nope'"),
        (["code", "span", "t1", "data", "0", "9999", "--coder", "anna"], "past the end"),
        (["query", "segments", "--attribute", "region"], "expected NAME=VALUE"),
    ],
)
def test_errors_exit_1_with_a_clear_message(tmp_path, monkeypatch, args, message):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    from evaluation.qualitative.store import Store

    with Store.create(tmp_path / "qualitative" / "coding.sqlite") as store:
        document = store.add_document("t1", "Coordinator: hello")
        store.add_code("data")
        store.add_segment(document, "data", 0, 5, coder="anna")
    result = runner.invoke(main, ["qual", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_store_and_hostile_file_via_cli(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["qual", "summary", "--store", "none.sqlite"])
    assert result.exit_code == 1 and "workbench qual init" in result.output
    evil = tmp_path / "evil.qdpx"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("project.qde", "<Project xmlns='urn:QDA-XML:project:1.0' name='x'/>")
        archive.writestr("../evil.txt", "x")
    (tmp_path / "map.yml").write_text("reviewed_by: me\nreplacements: []\n", encoding="utf-8")
    result = runner.invoke(
        main, ["qual", "import", str(evil), "--pseudonyms", "map.yml", "--store", "s.sqlite"]
    )
    assert result.exit_code == 1 and "applies to transcripts only" in result.output
    result = runner.invoke(main, ["qual", "import", str(evil), "--store", "s.sqlite"])
    assert result.exit_code == 1 and "path traversal" in result.output
    assert not (tmp_path / "s.sqlite").exists()  # nothing written, not even an empty store
    assert not (tmp_path.parent / "evil.txt").exists()


def test_demo_never_replaces_a_folder_it_did_not_make(synthetic_small, tmp_path):
    project = tmp_path / "qualitative"
    (project / "transcripts").mkdir(parents=True)
    (project / "transcripts" / "real_interview.docx").write_bytes(b"precious")
    result = CliRunner().invoke(
        main, ["qual", "demo", "--data", str(synthetic_small), "--out", str(project), "--quiet"]
    )
    assert result.exit_code == 1 and "refusing to replace" in result.output
    assert (project / "transcripts" / "real_interview.docx").read_bytes() == b"precious"


def test_demo_on_too_small_data_says_what_to_do(synthetic_small, tmp_path):
    result = CliRunner().invoke(
        main,
        ["qual", "demo", "--data", str(synthetic_small), "--out", str(tmp_path / "d"), "--quiet"],
    )
    assert (
        result.exit_code == 1
        and "has only 4 clusters" in result.output
        and "--per-region" in result.output
    )
    result = CliRunner().invoke(
        main,
        [
            "qual",
            "demo",
            "--data",
            str(synthetic_small),
            "--out",
            str(tmp_path / "d"),
            "--per-region",
            "2",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 10 interviews" in result.output
