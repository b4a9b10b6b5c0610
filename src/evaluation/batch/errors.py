"""The batch wing's own error, apart from the runner so the executors can raise it too."""

from __future__ import annotations

from evaluation.errors import EvaluationError

__all__ = ["BatchError"]


class BatchError(EvaluationError, RuntimeError):
    """A problem with the run as a whole (nothing to resume, no notebooks, ...)."""
