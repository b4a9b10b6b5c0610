"""`workbench`: the command-line face of the package.

Each wing owns its command group (``evaluation.data.cli``, ``evaluation.batch.cli``,
``evaluation.qualitative.cli``); this module only assembles them. Heavy imports stay inside the
commands so that ``workbench --help`` answers at once.
"""

from __future__ import annotations

import sys

import click

from evaluation import __version__


class WorkbenchError(click.ClickException):
    """An error the user can act on: printed without a traceback, exit status 1."""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="workbench")
def main() -> None:
    """The quality-cluster evaluation workbench.

    \b
    workbench data synth       generate the synthetic national dataset
    workbench data check       validate a data folder, listing every problem
    workbench data aggregate   prescription records -> clinic-month indicators (DuckDB)
    workbench run              evaluate every region and render HTML reports
    workbench qual ...         code interview themes (the qualitative module, Taguette)
    workbench mixed            interview themes beside each cluster's effect (Excel workbook)
    """


def _register() -> None:
    from evaluation.data.cli import data

    main.add_command(data)
    try:
        from evaluation.batch.cli import run
    except ImportError:  # pragma: no cover - wing not present
        pass
    else:
        main.add_command(run)
    try:
        from evaluation.qualitative.cli import qual
    except ImportError:  # pragma: no cover - wing not present
        pass
    else:
        main.add_command(qual)
    try:
        from evaluation.mixed.cli import mixed
    except ImportError:  # pragma: no cover - wing not present
        pass
    else:
        main.add_command(mixed)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
