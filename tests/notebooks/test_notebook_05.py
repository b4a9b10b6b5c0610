"""notebooks/05_cluster_feedback.ipynb: a cluster's feedback report, in Danish and English.

Runs the notebook under papermill on the small synthetic data, renders the report as
`workbench run` does and reads it as its readers would: only the cluster's own clinics are
labelled (by letter) and no clinic id appears anywhere; the Danish page is Danish (lang="da",
decimal commas, no sentence of the catalogue left in English); no count below 5 is shown; the
recorded numbers agree with the data and with the effects the generator injected (truth.json).
A cluster without a topic meeting and a cluster of two clinics get a clear report too.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from notebook_kernels import execute_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_cluster_feedback.ipynb"
CLINIC_ID = re.compile(r"\bK\d{4,}\b")


def run_and_render(data_dir, tmp_path, region, cluster_id, lang, report_ready):
    """Execute the notebook for one cluster and render its report: (records, html). The
    executed notebook must read as a report (``report_ready``: issue 12's checks)."""
    import nbformat

    from evaluation.records import decode, records_in_notebook
    from evaluation.reports.disclosure import check_html
    from evaluation.reports.html import render_report

    out = tmp_path / f"05_{cluster_id}_{lang}.ipynb"
    parameters = {
        "data_dir": str(data_dir),
        "region": region,
        "cluster_id": cluster_id,
        "lang": lang,
    }
    execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters=parameters,
        cwd=str(tmp_path),
    )
    report_ready(json.loads(out.read_text(encoding="utf-8")))
    nb = nbformat.read(str(out), as_version=4)
    html = render_report(nb, {"status": "ok", "run_id": "test", "parameters": parameters})
    check_html(html, 5, report=out.name)  # raises DisclosureError on a count below 5
    records = {name: decode(doc) for name, doc in records_in_notebook(nb).items()}
    return records, html


def visible_texts(html: str) -> list[str]:
    """Every text node a reader sees, without the machine facts of "Run details"."""
    from lxml import html as lh

    document = lh.fromstring(html)
    for details in document.xpath("//details[@id='run-details'] | //style | //script"):
        details.getparent().remove(details)
    texts = [t.strip() for t in document.itertext()]
    texts += [img.get("alt", "") for img in document.iter("img")]
    return [t for t in texts if t]


def danish_catalogue() -> dict[str, str]:
    from babel.messages.pofile import read_po

    from evaluation.i18n import LOCALE_DIR

    with open(LOCALE_DIR / "da" / "LC_MESSAGES" / "evaluation.po", "rb") as handle:
        catalogue = read_po(handle, locale="da_DK")
    return {m.id: m.string for m in catalogue if m.id and m.string and m.string != m.id}


def assert_danish(html: str) -> None:
    """lang="da", decimal commas, and no catalogue message left in English."""
    assert re.search(r'<html[^>]*\blang="da"', html)
    texts = visible_texts(html)
    page = "\n".join(texts)
    assert re.search(r"\d,\d", page), "no decimal comma on a Danish page"
    points = re.findall(r"\d\.\d{1,2}(?!\d)", page)
    assert not points, f"decimal points on a Danish page: {points[:5]}"
    catalogue = danish_catalogue()
    english = [t for t in texts if t in catalogue]
    # sentences built from several messages: a long English message inside any text is a miss
    english += [m for m in catalogue if len(m) > 25 and "{" not in m and m in page]
    assert not english, f"English left on the Danish page: {english[:5]}"
    for words in ("Vigtigste resultater", "Klyngen i tal", "Detaljer om kørslen"):
        assert words in page


def own_clinics(data_dir: Path, cluster_id: str) -> list[str]:
    clinics = pd.read_parquet(data_dir / "clinics.parquet")
    return sorted(clinics.loc[clinics["cluster_id"] == cluster_id, "clinic_id"])


def funnel_labels(html: str) -> list[str] | None:
    """The texts written on the funnel figure (None when the report has no funnel)."""
    from lxml import html as lh

    for img in lh.fromstring(html).iter("img"):
        if "funnel" in img.get("alt", "").lower() or "tragt" in img.get("alt", "").lower():
            return json.loads(img.get("data-value-labels") or "[]")
    return None


