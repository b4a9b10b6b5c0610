"""The quality-cluster evaluation workbench.

One package, a wing per step (see README, "How the package is laid out"):
``evaluation.data`` -> ``evaluation.methods`` -> ``evaluation.mixed``;
``evaluation.batch`` and ``evaluation.reports`` run and render the notebooks;
``evaluation.qualitative`` holds the interview-coding module. Below them all sit small modules
that import no wing: :mod:`evaluation.errors` (the one error family), :mod:`evaluation.files`
(the one atomic writer), :mod:`evaluation.paths` (where the project and its default folders
are) and :mod:`evaluation.records` (results recorded in notebooks).

>>> import evaluation
>>> issubclass(evaluation.InputError, evaluation.EvaluationError)
True
"""

from evaluation.errors import EvaluationError, InputError, MissingColumnsError, MissingFileError

__version__ = "0.1.0"

__all__ = [
    "EvaluationError",
    "InputError",
    "MissingColumnsError",
    "MissingFileError",
    "__version__",
]
