"""`workbench mixed`: every table of the join in one workbook; bad input names itself and writes
nothing."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from evaluation.cli import main


def test_workbook_holds_every_table_of_the_join(national_demo, synthetic_national, tmp_path):
    out = tmp_path / "reports" / "mixed.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "mixed",
            "--store",
            str(national_demo / "qualitative/demo/coding.sqlite"),
            "--data",
            str(synthetic_national),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Obtaining data/Challenges ~ effect" in result.output
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == [
        "links",
        "unlinked interviews",
        "clusters without interview",
        "cluster outcomes",
        "themes per cluster",
        "theme comparison",
        "theme correlation",
        "typology",
        "joint display",
        "side by side",
    ]
    assert len(sheets["cluster outcomes"]) == 25 and len(sheets["clusters without interview"]) == 89
    comparison = sheets["theme comparison"]
    assert (
        comparison.loc[comparison["significant"], "code"]
        .tolist()
        .count("Obtaining data/Challenges")
        == 1
    )


def test_bad_input_exits_non_zero_and_writes_nothing(national_demo, synthetic_national, tmp_path):
    runner = CliRunner()
    out = tmp_path / "mixed.xlsx"
    missing = runner.invoke(
        main, ["mixed", "--store", str(tmp_path / "none.sqlite"), "--out", str(out)]
    )
    assert missing.exit_code == 1 and "none.sqlite: no coding store" in missing.output
    wrong_suffix = runner.invoke(
        main,
        [
            "mixed",
            "--store",
            str(national_demo / "qualitative/demo/coding.sqlite"),
            "--out",
            str(tmp_path / "mixed.csv"),
        ],
    )
    assert wrong_suffix.exit_code == 1 and "expected a .xlsx file name" in wrong_suffix.output
    no_data = runner.invoke(
        main,
        [
            "mixed",
            "--store",
            str(national_demo / "qualitative/demo/coding.sqlite"),
            "--data",
            str(tmp_path / "nowhere"),
            "--out",
            str(out),
        ],
    )
    assert no_data.exit_code == 1 and "nowhere" in no_data.output
    bad_coder = runner.invoke(
        main,
        [
            "mixed",
            "--store",
            str(national_demo / "qualitative/demo/coding.sqlite"),
            "--data",
            str(synthetic_national),
            "--coder",
            "carl",
            "--out",
            str(out),
        ],
    )
    assert (
        bad_coder.exit_code == 1 and "coder 'carl' has no coding in this store" in bad_coder.output
    )
    assert not out.exists() and list(tmp_path.glob("*.xlsx")) == []
