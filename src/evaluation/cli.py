"""`workbench`: the command-line face of the package.

Each wing owns its command group (``evaluation.data.cli``, ``evaluation.batch.cli``,
``evaluation.qualitative.cli``, ``evaluation.mixed.cli``); this module only assembles them, and
is the one place where an error becomes a message: every :class:`~evaluation.errors.EvaluationError`
raised by any command is shown as ``Error: <message>`` without a traceback, with exit status 1
(click's usage errors keep their status 2). The wings' commands therefore raise the package's
errors as they are, and never wrap them in click's exceptions.

The wings load lazily: :data:`WINGS` names each top-level command, the module that defines it
and its one-line help, so ``workbench --help`` lists them without importing any wing, and a
wing's module is imported only when its command (or its ``--help``) runs. Heavy imports (pandas,
scipy, papermill) stay inside the commands, so every ``--help`` answers at once
(benchmarks/bench_cli_help.py).
"""

from __future__ import annotations

import importlib
import sys

import click

from evaluation import __version__
from evaluation.errors import EvaluationError

__all__ = ["main"]


def error_message(error: EvaluationError) -> str:
    """The text ``workbench`` shows for ``error``: its message, then any notes a command added
    on the way up (``error.add_note("Nothing was changed in the store.")``).

    >>> error = EvaluationError("clinics.csv: no such file")
    >>> error.add_note("Nothing was written.")
    >>> print(error_message(error))
    clinics.csv: no such file
    Nothing was written.
    """
    return "\n".join([str(error), *getattr(error, "__notes__", ())])


#: top-level command -> (module defining it, attribute, one-line help shown by ``--help``)
WINGS: dict[str, tuple[str, str, str]] = {
    "data": (
        "evaluation.data.cli",
        "data",
        "Generate, validate and aggregate data folders.",
    ),
    "run": (
        "evaluation.batch.cli",
        "run",
        "Run every notebook for every region and render the HTML reports.",
    ),
    "compare-runs": (
        "evaluation.batch.cli",
        "compare_runs_command",
        "List every recorded number that moved between two runs.",
    ),
    "qual": (
        "evaluation.qualitative.cli",
        "qual",
        "Code interview themes: store, import, coding, queries, Taguette.",
    ),
    "mixed": (
        "evaluation.mixed.cli",
        "mixed",
        "Interview themes beside each cluster's effect, as an Excel workbook.",
    ),
}


class WorkbenchGroup(click.Group):
    """A click group that loads its wings lazily and turns the package's errors into click's
    one-line ``Error: ...``.

    Subcommands (and their subgroups) run inside :meth:`invoke`, so an
    :class:`~evaluation.errors.EvaluationError` from any depth passes through here. Click then
    prints it to stderr and exits with the error's ``exit_code`` (1).

    >>> sorted(main.list_commands(click.Context(main)))
    ['compare-runs', 'data', 'mixed', 'qual', 'run']
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(WINGS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in WINGS:
            module, attribute, _ = WINGS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own version asks every command for its short help, which would import every
        # wing; an unloaded wing's help comes from WINGS instead.
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width - 16)))
            else:
                rows.append((name, WINGS[name][2]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EvaluationError as error:
            failure = click.ClickException(error_message(error))
            failure.exit_code = getattr(error, "exit_code", 1)
            raise failure from None


@click.group(
    cls=WorkbenchGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="workbench")
def main() -> None:
    """The quality-cluster evaluation workbench.

    \b
    workbench data synth       generate the synthetic national dataset
    workbench data check       validate a data folder, listing every problem
    workbench data aggregate   prescription records -> clinic-month indicators (DuckDB)
    workbench run              evaluate every region and render HTML reports
    workbench compare-runs     every recorded number that moved between two runs
    workbench qual ...         code interview themes (the qualitative module, Taguette)
    workbench mixed            interview themes beside each cluster's effect (Excel workbook)
    """


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
