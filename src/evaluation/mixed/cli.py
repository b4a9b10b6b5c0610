"""`workbench mixed`: the join of interviews and registers as an Excel workbook, without a notebook.

For researchers who want the tables themselves (to write up, or to check in a spreadsheet): every
table of :func:`evaluation.mixed.mixed_methods`, one sheet each, written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import click


@click.command("mixed")
@click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path),
    default=Path("qualitative/demo/coding.sqlite"),
    show_default=True,
    help="The coding store whose cases name clusters.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=Path("data/synthetic"),
    show_default=True,
    help="Data folder in the canonical layout.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    default=Path("outputs/mixed_methods.xlsx"),
    show_default=True,
    help="The Excel workbook to write (replaced atomically).",
)
@click.option(
    "--indicator", default="nsaid", show_default=True, help="Prescribing indicator of the effect."
)
@click.option("--topic", default=None, help="Meeting topic [default: the indicator's own].")
@click.option(
    "--start",
    "study_start",
    default=None,
    metavar="YYYY-MM",
    help="First month of the study window.",
)
@click.option(
    "--end", "study_end", default=None, metavar="YYYY-MM", help="Last month of the study window."
)
@click.option(
    "--method",
    type=click.Choice(["its", "did"]),
    default="its",
    show_default=True,
    help="Per-cluster effect: ITS (%% change) or staggered DiD (DDD per 1,000 per day).",
)
@click.option(
    "--coder",
    default="consensus",
    show_default=True,
    help="Whose coding: a coder's name, or the consensus of the store's first two coders.",
)
@click.option(
    "--correction",
    type=click.Choice(["fdr_bh", "holm", "bonf", "sidak", "fdr_by", "none"]),
    default="fdr_bh",
    show_default=True,
    help="Multiple-testing correction over the themes.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level of the corrected p-values.",
)
def mixed(
    store_path,
    data_dir,
    out_path,
    indicator,
    topic,
    study_start,
    study_end,
    method,
    coder,
    correction,
    alpha,
):
    """Join interview themes with each cluster's prescribing effect and attendance.

    Links the store's cases to the clusters of --data, quantitizes the themes, estimates each
    interviewed cluster's effect, compares clusters with and without each theme and writes every
    table to one Excel workbook (the same tables notebook 04 shows).
    """
    import pandas as pd

    from evaluation.errors import InputError, MissingFileError
    from evaluation.files import atomic_write_bytes, check_output_file
    from evaluation.mixed import mixed_methods
    from evaluation.qualitative.store import Store

    if not store_path.is_file():
        raise MissingFileError(
            f"{store_path}: no coding store (make one with `workbench qual init` or "
            "`workbench qual demo --data data/synthetic`)."
        )
    if out_path.suffix.lower() != ".xlsx":
        raise InputError(f"--out {out_path}: expected a .xlsx file name")
    check_output_file(out_path)
    with Store.open(store_path) as store:
        result = mixed_methods(
            store,
            data_dir,
            indicator=indicator,
            topic=topic,
            study_start=study_start,
            study_end=study_end,
            method=method,
            coder=coder,
            correction=correction,
            alpha=alpha,
        )
    tables = {
        "links": pd.DataFrame(
            {
                "summary": [result.links.sentence()],
                "effect": [result.effect_label],
                **{k: [str(v)] for k, v in result.settings.items()},
            }
        ),
        "unlinked interviews": result.links.problems(),
        "clusters without interview": result.links.clusters_without_interviews,
        "cluster outcomes": result.outcomes,
        "themes per cluster": result.quantitized,
        "theme comparison": result.comparison,
        "theme correlation": result.correlation,
        "typology": result.types.drop(columns=["dominant"]),
        "joint display": result.joint,
        "side by side": result.side_by_side,
    }
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, table in tables.items():
            table = table.copy()
            for column in table.columns:  # Excel has no time zones and no lists
                if pd.api.types.is_datetime64_any_dtype(table[column]):
                    table[column] = table[column].dt.strftime("%Y-%m")
            table.to_excel(writer, sheet_name=sheet, index=False)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_path, buffer.getvalue())
    found = result.comparison[result.comparison["significant"]]
    click.echo(result.links.sentence())
    click.echo(
        f"{len(found)} theme relation(s) significant after correction ({correction}, alpha {alpha})"
        + (
            ": " + "; ".join(f"{r.code} ~ {r.outcome}" for r in found.itertuples())
            if len(found)
            else "."
        )
    )
    click.echo(f"wrote {len(tables)} sheets to {out_path}")
