"""Fixtures for the interview-themes notebook tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_demo_project(synthetic_small, tmp_path_factory) -> Path:
    """A project folder whose qualitative/demo/ holds the demo built from the small synthetic data
    (4 interviews per region: the small set has 4 clusters in each; the default 5 needs the national
    set), with an empty notebooks/ folder to run from, as `workbench run` and JupyterLab do."""
    from evaluation.qualitative.demo import build_demo

    project = tmp_path_factory.mktemp("project")
    build_demo(synthetic_small, project / "qualitative" / "demo", per_region=4, progress=False)
    (project / "notebooks").mkdir()
    return project


def assert_report_ready(executed: dict) -> None:
    """Issue 12's report-level properties of an executed notebook (JSON dict): every HTML table
    is a reader table, a key-findings box exists, no cell shows a bare value or a raw DataFrame
    as text, and notebook-user instructions sit in cells tagged notebook-only."""
    import re

    outputs = [
        output
        for cell in executed["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    ]
    assert not [o for o in outputs if o["output_type"] == "error"]
    html_outputs = [
        "".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})
    ]
    for text in html_outputs:
        for table in re.findall(r"<table[^>]*>", text):
            assert 'class="reader-table"' in table, f"a raw table in the report: {table}"
    assert any('class="key-findings"' in text for text in html_outputs), "no key-findings box"
    for output in outputs:
        if output["output_type"] == "execute_result":
            data = output.get("data", {})
            assert "text/html" in data or "text/markdown" in data or "image/png" in data, (
                f"a bare value in the report: {data.get('text/plain')!r}"
            )
        assert output["output_type"] != "stream" or output.get("name") == "stderr", (
            f"console text in the report: {''.join(output.get('text', ''))[:200]!r}"
        )
    for cell in executed["cells"]:
        if cell["cell_type"] == "markdown" and "change the parameters" in "".join(cell["source"]):
            assert "notebook-only" in cell["metadata"].get("tags", [])


@pytest.fixture
def report_ready():
    """:func:`assert_report_ready`, for the notebook tests (conftest is not importable)."""
    return assert_report_ready
