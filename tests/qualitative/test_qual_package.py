"""One package face: evaluation.qualitative and evaluation.qualitative.taguette name their
public API in an explicit __all__, every name resolves, and no module shares its name with a
function it exports (so `package.name` is never ambiguous between a module and a function)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

PACKAGES = ["evaluation.qualitative", "evaluation.qualitative.taguette"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_explicit_and_every_name_resolves(name):
    package = importlib.import_module(name)
    assert package.__all__ == sorted(package.__all__) and len(set(package.__all__)) == len(
        package.__all__
    )
    assert set(package.__all__) == set(package._MODULE_OF)
    for public in package.__all__:
        value = getattr(package, public)
        assert value.__module__ == package._MODULE_OF[public], public
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = package.nothing_here


@pytest.mark.parametrize("name", PACKAGES)
def test_no_module_shares_its_name_with_a_public_function(name):
    package = importlib.import_module(name)
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert not modules & set(package.__all__)


def test_push_and_pull_live_in_upload_and_download():
    from evaluation.qualitative.taguette import pull, push
    from evaluation.qualitative.taguette.download import pull as pull_function
    from evaluation.qualitative.taguette.upload import push as push_function

    assert (pull, push) == (pull_function, push_function)


def test_the_package_exports_its_error_classes():
    import evaluation.qualitative as qualitative
    import evaluation.qualitative.taguette as taguette

    assert {
        "StoreError",
        "CodebookError",
        "DemoError",
        "DemoDataMissing",
        "TranscriptImportError",
        "PseudonymError",
        "RefiError",
    } <= set(qualitative.__all__)
    assert {
        "CredentialsError",
        "TaguetteError",
        "TaguetteUnreachable",
        "TaguetteAuthError",
        "TaguetteSessionExpired",
        "TaguetteHTTPError",
        "TaguetteConflict",
        "TaguetteExportError",
        "TaguetteSyncError",
    } <= set(taguette.__all__)


def test_importing_the_packages_loads_none_of_their_modules():
    # the CLI imports the packages to register `workbench qual`: it must not pay for them all
    code = (
        "import sys, evaluation.qualitative, evaluation.qualitative.taguette; "
        "print(sorted(m for m in sys.modules if m.startswith('evaluation.qualitative.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "['evaluation.qualitative.taguette']"
