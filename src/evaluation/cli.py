"""`workbench`: the command-line face of the package.

Each wing owns its command group (``evaluation.data.cli``, ``evaluation.batch.cli``,
``evaluation.qualitative.cli``, ``evaluation.mixed.cli``); this module only assembles them, and
is the one place where an error becomes a message: every :class:`~evaluation.errors.EvaluationError`
raised by any command is shown as ``Error: <message>`` without a traceback, with exit status 1
(click's usage errors keep their status 2). The wings' commands therefore raise the package's
errors as they are, and never wrap them in click's exceptions. Heavy imports stay inside the
commands so that ``workbench --help`` answers at once.
"""

from __future__ import annotations

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


class WorkbenchGroup(click.Group):
    """A click group that turns the package's errors into click's one-line ``Error: ...``.

    Subcommands (and their subgroups) run inside :meth:`invoke`, so an
    :class:`~evaluation.errors.EvaluationError` from any depth passes through here. Click then
    prints it to stderr and exits with the error's ``exit_code`` (1).
    """

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


def _register() -> None:
    from evaluation.batch.cli import compare_runs_command, run
    from evaluation.data.cli import data
    from evaluation.mixed.cli import mixed
    from evaluation.qualitative.cli import qual

    for command in (data, run, compare_runs_command, qual, mixed):
        main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
