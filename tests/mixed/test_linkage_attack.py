"""Issue 14, item 2: the attacker's view of report 04. From the published HTML of a run's reports
(04, and 02 with every cluster's attendance by cluster id), try to tell which cluster each
interview is: by the order of the cluster ids, by the list of clusters without an interview, and
by matching attendance shares. None of them may identify an interview.

Run on the national synthetic data and its 25-interview demo, as `make run` makes them: report 04
under papermill, report 02 for Nordjylland (13 clusters, 5 interviewed), both rendered by the
reports renderer exactly as `workbench run` publishes them.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import lxml.html
import nbformat
import pytest

from notebook_kernels import execute_notebook

# one test process runs them all, so the published reports (module fixture) are made once
pytestmark = pytest.mark.xdist_group("linkage-attack")

ROOT = Path(__file__).resolve().parents[2]
REGION, REGION_NAME = "nordjylland", "Nordjylland"
BAND = r"under 50%|50-75%|over 75%"


def _run(notebook: str, project: Path, out: Path, parameters: dict) -> str:
    """Execute a notebook as `workbench run` does and return its published HTML."""
    from evaluation.reports.html import render_report

    execute_notebook(
        str(ROOT / "notebooks" / f"{notebook}.ipynb"),
        str(out),
        parameters=parameters,
        cwd=str(project / "notebooks"),
    )
    executed = nbformat.read(out, as_version=4)
    return render_report(executed, {"title": notebook, "status": "ok"})


@pytest.fixture(scope="module")
def published(national_demo, synthetic_national, tmp_path_factory):
    """The published HTML of reports 04 and 02 (Nordjylland), the executed 04, and the truth:
    {interview label: (cluster id, region)} from the coding store."""
    from evaluation.qualitative.cases import interview_numbers
    from evaluation.qualitative.store import Store

    folder = tmp_path_factory.mktemp("attack")
    project = folder / "project"
    shutil.copytree(national_demo, project)
    data = {"data_dir": str(synthetic_national)}
    html_04 = _run("04_mixed_methods", project, folder / "04.ipynb", data)
    html_02 = _run(
        "02_meeting_attendance", project, folder / "02.ipynb", {**data, "region": REGION}
    )
    with Store.open(project / "qualitative" / "demo" / "coding.sqlite") as store:
        numbers = interview_numbers(store)  # what the notebook drew and kept
        cases = store.cases().set_index("case")
    truth = {
        f"Interview {numbers[case]:02d}": (cases.loc[case, "cluster_id"], cases.loc[case, "region"])
        for case in cases.index
    }
    return {
        "04": html_04,
        "02": html_02,
        "executed_04": (folder / "04.ipynb").read_text(encoding="utf-8"),
        "truth": truth,
    }


def _attendance_of_clusters(html_02: str) -> dict[str, float]:
    """Report 02's table of every cluster's attendance: {cluster id: attended %}."""
    page = lxml.html.fromstring(html_02)
    table = page.xpath("//table[caption[contains(., 'Attendance per cluster')]]")[0]
    headers = [th.text_content().strip() for th in table.xpath(".//thead//th")]
    cluster, attended = headers.index("Cluster"), headers.index("Attended")
    rows = [
        [td.text_content().strip() for td in tr.xpath("./td")] for tr in table.xpath(".//tbody/tr")
    ]
    return {row[cluster]: float(row[attended].rstrip("%")) for row in rows}


def _interviews_in_joint_display(html_04: str) -> dict[str, str]:
    """Report 04's joint display: {interview label: what it says of its attendance}."""
    text = lxml.html.fromstring(html_04).text_content()
    found = re.findall(rf"(Interview \d+): [^;\n]*; attendance ({BAND}|[^\n]*)", text)
    assert found, "the joint display names interviews with their attendance"
    return dict(found)


def _in_band(percent: float, band: str) -> bool:
    low, high = {"under 50%": (0, 50), "50-75%": (50, 75), "over 75%": (75, 101)}[band]
    return low - 0.05 <= percent < high + 0.05  # report 02 rounds to one decimal


@pytest.mark.slow
def test_interview_numbers_do_not_follow_the_cluster_ids(published):
    truth = published["truth"]
    # the attacker is even given the set of interviewed clusters, and numbers them in id order
    by_number = sorted(truth)
    by_id = sorted(cluster for cluster, _ in truth.values())
    hits = sum(truth[label][0] == guess for label, guess in zip(by_number, by_id, strict=True))
    # a random numbering matches about one of 25; 7 or more happens by chance once in ~10^4
    assert hits <= 6, f"{hits} of {len(truth)} interviews numbered in cluster-id order"


@pytest.mark.slow
def test_no_cluster_is_named_in_report_04_its_notebook_or_its_records(
    published, synthetic_national
):
    import pandas as pd

    clusters = set(pd.read_parquet(synthetic_national / "clusters.parquet")["cluster_id"])
    text = lxml.html.fromstring(published["04"]).text_content()
    named = {c for c in clusters if re.search(rf"\b{c}\b", text)}
    assert not named, f"report 04 names clusters: {sorted(named)[:5]}"
    # the executed notebook (and so the manifest's records) is published beside the report
    in_notebook = {c for c in clusters if re.search(rf"\b{c}\b", published["executed_04"])}
    assert not in_notebook, f"the executed notebook names clusters: {sorted(in_notebook)[:5]}"
    assert "Without an interview:" not in text
    counts = re.findall(r"Clusters without an interview \((\d+)\), by region", text)
    assert counts == ["89"]


@pytest.mark.slow
def test_attendance_shares_do_not_pin_an_interview_to_its_cluster(published):
    attendance = _attendance_of_clusters(published["02"])  # every Nordjylland cluster, by id
    shown = _interviews_in_joint_display(published["04"])
    truth = published["truth"]
    # the attacker knows (from report 03's quotes, say) which interviews are in Nordjylland
    mine = {label: truth[label][0] for label in shown if truth[label][1] == REGION_NAME}
    assert len(mine) >= 3, "the region's interviews are in the joint display"
    chances = []
    for label, cluster in mine.items():
        band = shown[label]
        assert re.fullmatch(BAND, band), f"{label}: attendance shown as {band!r}, not in a band"
        candidates = [c for c, percent in attendance.items() if _in_band(percent, band)]
        assert cluster in candidates  # the attack is sound: the true cluster is among them
        assert len(candidates) >= 2, f"{label} is pinned to {candidates}"
        chances.append(1 / len(candidates))
        # what the bands prevent: the exact share, as report 02 prints it, is (nearly) unique
        exact = [c for c, p in attendance.items() if p == attendance[cluster]]
        assert len(exact) <= 2
    # the attacker's best guess is right no more often than a pick among 3 or more clusters
    assert sum(chances) / len(chances) <= 1 / 3
    # nor do the group means give a single cluster's share away (means of >= 3 clusters only)
    records = json.dumps(published["executed_04"])
    assert "% attendance" not in records
