"""`workbench run --format html,pdf`: an A4 PDF of every report, printed by headless Chromium.

One real run of the tiny notebooks on the synthetic data (so every page carries the "synthetic
demo data" banner), through the command line. The PDFs are checked as a reader gets them: A4
pages (pypdf), the key findings on page 1 (pdftotext, Debian's poppler-utils), and no table wider
than the printable area in Chromium's print layout. Without Chromium or pdftotext the tests skip,
except under CI, where they fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from batch_helpers import FAST_PRELOAD, jobs_by_id, read_manifest, write_parameters
from click.testing import CliRunner
from report_checks import (
    key_findings_of,
    pdf_problems,
    print_layout_problems,
    require_chromium,
    run_problems,
)

from evaluation.cli import main

# one test process runs them all, so the module's run is made once (test_suite_groups.py)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pdf-run")]
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


def run_args(data, out, parameters, *extra: str) -> list[str]:
    return [
        "run",
        "--data",
        str(data),
        "--out",
        str(out),
        "--notebooks",
        str(NOTEBOOKS),
        "--parameters",
        str(parameters),
        "--workers",
        "2",
        "--timeout",
        "120",
        "--no-progress",
        "--preload",
        ",".join(FAST_PRELOAD),
        *extra,
    ]


@pytest.fixture(scope="module")
def pdf_run(synthetic_small, tmp_path_factory):
    require_chromium()
    root = tmp_path_factory.mktemp("pdf-run")
    parameters = write_parameters(root / "parameters", ["hovedstaden", "nordjylland"])
    result = CliRunner().invoke(
        main,
        run_args(synthetic_small, root / "outputs", parameters, "--format", "html,pdf"),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return (root / "outputs" / "latest").resolve()


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from evaluation.reports.pdf import Chromium

    with Chromium() as instance:
        yield instance


def test_every_report_prints_to_a4_with_its_key_findings_on_page_one(pdf_run):
    jobs = jobs_by_id(read_manifest(pdf_run))
    assert sorted(jobs) == [
        "00_tiny_summary",
        "10_tiny_region--hovedstaden",
        "10_tiny_region--nordjylland",
    ]
    for job in jobs.values():
        assert job["status"] == "ok"
        html, pdf = pdf_run / job["report"], pdf_run / job["pdf"]
        assert pdf == html.with_suffix(".pdf") and pdf.read_bytes().startswith(b"%PDF")
        findings = key_findings_of(html)
        assert findings, f"{html.name} has a key findings box"
        assert pdf_problems(pdf, findings) == []


def test_no_table_is_wider_than_the_printable_area(pdf_run, browser):
    for job in read_manifest(pdf_run)["jobs"]:
        assert print_layout_problems(browser, pdf_run / job["report"]) == []


def test_the_index_links_html_and_pdf_and_every_page_says_the_data_are_synthetic(
    pdf_run, browser, synthetic_small
):
    index = (pdf_run / "index.html").read_text(encoding="utf-8")
    for job in read_manifest(pdf_run)["jobs"]:
        assert f'href="{job["report"]}"' in index and f'href="{job["pdf"]}"' in index
    problems = run_problems(
        pdf_run,
        browser,
        forbidden=[str(synthetic_small.resolve())],
        require_key_findings=True,
        pdfs=True,
    )
    assert problems == {}
    for page in [pdf_run / "index.html", *(pdf_run / "reports").glob("*.html")]:
        browser.reset_emulation()
        browser.open(page)
        banner = browser.evaluate("(document.querySelector('.wb-banner') || {}).innerText")
        assert banner and "Synthetic demo data" in banner, page.name


def test_a_missing_chromium_is_a_clear_error_before_anything_runs(tmp_path, synthetic_small):
    parameters = write_parameters(tmp_path / "parameters", ["hovedstaden"])
    result = CliRunner().invoke(
        main,
        run_args(synthetic_small, tmp_path / "outputs", parameters, "--format", "html,pdf"),
        env={"EVALUATION_CHROMIUM": str(tmp_path / "no-such-chromium")},
    )
    assert result.exit_code != 0
    assert "PDF output needs Chromium" in result.output and "EVALUATION_CHROMIUM" in result.output
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").iterdir())


def test_an_unknown_format_is_refused(tmp_path, synthetic_small):
    parameters = write_parameters(tmp_path / "parameters", ["hovedstaden"])
    result = CliRunner().invoke(
        main, run_args(synthetic_small, tmp_path / "out", parameters, "--format", "html,docx")
    )
    assert result.exit_code == 2 and "html or html,pdf" in result.output


def test_without_chromium_on_the_path_the_package_is_named(monkeypatch, tmp_path):
    from evaluation.reports.pdf import ChromiumMissingError, find_chromium

    monkeypatch.delenv("EVALUATION_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no browser on this PATH
    assert shutil.which("chromium") is None
    with pytest.raises(ChromiumMissingError, match="apt-get install chromium"):
        find_chromium()