@pytest.mark.slow
def test_a_normal_cluster_in_danish_and_english(
    synthetic_small, tmp_path, report_ready, monkeypatch
):
    # as in a batch: the first report keeps the region's results, the second reuses them
    from evaluation.memo import RESULT_CACHE_ENV

    shared = tmp_path / "shared-results"
    shared.mkdir()
    monkeypatch.setenv(RESULT_CACHE_ENV, str(shared))
    truth = json.loads((synthetic_small / "truth.json").read_text(encoding="utf-8"))
    clusters = pd.read_parquet(synthetic_small / "clusters.parquet").set_index("cluster_id")
    mine = own_clinics(synthetic_small, "C002")
    letters = [chr(ord("A") + i) for i in range(len(mine))]

    records, html = run_and_render(
        synthetic_small, tmp_path, "hovedstaden", "C002", "da", report_ready
    )
    assert_danish(html)
    assert "Tilbagemelding til klynge C002" in html
    # only the cluster's own clinics are labelled, by letter; no clinic id anywhere
    assert sorted(funnel_labels(html)) == letters
    assert not CLINIC_ID.findall(html)
    # recorded numbers against the data and the injected effect
    assert records["n_clinics"] == clusters.loc["C002", "n_clinics"] == len(mine)
    assert records["listed_patients"] > 0 and records["n_gps"] == clusters.loc["C002", "n_gps"]
    assert records["indicators"][0] == "nsaid" and records["topic_meeting"] == "2019-04-15"
    assert records["funnel_shown"] is True
    step = records["cluster_change_nsaid_log"]
    injected = [
        e["log_rr"]
        for e in truth["clinic_effects"]
        if e["clinic_id"] in mine and e["indicator"] == "nsaid"
    ]
    assert len(injected) == len(mine)
    true_mean = sum(injected) / len(injected)
    assert step["ci_low"] < true_mean < step["ci_high"] < 0
    assert step["estimate"] == pytest.approx(-0.1471, abs=0.001)  # pinned: seed 7, small

    kept = {path.name: path.stat().st_mtime_ns for path in shared.iterdir()}
    # the region's and the national line of each indicator, the region's funnel, the region's
    # step at least for the main indicator
    assert len(kept) >= 2 * len(records["indicators"]) + 2
    assert records["region_change_nsaid_log"]["estimate"] < 0

    records_en, html_en = run_and_render(
        synthetic_small, tmp_path, "hovedstaden", "C002", "en", report_ready
    )
    assert {path.name: path.stat().st_mtime_ns for path in shared.iterdir()} == kept
    assert records_en["region_change_nsaid_log"] == records["region_change_nsaid_log"]
    assert re.search(r'<html[^>]*\blang="en"', html_en)
    assert "Feedback report for cluster C002" in html_en and "How to read this chart" in html_en
    assert records_en["cluster_change_nsaid_log"] == step  # the language changes words only
    assert sorted(funnel_labels(html_en)) == letters
    assert not CLINIC_ID.findall(html_en)


@pytest.mark.slow
def test_a_cluster_without_a_topic_meeting_gets_a_clear_report(
    synthetic_small, tmp_path, report_ready
):
    meetings = pd.read_parquet(synthetic_small / "meetings.parquet")
    assert set(meetings.loc[meetings["cluster_id"] == "C009", "topic"]) == {"organisation"}
    records, html = run_and_render(
        synthetic_small, tmp_path, "syddanmark", "C009", "da", report_ready
    )
    assert_danish(html)
    assert records["indicators"] == ["nsaid"] and records["topic_meeting"] is None
    assert not any(name.startswith("cluster_change_") for name in records)
    assert "Klyngen har ikke holdt møde om NSAID" in html
    assert not CLINIC_ID.findall(html)


@pytest.fixture
def two_clinic_cluster(synthetic_small, tmp_path) -> Path:
    """The small set with cluster C001 cut to its first two clinics (the others moved to C003),
    and two data problems in its clinic B: three months missing and a list that jumps 60%."""
    data = tmp_path / "two-clinics"
    shutil.copytree(synthetic_small, data)
    tables = {n: pd.read_parquet(data / f"{n}.parquet") for n in ("clusters", "clinics", "gps")}
    clinics, gps, clusters = tables["clinics"], tables["gps"], tables["clusters"]
    kept = own_clinics(synthetic_small, "C001")[:2]
    moved = clinics["cluster_id"].eq("C001") & ~clinics["clinic_id"].isin(kept)
    clinics.loc[moved, "cluster_id"] = "C003"
    gps["cluster_id"] = gps["clinic_id"].map(clinics.set_index("clinic_id")["cluster_id"])
    for cluster_id in ("C001", "C003"):
        own = clinics[clinics["cluster_id"] == cluster_id]
        row = clusters["cluster_id"] == cluster_id
        clusters.loc[row, "n_clinics"] = len(own)
        clusters.loc[row, "n_gps"] = int((gps["cluster_id"] == cluster_id).sum())
        clusters.loc[row, "listed_patients"] = int(own["listed_patients"].sum())
    attendance = pd.read_parquet(data / "attendance.parquet")
    meetings = pd.read_parquet(data / "meetings.parquet")
    meeting_cluster = attendance["meeting_id"].map(meetings.set_index("meeting_id")["cluster_id"])
    gp_cluster = attendance["gp_id"].map(gps.set_index("gp_id")["cluster_id"])
    attendance = attendance[meeting_cluster == gp_cluster]
    prescribing = pd.read_parquet(data / "prescribing.parquet")
    month = pd.to_datetime(prescribing["month"])  # stored as dates
    clinic_b = prescribing["clinic_id"] == kept[1]
    gap = clinic_b & month.between("2020-03-01", "2020-05-01")
    prescribing, month = prescribing[~gap].copy(), month[~gap]
    later = (prescribing["clinic_id"] == kept[1]) & (month >= "2021-01-01")
    prescribing.loc[later, "listed_patients"] = (
        (prescribing.loc[later, "listed_patients"] * 1.6).round().astype("int64")
    )
    for name, frame in (*tables.items(), ("attendance", attendance), ("prescribing", prescribing)):
        frame.to_parquet(data / f"{name}.parquet", index=False)
    return data


@pytest.mark.slow
def test_a_cluster_of_two_clinics_gets_a_sentence_instead_of_the_funnel(
    two_clinic_cluster, tmp_path, report_ready
):
    records, html = run_and_render(
        two_clinic_cluster, tmp_path, "hovedstaden", "C001", "en", report_ready
    )
    assert records["n_clinics"] == 2 and records["funnel_shown"] is False
    assert funnel_labels(html) is None
    assert "fewer than three clinics" in html
    # the notes on the data name clinic B, never its id
    assert records["data_quality_notes"] == {"list_jump": 1, "missing": 1}
    assert "Clinic B lacks data for 3 months, the first in Mar 2020." in html
    assert "Clinic B&#x27;s list changed by 60%" in html or "Clinic B's list changed by 60%" in html
    assert not CLINIC_ID.findall(html)
