"""The quality-cluster evaluation workbench.

One package, a wing per step (see README, "How the package is laid out"):
``evaluation.data`` -> ``evaluation.methods`` -> ``evaluation.mixed``;
``evaluation.batch`` and ``evaluation.reports`` run and render the notebooks;
``evaluation.qualitative`` holds the interview-coding module.
"""

__version__ = "0.1.0"
