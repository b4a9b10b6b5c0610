"""Each wing names its public API in ``__all__``, and every name there can be imported."""

from __future__ import annotations

import importlib

import pytest

FACES = ("evaluation", "evaluation.data", "evaluation.batch", "evaluation.reports")


@pytest.mark.parametrize("name", FACES)
def test_every_public_name_resolves(name):
    package = importlib.import_module(name)
    public = package.__all__
    assert public and len(set(public)) == len(public), f"{name}.__all__ repeats a name"
    for attribute in public:
        assert getattr(package, attribute) is not None, f"{name}.{attribute}"
    star: dict = {}
    exec(f"from {name} import *", star)  # what `import *` gives a notebook
    assert set(public) <= set(star)


@pytest.mark.parametrize("name", ["evaluation.data", "evaluation.batch"])
def test_lazy_faces_list_exactly_what_they_load(name):
    # these two import their modules on first use, so that `workbench --help` stays quick
    package = importlib.import_module(name)
    assert sorted(package._EXPORTS) == sorted(package.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = package.nothing_here


def test_the_record_helpers_are_the_same_objects_under_both_names():
    import evaluation.batch.record as old_name
    import evaluation.records as records

    for attribute in old_name.__all__:
        assert getattr(old_name, attribute) is getattr(records, attribute)
    from evaluation.batch import record_estimate

    assert record_estimate is records.record_estimate
