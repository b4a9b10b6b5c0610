"""The docstring examples of the DiD robustness modules run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "event_study",
    "parallel_trends_sensitivity",
    "pretrends",
    "interaction_weighted",
    "imputation",
    "bacon",
    "event_study_estimators",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    loaded = importlib.import_module(f"evaluation.methods.{module}")
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for test in doctest.DocTestFinder().find(loaded, loaded.__name__):
        examples += len(test.examples)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert examples > 0
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module}"
