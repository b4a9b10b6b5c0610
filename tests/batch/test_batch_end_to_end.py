"""The project's own notebooks and parameter files, end to end (the only full-size run in
tests/batch)."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from batch_helpers import JOB_ROWS, jobs_by_id, read_manifest
from report_checks import require_chromium, run_problems

from evaluation.batch.runner import BatchSettings, run_batch
from evaluation.reports.disclosure import find_small_counts

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_project_notebooks_run_for_two_regions_and_the_summary(tmp_path, synthetic_national):
    outcome = run_batch(
        BatchSettings(
            data_dir=synthetic_national,
            out_dir=tmp_path / "outputs",
            notebooks_dir=PROJECT / "notebooks",
            parameters_dir=PROJECT / "parameters",
            regions=("hovedstaden", "nordjylland"),
            workers=2,
            progress=False,
            timeout=600,
            formats=("html", "pdf"),
        )
    )
    jobs = jobs_by_id(read_manifest(outcome.run_dir))
    problems = {j: job["error"] for j, job in jobs.items() if job["status"] != "ok"}
    assert not problems, problems
    region_notebooks = sorted(
        {Path(j["notebook"]).name for j in jobs.values() if j["kind"] == "region"}
    )
    assert "01_prescribing_impact.ipynb" in region_notebooks
    assert len([j for j in jobs.values() if j["kind"] == "region"]) == 2 * len(region_notebooks)
    assert [j["job_id"] for j in jobs.values() if j["kind"] == "summary"] == [
        "00_national_summary",
        "04_mixed_methods",
    ]
    assert list(jobs)[-2:] == [
        "00_national_summary",
        "04_mixed_methods",
    ]  # summaries run after the regions
    for job in jobs.values():
        html = (outcome.run_dir / job["report"]).read_text(encoding="utf-8")
        assert find_small_counts(html) == []
        page = lxml.html.fromstring(html)
        assert page.xpath("//nav[@class='wb-toc']//a"), f"{job['job_id']}: no table of contents"
        assert all(img.get("alt", "").startswith("Figure") for img in page.iter("img"))
        # the data folder is named (not by its absolute path) and identified by its checksums
        details = page.xpath("//details[@id='run-details']")[0].text_content()
        assert synthetic_national.name in details and "prescribing.parquet" in details
        assert str(synthetic_national) not in html
        assert page.xpath("//div[contains(@class, 'wb-banner')]"), "synthetic demo data"
    summary = (outcome.run_dir / jobs["00_national_summary"]["report"]).read_text(encoding="utf-8")
    n_regional = sum(1 for j in jobs.values() if j["kind"] == "region")
    assert f"{n_regional} of {n_regional} regional runs completed" in summary
    assert summary.count("<img") >= 1, "a forest plot of the recorded estimates"
    # issue 12: every report opens with key findings and shows tables only as reader tables;
    # the national ITS pooling is shown as % change, with Hartung-Knapp intervals for few regions
    for job in jobs.values():
        html = (outcome.run_dir / job["report"]).read_text(encoding="utf-8")
        assert 'class="key-findings"' in html, job["job_id"]
        raw = lxml.html.fromstring(html).xpath(
            "//table[not(contains(@class, 'reader-table'))]"
            "[not(ancestor::details[@id='run-details'])]"
        )
        assert not raw, f"{job['job_id']}: a table not shown through reader_table"
    assert "Change, %" in summary and "Hartung-Knapp" in summary
    assert ">None<" not in summary and "why (if not completed)" not in summary
    # the national report links the mixed-methods joint display, and the link resolves
    links = lxml.html.fromstring(summary).xpath("//a[contains(., 'Joint display')]/@href")
    report_dir = (outcome.run_dir / jobs["00_national_summary"]["report"]).parent
    assert (
        links
        and (report_dir / links[0]).resolve()
        == (outcome.run_dir / jobs["04_mixed_methods"]["report"]).resolve()
    )
    index = lxml.html.parse(str(outcome.run_dir / "index.html")).getroot()
    assert [r.get("data-status") for r in index.xpath(JOB_ROWS)] == ["ok"] * len(jobs)
    # issue 12's reader checks over every real report, the index and every PDF, in Chromium: no
    # sideways overflow at 1280 px, no raw value in a table, key findings first, short alt text,
    # no local path, A4 pages with the key findings on page 1, no table wider than the page
    require_chromium()
    from evaluation.reports.pdf import Chromium

    with Chromium() as browser:
        problems = run_problems(
            outcome.run_dir,
            browser,
            forbidden=[str(PROJECT), str(synthetic_national)],
            require_key_findings=True,
            pdfs=True,
        )
    assert not problems, problems
