"""The package's one error family.

Every error the workbench raises on bad input derives from :class:`EvaluationError`, so a caller
(a notebook, a script, the CLI) catches one type and shows one clean message; ``workbench``
turns it into a one-line message and exit status 1 in exactly one place (``evaluation.cli``).
Each wing subclasses it for its own inputs (``DiDInputError``, ``ReadError``, ``StoreError``,
...), keeping the built-in type it used to be (``ValueError``, ``KeyError``, ...) as a second
base so that existing ``except ValueError`` code keeps working.

Messages name the file, column or row, what was expected, and what to do next.

>>> try:
...     raise MissingColumnsError(["clinic_id"], where="prescribing")
... except EvaluationError as error:
...     print(error)
prescribing: missing column 'clinic_id'; expected it among the input's columns.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "EvaluationError",
    "InputError",
    "MissingColumnsError",
    "MissingFileError",
    "OutputTargetError",
]


class EvaluationError(Exception):
    """Base class of every error the package raises on bad input or an impossible request."""

    #: the CLI's exit status for this error (1, as click uses for a failed command)
    exit_code = 1


class InputError(EvaluationError, ValueError):
    """A value, table or file that is not what a function expects."""


class MissingFileError(EvaluationError, FileNotFoundError):
    """A file or folder the user named (or a default one) does not exist; the message names it
    and says how to make or choose one."""

    def __str__(self) -> str:  # OSError would otherwise show "[Errno ...]" for two arguments
        return str(self.args[0]) if self.args else ""


class OutputTargetError(InputError):
    """A place the user asked a command to write (``--out``) cannot take what it would write: it
    is a file where a folder is needed (or the other way round), it is not writable, or it holds
    files the command did not make. Checked before anything is computed or written; the message
    names the place and says what to do."""


class MissingColumnsError(InputError, KeyError):
    """A table lacks columns a function needs; the message names them and where."""

    def __init__(self, missing: Iterable[str], where: str = "data", available=None):
        self.missing = list(missing)
        self.where = where
        names = ", ".join(repr(name) for name in self.missing)
        plural = "s" if len(self.missing) != 1 else ""
        hint = (
            f"; it has {', '.join(repr(str(c)) for c in available)}"
            if available is not None
            else "; expected it among the input's columns"
            if len(self.missing) == 1
            else "; expected them among the input's columns"
        )
        super().__init__(f"{where}: missing column{plural} {names}{hint}.")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""
