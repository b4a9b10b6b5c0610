"""notebooks/03_interview_themes.ipynb: committed clean, accepted by `workbench run`'s parameter
check for every region file, and run top to bottom under papermill on a demo project."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from notebook_kernels import execute_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "03_interview_themes.ipynb"


def _outputs(notebook) -> list[dict]:
    return [
        o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    ]


def _stream_text(notebook) -> str:
    """The notebook's prose outputs: console text and the Markdown the report shows."""
    return "".join(
        o.get("text", "") if o["output_type"] == "stream" else o["data"]["text/markdown"]
        for o in _outputs(notebook)
        if o["output_type"] == "stream" or "text/markdown" in o.get("data", {})
    )


def _run(tmp_path: Path, cwd: Path, **parameters):
    out = tmp_path / "03_executed.ipynb"
    execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters=parameters,
        cwd=str(cwd),
    )
    return nbformat.read(out, as_version=4), out


def test_notebook_defaults_point_at_the_demo_store_and_its_coders():
    # the shared parameters and the clean commit are checked for every notebook in tests/project
    import ast

    from evaluation.batch.parameters import declared_parameters

    namespace = {
        name: ast.literal_eval(info["default"])
        for name, info in declared_parameters(NOTEBOOK).items()
    }
    assert namespace["qualitative_store"] == "qualitative/demo/coding.sqlite"
    from evaluation.qualitative.demo import CODERS

    assert (namespace["coder"], namespace["second_coder"]) == CODERS  # the demo's coders


def test_every_region_file_passes_the_batch_parameter_check(tmp_path):
    from evaluation.batch.parameters import build_grid, check_grid, load_parameter_sets

    sets = load_parameter_sets(ROOT / "parameters")
    jobs = build_grid([NOTEBOOK], sets, data_dir=tmp_path / "data", results_dir=tmp_path / "run")
    assert sorted(job.parameters["region"] for job in jobs) == [
        "hovedstaden",
        "midtjylland",
        "nordjylland",
        "sjaelland",
        "syddanmark",
    ]
    assert all(job.kind == "region" and "data_dir" in job.parameters for job in jobs)
    check_grid(jobs)  # raises ParameterError listing any unknown, missing or ill-typed parameter


@pytest.mark.slow
def test_notebook_shows_themes_cooccurrence_agreement_and_quotes(
    synthetic_small, small_demo_project, tmp_path, report_ready
):
    from evaluation.batch.record import read_notebook_records
    from evaluation.qualitative.store import Store
    from evaluation.qualitative.summary import region_themes
    from evaluation.reports.disclosure import find_small_counts
    from evaluation.reports.html import render_report

    # the default store path, qualitative/demo/coding.sqlite, is found from the notebooks/ folder
    executed, path = _run(
        tmp_path,
        small_demo_project / "notebooks",
        region="syddanmark",
        data_dir=str(synthetic_small),
    )
    small_demo_store = small_demo_project / "qualitative" / "demo" / "coding.sqlite"
    outputs = _outputs(executed)
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert (
        len([o for o in outputs if "image/png" in o.get("data", {})]) == 2
    )  # frequencies, heat map
    text = _stream_text(executed)
    assert "Syddanmark: 4 coordinator interviews, coded by anna and bo." in text
    assert "built the demo project" not in text  # the given store was used
    assert "Most often together:" in text and "Over all themes:" in text
    report_ready(json.loads(path.read_text(encoding="utf-8")))  # issue 12: fit to send

    # the recorded figures equal the package's own computation on the same store
    records = read_notebook_records(path)
    store = Store.open(small_demo_store)
    expected = region_themes(store, region="Syddanmark", coder="anna", second_coder="bo")
    overall = expected.agreement.iloc[-1]
    assert records["interviews"] == 4
    assert records["kappa_all_codes"] == pytest.approx(round(overall["cohen_kappa"], 2))
    assert records["alpha_all_codes"] == pytest.approx(round(overall["krippendorff_alpha"], 2))
    assert records["percent_agreement_all_codes"] == pytest.approx(
        round(overall["percent_agreement"], 1)
    )
    agreement = records["agreement"].set_index("theme")
    assert list(agreement.columns) == [
        "characters marked by anna",
        "characters marked by bo",
        "percent agreement",
        "Cohen's kappa",
        "Krippendorff's alpha",
        "reading",
    ]
    assert agreement.index[-1] == "All themes" and len(agreement) == len(expected.agreement)
    assert (
        agreement.loc["All themes", "characters marked by anna"]
        == overall["both"] + overall["only_a"]
    )

    themes = records["theme_frequencies"]
    passages = themes[themes["aspect"] != "all"]["coded passages"]
    assert passages.sum() == expected.frequencies.to_numpy().sum() > 0
    # four interviews: every count of coordinators is suppressed or zero, never shown below five
    assert set(themes["coordinators who raised it"].astype(str)) <= {"<5", "0"}

    # quotes: both coders' passages, attributed to numbered interviews, not to clusters
    markdown = "".join(
        o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})
    )
    assert records["quotes_shown"] == len(expected.quotes) > 0
    assert markdown.count("\n> — Interview ") == len(expected.quotes)
    first_quote = " ".join(expected.quotes["text"].iloc[0].split())
    assert first_quote[:60].replace("[", "").replace("]", "") in markdown.replace("\\", "").replace(
        "[", ""
    ).replace("]", "")
    assert not re.search(r"\bC\d{3}\b", markdown)

    # the report the batch runner would publish passes its disclosure check
    html = render_report(executed, {"title": "03 interview themes", "status": "ok"})
    assert find_small_counts(html, 5) == []
    assert "Cohen" in html and "Interview 1" in html


@pytest.mark.slow
def test_notebook_builds_the_demo_project_when_there_is_no_store(synthetic_national, tmp_path):
    import tempfile

    from evaluation.batch.record import read_notebook_records

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(scratch))  # the kernel inherits it: where the demo is built
        tempfile.tempdir = None
        try:
            executed, path = _run(
                tmp_path,
                tmp_path,
                region="nordjylland",
                data_dir=str(synthetic_national),
                qualitative_store=str(tmp_path / "no-store" / "coding.sqlite"),
            )
        finally:
            tempfile.tempdir = None
    assert not [o for o in _outputs(executed) if o["output_type"] == "error"]
    text = _stream_text(executed)
    assert "built the demo project (invented interviews)" in text
    assert "Nordjylland: 5 coordinator interviews" in text
    assert read_notebook_records(path)["interviews"] == 5
    assert not (tmp_path / "no-store").exists()  # nothing written where the store was expected
    assert list(scratch.iterdir()) == []  # the demo built for the run is removed once read
