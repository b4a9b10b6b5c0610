"""The docstring examples of the methods modules run and print what
they say (pingouin-style runnable examples stay honest)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "checks",
        "control_charts",
        "controlled_before_after",
        "descriptives",
        "funnel_plots",
        "meeting_attendance",
        "pooling",
    ],
)
def test_docstring_examples(module):
    loaded = importlib.import_module(f"evaluation.methods.{module}")
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for test in finder.find(loaded, loaded.__name__):
        examples += len(test.examples)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert examples > 0
    assert result.failed == 0, (
        f"{result.failed} docstring example(s) failed in evaluation.methods.{module}"
    )
