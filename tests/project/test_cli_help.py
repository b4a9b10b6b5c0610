"""Every `workbench` command, at every depth, answers --help."""

from __future__ import annotations

import click
from click.testing import CliRunner

from evaluation.cli import main


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))
        else:
            yield path + (name,)


def test_every_command_has_help():
    paths = list(_commands(main))
    assert (
        ("data", "synth") in paths and ("run",) in paths and ("qual", "taguette", "pull") in paths
    )
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output and len(result.output.splitlines()) > 3, path
