"""The examples in the modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "store",
    "codebook",
    "importers",
    "pseudonyms",
    "coding",
    "queries",
    "agreement",
    "cases",
    "summary",
    "demo",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"evaluation.qualitative.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
