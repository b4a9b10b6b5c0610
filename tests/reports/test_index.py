"""The landing page: reports by question and region with their headline findings, the job log in
"Run details", no local path, and nothing linked that the disclosure check held back."""

from __future__ import annotations

import lxml.html
import pytest

from evaluation.reports.index import render_index

ROOT = "/home/anna/evaluation"


def job(notebook: str, region: str | None, status: str = "ok", **extra) -> dict:
    stem = notebook.removesuffix(".ipynb")
    job_id = f"{stem}--{region}" if region else stem
    parameters = {"data_dir": f"{ROOT}/data/synthetic"}
    if region:
        parameters.update(region=region, indicator="nsaid", topic="nsaid")
    else:
        parameters["results_dir"] = f"{ROOT}/outputs/r1"
    return {
        "job_id": job_id,
        "notebook": f"{ROOT}/notebooks/{notebook}",
        "title": {"01": "Prescribing before and after", "00": "National summary"}.get(
            stem[:2], "Meeting attendance"
        ),
        "parameters": parameters,
        "kind": "region" if region else "summary",
        "label": region or "national summary",
        "status": status,
        "error": None,
        "duration_s": 2.5,
        "report": f"reports/{job_id}.html" if status != "pending" else None,
        "pdf": None,
        "headline": None,
        "notebook_out": f"notebooks/{job_id}.ipynb" if status != "pending" else None,
        "reused": False,
        **extra,
    }


@pytest.fixture
def manifest():
    return {
        "run_id": "r1",
        "status": "finished",
        "started": "2026-11-30T20:25:38+00:00",
        "finished": "2026-11-30T20:27:02+00:00",
        "data_dir": f"{ROOT}/data/synthetic",
        "data_name": "data/synthetic",
        "synthetic": {"seed": 2026, "scale": "national"},
        "path_names": {f"{ROOT}/data/synthetic": "data/synthetic", ROOT: "."},
        "data_checksums": {"clinics.parquet": "ab" * 32},
        "versions": {"pandas": "2.2"},
        "git": {"commit": "abc", "dirty": False},
        "counts": {"ok": 4, "failed": 1, "blocked": 1, "pending": 0},
        "jobs": [
            job(
                "01_prescribing_impact.ipynb",
                "syddanmark",
                headline="NSAID prescribing fell by 4.1% (95% CI 2.0% to 6.2%).",
                pdf="reports/01_prescribing_impact--syddanmark.pdf",
            ),
            job(
                "01_prescribing_impact.ipynb",
                "hovedstaden",
                headline="NSAID prescribing fell by 2.0% (95% CI 0.9% to 3.0%).",
            ),
            job(
                "02_meeting_attendance.ipynb",
                "sjaelland",
                status="blocked",
                report=None,
                notebook_out=None,
                withheld="withheld/r1/02_meeting_attendance--sjaelland.ipynb",
                error="Disclosure check failed for reports/x.html: table 1 ...",
            ),
            job(
                "02_meeting_attendance.ipynb",
                "hovedstaden",
                status="failed",
                error=f"code cell 3 failed: FileNotFoundError: {ROOT}/data/synthetic/x.parquet",
            ),
            job("00_national_summary.ipynb", None, headline="Pooled, prescribing fell."),
            job("10_tiny_region.ipynb", "nordjylland", title="A tiny extra notebook"),
        ],
    }


def test_reports_grouped_by_question_then_region_with_headlines(manifest):
    page = lxml.html.fromstring(render_index(manifest))
    sections = page.xpath("//section[contains(@class, 'wb-question')]")
    assert [s.findtext("h2") for s in sections] == [
        "Prescribing",
        "Attendance",
        "National",
        "A tiny extra notebook",
    ]
    prescribing = sections[0]
    assert "change its clinics' prescribing" in prescribing.text_content()
    cards = prescribing.xpath(".//article")
    assert [c.findtext("h3") for c in cards] == ["Hovedstaden", "Syddanmark"], "catalogue order"
    assert cards[1].xpath(".//p[@class='wb-headline']")[0].text == (
        "NSAID prescribing fell by 4.1% (95% CI 2.0% to 6.2%)."
    )
    assert cards[1].xpath(".//a/@href") == [
        "reports/01_prescribing_impact--syddanmark.html",
        "reports/01_prescribing_impact--syddanmark.pdf",
    ]
    national = sections[2].xpath(".//article")[0]
    assert national.findtext("h3") == "All regions"
    by_region = page.xpath("//table[contains(@class, 'wb-by-region')]")[0]
    assert [th.text for th in by_region.xpath(".//tbody/tr/th")] == [
        "Hovedstaden",
        "Sjælland",
        "Syddanmark",
        "Nordjylland",
    ]


def test_a_blocked_report_and_its_executed_notebook_are_not_linked(manifest):
    page = lxml.html.fromstring(render_index(manifest))
    hrefs = page.xpath("//a/@href")
    assert not any("02_meeting_attendance--sjaelland" in href for href in hrefs)
    assert not any("withheld" in href for href in hrefs), "the withheld notebook is never linked"
    card = page.xpath("//article[@id='report-02_meeting_attendance--sjaelland']")[0]
    assert "Withheld" in card.text_content() and "executed notebook" in card.text_content()
    row = page.xpath("//tr[@id='job-02_meeting_attendance--sjaelland']")[0]
    assert row.get("data-status") == "blocked" and "Disclosure check failed" in row.text_content()
    failed = page.xpath("//tr[@id='job-02_meeting_attendance--hovedstaden']")[0]
    assert "02_meeting_attendance--hovedstaden.ipynb" in failed.text_content()


def test_run_details_banner_and_no_local_path(manifest):
    html = render_index(manifest)
    assert "/home/" not in html and ROOT not in html
    page = lxml.html.fromstring(html)
    assert "Synthetic demo data" in page.xpath("//div[@class='wb-banner']")[0].text_content()
    details = page.xpath("//details[@id='run-details']")[0].text_content()
    assert "data/synthetic" in details and "ab" * 32 in details
    assert "FileNotFoundError: data/synthetic/x.parquet" in details
    assert "data_dir=data/synthetic" in details
    for table in page.xpath("//details[@id='run-details']//table"):
        assert table.get("data-raw-values") == "allowed", "machine facts, marked as such"


def test_real_data_has_no_banner_and_a_running_run_says_so(manifest):
    manifest.update(synthetic=None, status="running", finished=None)
    page = lxml.html.fromstring(render_index(manifest))
    assert not page.xpath("//div[@class='wb-banner']")
    assert "still in progress" in page.xpath("//p[contains(@class, 'wb-banner')]")[0].text
