"""One error family: every error the qualitative wing raises on bad input is an EvaluationError,
and still the built-in type it used to be, so old `except ValueError` code keeps working."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import evaluation.qualitative
from evaluation.errors import EvaluationError, InputError

# The command-line modules turn errors into click's exit status (their wrappers are the CLI's
# business), so only the library modules are walked here.
LIBRARY_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(
        evaluation.qualitative.__path__, prefix="evaluation.qualitative."
    )
    if not info.name.endswith(".cli")
)

# the built-in type each error class was before the family existed, kept as a second base
BUILT_IN_BASE = {
    "StoreError": ValueError,
    "CodebookError": ValueError,
    "DemoError": ValueError,
    "DemoDataMissing": FileNotFoundError,
    "TranscriptImportError": ValueError,
    "PseudonymError": ValueError,
    "RefiError": ValueError,
    "CredentialsError": ValueError,
    "TaguetteError": RuntimeError,
    "TaguetteUnreachable": RuntimeError,
    "TaguetteAuthError": RuntimeError,
    "TaguetteSessionExpired": RuntimeError,
    "TaguetteHTTPError": RuntimeError,
    "TaguetteConflict": RuntimeError,
    "TaguetteExportError": ValueError,
    "TaguetteSyncError": ValueError,
}


def _error_classes() -> dict[str, type]:
    found = {}
    for name in LIBRARY_MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[attribute] = value
    return found


def test_every_error_class_of_the_wing_is_an_evaluation_error_and_keeps_its_old_base():
    classes = _error_classes()
    assert set(classes) == set(BUILT_IN_BASE)  # a new error class gets a line above
    for name, error in classes.items():
        assert issubclass(error, EvaluationError), name
        assert issubclass(error, BUILT_IN_BASE[name]), name


def test_a_missing_demo_input_is_caught_as_one_family(tmp_path):
    from evaluation.qualitative.demo import DemoError, build_demo

    with pytest.raises(EvaluationError, match=r"clusters\.parquet is missing") as caught:
        build_demo(tmp_path / "no-data", tmp_path / "demo", progress=False)
    assert isinstance(caught.value, DemoError | FileNotFoundError)
    assert not (tmp_path / "demo").exists()


def test_a_bad_argument_is_an_input_error(store):
    from evaluation.qualitative.agreement import agreement_table

    _ = store.add_code("data", "Data")
    document = store.add_document("i1", "Coordinator: We lacked data.")
    store.add_segment(document, "data", 0, 5, coder="anna")
    store.add_segment(document, "data", 0, 5, coder="bo")
    segments = store.segments()
    with pytest.raises(InputError, match="level 'word'"):
        agreement_table(segments, store.documents(), "anna", "bo", level="word")
