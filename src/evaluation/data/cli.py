"""`workbench data ...`: generate, check and aggregate data folders."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def data() -> None:
    """Generate, validate and aggregate data folders."""


@data.command()
@click.option(
    "--scale",
    type=click.Choice(["small", "national", "register"]),
    default="national",
    show_default=True,
    help="small: 20 clusters (tests); national: ~114 clusters, ~1,750 clinics; "
    "register: national plus >= 50 M individual prescription records (Parquet, by year).",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, byte-identical files.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/synthetic"),
    show_default=True,
    help="Folder to write (replaced atomically if it exists).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def synth(scale: str, seed: int, out: Path, quiet: bool) -> None:
    """Generate the synthetic national dataset (no real patient data).

    Writes clusters, clinics, gps, meetings, attendance and prescribing as Parquet, plus
    truth.json with every injected effect.
    """
    import time

    from evaluation.data.synth import write_synthetic

    started = time.perf_counter()
    write_synthetic(out, seed=seed, scale=scale, progress=not quiet)
    click.echo(f"wrote {scale} synthetic data (seed {seed}) to {out} in {time.perf_counter() - started:.1f} s")
