"""`workbench run --per-cluster`: one report per cluster of the data and per language.

The notebook is a stand-in with notebook 05's parameters cell (tests/batch/notebooks/cluster/,
built by make_notebooks.py): it loads its cluster's row of the data folder, records numbers from
it and shows the cluster's GPs as a count, so a cluster with fewer than 5 GPs must be held back by
the disclosure check. The data hold four clusters in three regions, one with markup in its name.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import lxml.html
import pytest
from batch_helpers import FAST_PRELOAD, jobs_by_id, read_manifest, write_parameters
from click.testing import CliRunner

from evaluation.batch.prerun import RunCheckError
from evaluation.batch.runner import BatchSettings, plan, run_batch
from evaluation.cli import main
from evaluation.reports.disclosure import check_html

# one test process runs them all, so the module's run is made once (test_suite_groups.py)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("per-cluster-run")]

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
CLUSTER_NOTEBOOKS = NOTEBOOKS / "cluster"
MARKUP_NAME = '<b onclick="alert(1)">Klynge</b> Syd'
CLUSTERS = (
    "cluster_id;cluster_name;region;n_clinics;n_gps;listed_patients\n"
    "C001;Klynge Nord;Hovedstaden;4;12;20000\n"
    f"C002;{MARKUP_NAME};Hovedstaden;5;30;40000\n"
    "C003;Klynge Øst;Sjælland;2;3;6000\n"  # 3 GPs: the report would show a count below 5
    "C004;Klynge Vest;Nordjylland;3;8;12000\n"
)
EXPECTED_REPORTS = {
    ("C001", "hovedstaden"),
    ("C002", "hovedstaden"),
    ("C003", "sjaelland"),
    ("C004", "nordjylland"),
}


def cluster_data(folder: Path, clusters: str = CLUSTERS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clusters.csv").write_text(clusters, encoding="utf-8")
    return folder


def cluster_settings(root: Path, **overrides) -> BatchSettings:
    values = dict(
        data_dir=cluster_data(root / "data"),
        out_dir=root / "outputs",
        notebooks_dir=CLUSTER_NOTEBOOKS,
        # the region files give the study window; hovedstaden's starts later
        parameters_dir=write_parameters(
            root / "parameters",
            ["hovedstaden", "sjaelland"],
            hovedstaden={"study_start": "2017-01"},
        ),
        workers=2,
        progress=False,
        preload=(*FAST_PRELOAD, "evaluation.data", "evaluation.reports.present"),
        timeout=120,
        check_data=False,  # only a clusters table: not a whole canonical data folder
        per_cluster=True,
        langs=("da", "en"),
    )
    values.update(overrides)
    return BatchSettings(**values)


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    settings = cluster_settings(tmp_path_factory.mktemp("per-cluster"))
    return settings, run_batch(settings)


def test_one_job_per_cluster_and_language(cluster_run):
    _, outcome = cluster_run
    jobs = outcome.manifest["jobs"]
    assert [job["job_id"] for job in jobs] == [
        f"05_tiny_cluster--{cluster}-{lang}"
        for cluster in ("C001", "C002", "C003", "C004")  # regions in the catalogue's order
        for lang in ("da", "en")
    ]
    assert {job["kind"] for job in jobs} == {"cluster"}
    for job in jobs:
        cluster, lang = job["cluster"]["id"], job["cluster"]["lang"]
        parameters = job["parameters"]
        assert parameters["cluster_id"] == cluster and parameters["lang"] == lang
        assert (cluster, parameters["region"]) in EXPECTED_REPORTS
        assert Path(parameters["data_dir"]).is_absolute()
        # what the notebook received, as it recorded it
        recorded = job["records"]["cluster"]["value"]
        assert recorded["cluster_id"] == cluster and recorded["lang"] == lang
        start = "2017-01" if parameters["region"] == "hovedstaden" else "2016-01"
        assert recorded["study"][0] == start
    # a region's results are computed once per worker process, then read by its next reports
    computed = Counter()
    for job in jobs:
        if job["status"] == "ok":
            assert job["records"]["result_cache_set"]["value"] is True
            reused = job["records"]["region_result_reused"]["value"]
            computed[(job["worker_pid"], job["parameters"]["region"])] += not reused
    assert set(computed.values()) == {1}
    assert sum(computed.values()) < len([job for job in jobs if job["status"] == "ok"])
    statuses = {job["job_id"]: job["status"] for job in jobs}
    assert statuses.pop("05_tiny_cluster--C003-da") == "blocked"
    assert statuses.pop("05_tiny_cluster--C003-en") == "blocked"
    assert set(statuses.values()) == {"ok"}, outcome.manifest["jobs"]


def test_reports_are_named_to_be_mailed(cluster_run):
    _, outcome = cluster_run
    run_dir = outcome.run_dir
    written = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.glob("*/*.html"))
    assert written == [
        "hovedstaden/C001-da.html",
        "hovedstaden/C001-en.html",
        "hovedstaden/C002-da.html",
        "hovedstaden/C002-en.html",
        "nordjylland/C004-da.html",
        "nordjylland/C004-en.html",
    ]
    assert not (run_dir / "reports").exists()
    for job in outcome.manifest["jobs"]:
        if job["status"] != "ok":
            continue
        page = lxml.html.parse(str(run_dir / job["report"])).getroot()
        assert page.get("lang") == job["cluster"]["lang"]
        back = page.xpath("//a[contains(@href, 'index.html')]/@href")
        assert back and all((run_dir / job["report"]).parent.joinpath(h).is_file() for h in back)


def test_the_disclosure_check_runs_on_every_cluster_report(cluster_run):
    _, outcome = cluster_run
    run_dir = outcome.run_dir
    for job in outcome.manifest["jobs"]:
        if job["cluster"]["id"] == "C003":  # 3 GPs
            assert job["status"] == "blocked"
            # where, not what: the message names the report and the rule, never the count
            assert "sjaelland/C003-" in job["error"] and "below 5" in job["error"]
            assert "shows 3" not in job["error"]
            assert (run_dir.parent / job["withheld"]).is_file(), "kept outside the run folder"
            assert job["report"] is None
            assert not (run_dir / "sjaelland").exists()
        else:
            check_html((run_dir / job["report"]).read_text(encoding="utf-8"), 5)


def test_every_cluster_report_runs_in_a_fresh_kernel(cluster_run):
    _, outcome = cluster_run
    pids = [job["records"]["kernel_pid"]["value"] for job in outcome.manifest["jobs"]]
    # the notebook fails if anything from an earlier report is visible; none did
    assert len(set(pids)) == len(pids)
    assert all(job["status"] in ("ok", "blocked") for job in outcome.manifest["jobs"])


def test_index_lists_the_cluster_reports_by_region(cluster_run):
    _, outcome = cluster_run
    run_dir = outcome.run_dir
    index = lxml.html.parse(str(run_dir / "index.html")).getroot()
    assert index.get("lang") == "da"  # the first of --lang
    sections = index.xpath("//section[@id='clusters']//details[@data-region]")
    assert [s.get("data-region") for s in sections] == ["hovedstaden", "sjaelland", "nordjylland"]
    assert [s.xpath("summary/h3")[0].text_content() for s in sections] == [
        "Hovedstaden",
        "Sjælland",
        "Nordjylland",
    ]
    assert "2 klynger" in sections[0].xpath("summary")[0].text_content()
    links = index.xpath("//section[@id='clusters']//a/@href")
    assert sorted(links) == sorted(
        job["report"] for job in outcome.manifest["jobs"] if job["status"] == "ok"
    )
    assert all((run_dir / link).is_file() for link in links)
    # a blocked report is named, not linked
    blocked = index.get_element_by_id("report-05_tiny_cluster--C003-da")
    assert blocked.get("data-status") == "blocked" and not blocked.xpath(".//a")
    # the cluster's name from the data is shown as text, never as markup
    row = index.get_element_by_id("cluster-C002")
    assert MARKUP_NAME in row.text_content()
    assert not index.xpath("//section[@id='clusters']//b | //*[@onclick]")
    # no question cards for cluster reports: they are listed only by region
    assert not index.xpath("//section[contains(@class, 'wb-question')]")


def test_resume_reruns_only_the_cluster_reports_not_finished(tmp_path):
    settings = cluster_settings(tmp_path, regions=("Hovedstaden",), langs=("en",))
    first = run_batch(settings)
    assert first.ok and len(first.manifest["jobs"]) == 2
    (first.run_dir / "hovedstaden" / "C002-en.html").unlink()  # as if the run stopped there
    again = run_batch(
        cluster_settings(tmp_path, regions=("Hovedstaden",), langs=("en",), resume=True)
    )
    jobs = jobs_by_id(read_manifest(again.run_dir))
    assert again.run_dir == first.run_dir and again.ok
    assert jobs["05_tiny_cluster--C001-en"]["reused"] is True
    assert jobs["05_tiny_cluster--C002-en"]["reused"] is False
    assert (again.run_dir / "hovedstaden" / "C002-en.html").is_file()
    index = (again.run_dir / "index.html").read_text(encoding="utf-8")
    assert 'lang="en"' in index and "hovedstaden/C002-en.html" in index


def test_the_region_run_leaves_cluster_notebooks_out(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOKS / "10_tiny_region.ipynb", notebooks)
    shutil.copy(CLUSTER_NOTEBOOKS / "05_tiny_cluster.ipynb", notebooks)
    region_files = write_parameters(tmp_path / "region-parameters", ["hovedstaden"])
    settings = cluster_settings(
        tmp_path, notebooks_dir=notebooks, parameters_dir=region_files, per_cluster=False
    )
    jobs, _ = plan(settings)
    assert {job.notebook.name for job in jobs} == {"10_tiny_region.ipynb"}
    assert {job.kind for job in jobs} == {"region"}
    jobs, _ = plan(cluster_settings(tmp_path, notebooks_dir=notebooks, regions=("nordjylland",)))
    assert [job.job_id for job in jobs] == ["05_tiny_cluster--C004-da", "05_tiny_cluster--C004-en"]
    with pytest.raises(RunCheckError, match="run it with --per-cluster"):
        plan(
            cluster_settings(
                tmp_path, notebooks_dir=notebooks, per_cluster=False, notebooks=("05_*",)
            )
        )


@pytest.mark.parametrize(
    ("overrides", "clusters", "message"),
    [
        (
            {"regions": ("sjeland",)},
            CLUSTERS,
            "-r sjeland: no region of that name; did you mean 'sjaelland'?",
        ),
        (
            {"regions": ("Midtjylland",)},
            CLUSTERS,
            "-r Midtjylland: its data folder has no cluster in this region",
        ),
        ({"langs": ("da", "de")}, CLUSTERS, "--lang de: reports are written in en or da"),
        (
            {},
            "cluster_id;cluster_name;region;n_clinics;n_gps;listed_patients\n",
            "no data rows: expected one row per quality cluster",
        ),
        ({}, None, "no clusters table"),
        ({"notebooks_dir": NOTEBOOKS}, CLUSTERS, "no notebook in"),
    ],
    ids=["unknown-region", "region-without-clusters", "language", "empty", "no-table", "none"],
)
def test_problems_are_named_before_anything_runs(tmp_path, overrides, clusters, message):
    settings = cluster_settings(tmp_path, **overrides)
    if clusters is None:
        (Path(settings.data_dir) / "clusters.csv").unlink()
    else:
        cluster_data(Path(settings.data_dir), clusters)
    with pytest.raises(RunCheckError) as raised:
        run_batch(settings)
    assert message in str(raised.value)
    assert not Path(settings.out_dir).exists() or not any(Path(settings.out_dir).iterdir())


def test_the_command_line_refuses_an_unknown_language(tmp_path):
    settings = cluster_settings(tmp_path)
    common = [
        "run",
        "--data",
        str(settings.data_dir),
        "--out",
        str(settings.out_dir),
        "--notebooks",
        str(CLUSTER_NOTEBOOKS),
        "--parameters",
        str(settings.parameters_dir),
        "--no-data-check",
    ]
    result = CliRunner().invoke(main, [*common, "--per-cluster", "--lang", "da,fr"])
    assert result.exit_code != 0
    assert "--lang fr: reports are written in en or da" in result.output
    result = CliRunner().invoke(main, [*common, "--lang", "en"])
    assert result.exit_code != 0 and "add --per-cluster" in result.output
    assert not Path(settings.out_dir).exists() or not any(Path(settings.out_dir).iterdir())


def test_pdfs_are_printed_beside_the_cluster_reports(tmp_path):
    from report_checks import require_chromium

    require_chromium()
    settings = cluster_settings(
        tmp_path, regions=("nordjylland",), langs=("en",), formats=("html", "pdf")
    )
    outcome = run_batch(settings)
    assert outcome.ok, outcome.manifest["jobs"]
    (job,) = outcome.manifest["jobs"]
    assert job["pdf"] == "nordjylland/C004-en.pdf"
    assert (outcome.run_dir / job["pdf"]).read_bytes().startswith(b"%PDF")
    index = lxml.html.parse(str(outcome.run_dir / "index.html")).getroot()
    assert index.xpath("//td[@id='report-05_tiny_cluster--C004-en']//a/@href") == [
        "nordjylland/C004-en.html",
        "nordjylland/C004-en.pdf",
    ]
