"""`make test` runs on both cores with `--dist loadgroup`, and leans on it: the tests that share one
expensive module fixture (published reports, a batch run, the Slurm daemons) are put in one
xdist_group so that fixture is built once. If grouping stops taking effect, as it silently did
with pytest 9.2 and pytest-xdist 3.8 (pytest-xdist#1386), nothing fails, the suite only gets
minutes slower; this test makes that visible.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap


def test_tests_of_one_xdist_group_run_in_one_test_process(tmp_path):
    grouped = """
        import pytest

        pytestmark = pytest.mark.xdist_group("shared")

        @pytest.mark.parametrize("i", range(4))
        def test_grouped(i):
            pass
    """
    loose = """
        import pytest

        @pytest.mark.parametrize("i", range(8))
        def test_loose(i):
            pass
    """
    (tmp_path / "test_a_grouped.py").write_text(textwrap.dedent(grouped))
    (tmp_path / "test_b_grouped.py").write_text(textwrap.dedent(grouped))
    (tmp_path / "test_loose.py").write_text(textwrap.dedent(loose))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # keep the project's settings out
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v"]
        + ["-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED (\S+)", finished.stdout)
    grouped_on = {worker for worker, test in ran if "test_grouped" in test}
    assert len([test for _, test in ran if "test_grouped" in test]) == 8, finished.stdout
    assert len(grouped_on) == 1, (
        f"the 8 tests of one xdist_group ran on {sorted(grouped_on)}: --dist loadgroup is not "
        "grouping (see pytest-xdist#1386 and the pytest pin in pyproject.toml)\n" + finished.stdout
    )
