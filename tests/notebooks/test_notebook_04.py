"""notebooks/04_mixed_methods.ipynb: a summary notebook `workbench run` accepts, run under papermill
on the demo project with interviews that do not link, rendered to a shareable report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import lxml.html
import nbformat
import pytest

from notebook_kernels import execute_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "04_mixed_methods.ipynb"


def test_notebook_is_a_summary_run_once_per_batch(tmp_path):
    from evaluation.batch.parameters import build_grid, check_grid, load_parameter_sets

    sets = load_parameter_sets(ROOT / "parameters")
    jobs = build_grid([NOTEBOOK], sets, data_dir=tmp_path / "data", results_dir=tmp_path / "run")
    assert [(job.job_id, job.kind) for job in jobs] == [("04_mixed_methods", "summary")]
    assert set(jobs[0].parameters) == {"data_dir", "results_dir"}
    check_grid(jobs)


@pytest.mark.slow
def test_report_shows_unlinked_interviews_clusters_without_interviews_and_the_joint_display(
    national_demo, synthetic_national, tmp_path, report_ready
):
    from evaluation.batch.record import read_notebook_records
    from evaluation.qualitative.store import Store
    from evaluation.reports.disclosure import find_small_counts
    from evaluation.reports.html import render_report

    project = tmp_path / "project"
    shutil.copytree(national_demo, project)
    store_path = project / "qualitative" / "demo" / "coding.sqlite"
    with Store.open(store_path) as store:
        interviewed = set(store.cases()["case"])
        # one interview naming a cluster the registers do not have, one naming none at all
        typo = store.add_document("interview_26_C0O7", "Coordinator: We met four times last year.")
        pilot = store.add_document(
            "pilot_interview", "Coordinator: This was the pilot of the interview guide."
        )
        store.add_case("interview 26", attributes={"cluster_id": "C0O7"}, documents=[typo])
        store.add_case("pilot", documents=[pilot])

    out = tmp_path / "04_executed.ipynb"
    execute_notebook(
        str(NOTEBOOK),
        str(out),
        cwd=str(project / "notebooks"),
        parameters={"data_dir": str(synthetic_national)},
    )
    executed = nbformat.read(out, as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 4
    report_ready(executed)  # issue 12: reader tables, key findings, no console text

    records = read_notebook_records(out)
    assert records["links_summary"] == (
        "25 interview case(s) linked to 25 of the 114 clusters; 1 case(s) name a "
        "cluster that is not in the data; 1 case(s) name no cluster; 89 cluster(s) "
        "have no interview."
    )
    assert sorted(records["unlinked_cases"]["case"]) == ["interview 26", "pilot"]
    # counted by region, never listed by id (issue 14)
    by_region = records["clusters_without_interviews"]
    assert "cluster_id" not in by_region and by_region["clusters without an interview"].sum() == 89
    comparison = records["theme_comparison"]
    found = comparison[comparison["significant"]]
    assert ("effect", "Obtaining data/Challenges") in set(zip(found["outcome"], found["code"]))

    html = render_report(executed, {"title": "04 mixed methods", "status": "ok"})
    assert find_small_counts(html, 5) == []
    text = lxml.html.fromstring(html).text_content()
    assert "cluster C0O7 is not in the clusters table; did you mean C007" in text
    assert "no 'cluster_id' attribute, and the case name is not a cluster id" in text
    assert "Clusters without an interview" in text and "C002" not in text  # not listed by id
    page = lxml.html.fromstring(html)
    joint = page.xpath(
        "//table[contains(@class, 'reader-table')][caption[contains(., 'Joint display')"
        " or contains(., 'beside qualitative finding')]]"
    )
    assert len(joint) == 2  # the joint display and the side-by-side display
    assert (
        len(page.xpath("//th[contains(., 'Which (effect')]")) == 1
    )  # shown once, as the escaped table
    headers = [th.text_content() for th in joint[0].xpath(".//th")]
    assert headers[:3] == ["Theme", "Clusters raising it", "Which (effect, 95% CI; attendance)"]
    shown = joint[0].text_content()
    assert re.search(r"Interview \d\d:", shown)
    assert re.search(r"attendance (over 75|50-75|under 50)%", shown)
    assert not re.search(r"\d% attendance", shown), "a cluster's exact attendance is not shown"
    assert "What the registers show" in joint[1].text_content()
    # interviews are named by number: no interviewed cluster's id appears anywhere in the report
    assert not [c for c in interviewed if re.search(rf"\b{c}\b", text)]
    # quotes reach the page as the store's pseudonymised text, escaped (e.g. "[Consultant 1]")
    quotes = [q for q in records["joint_display"]["illustrative quote"] if q]
    cells = [td.text_content() for td in joint[0].xpath(".//td")]
    assert quotes and all(q in cells for q in quotes)
    from evaluation.qualitative import demo_text

    real_names = (
        demo_text.COORDINATOR_NAMES
        + demo_text.COLLEAGUE_NAMES
        + demo_text.CONSULTANT_NAMES
        + demo_text.TOWN_NAMES
        + demo_text.CLINIC_NAMES
    )
    assert any("[" in q for q in quotes) and not [n for n in real_names if n in text]
