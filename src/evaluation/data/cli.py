"""`workbench data ...`: generate, check and aggregate data folders."""

from __future__ import annotations

from pathlib import Path

import click

from evaluation.paths import DEFAULT_DATA_DIR


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
@click.option(
    "--seed", type=int, default=2026, show_default=True, help="Same seed, byte-identical files."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Folder to write: new, empty, or one synth wrote before (replaced atomically).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a folder holding other files too; only synth's own files are replaced.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def synth(scale: str, seed: int, out: Path, force: bool, quiet: bool) -> None:
    """Generate the synthetic national dataset (no real patient data).

    Writes clusters, clinics, gps, meetings, attendance and prescribing as Parquet, plus
    truth.json with every injected effect and a marker (.workbench-synthetic.json) naming what
    it wrote. A folder holding files synth did not write is refused (nothing is lost) unless
    --force, which keeps those files and replaces only synth's own.
    """
    import time

    from evaluation.data.synth import write_synthetic

    started = time.perf_counter()
    write_synthetic(out, seed=seed, scale=scale, progress=not quiet, force=force)
    seconds = time.perf_counter() - started
    click.echo(f"wrote {scale} synthetic data (seed {seed}) to {out} in {seconds:.1f} s")


def _window_option(function):
    function = click.option(
        "--end",
        default=None,
        metavar="YYYY-MM",
        help="Last month of the study window (default 2023-12).",
    )(function)
    return click.option(
        "--start",
        default=None,
        metavar="YYYY-MM",
        help="First month of the study window (default 2016-01).",
    )(function)


def _window(start: str | None, end: str | None):
    from evaluation.data.schemas import DEFAULT_WINDOW, StudyWindow
    from evaluation.errors import InputError

    try:
        return StudyWindow(start or DEFAULT_WINDOW.start, end or DEFAULT_WINDOW.end)
    except InputError as err:  # a mistyped option is a usage error (exit status 2)
        raise click.BadParameter(str(err), param_hint="--start/--end") from None


@data.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@_window_option
@click.option("--no-register", is_flag=True, help="Skip the individual records under DIR/register.")
@click.option(
    "--memory-limit",
    default="2GB",
    show_default=True,
    help="DuckDB memory cap for register checks.",
)
def check(
    data_dir: Path, start: str | None, end: str | None, no_register: bool, memory_limit: str
) -> None:
    """Validate a data folder in the canonical layout, listing every problem.

    Reads clusters, clinics, gps, meetings, attendance and prescribing (each as .parquet,
    .csv, .dta, .sas7bdat or .xlsx), checks columns, types, counts, keys, study window and
    the references between tables, and the register records if DIR/register exists.
    Exits 0 when clean, 1 when any problem is found (all listed, grouped by file).
    """
    import sys

    from evaluation.data.check import check_folder
    from evaluation.errors import MissingFileError

    window = _window(start, end)
    if not data_dir.is_dir():
        raise MissingFileError(
            f"{data_dir}: no such data folder; expected a folder in the canonical layout "
            "(make the demo one with `workbench data synth`)."
        )

    result = check_folder(
        data_dir,
        window,
        register=not no_register,
        memory_limit=memory_limit,
        progress=sys.stderr.isatty(),
    )
    if result.ok:
        click.echo(result.summary())
        return
    click.echo(result.summary(), err=True)
    raise SystemExit(1)


@data.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write: .parquet or .csv (written atomically).",
)
@click.option(
    "--register",
    "register_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of individual records (default DIR/register).",
)
@click.option(
    "--list-sizes",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Table of monthly list sizes (clinic_id, month, listed_patients); "
    "default the clinic-months of DIR's prescribing table.",
)
@_window_option
@click.option(
    "--memory-limit",
    default="2GB",
    show_default=True,
    help="DuckDB memory cap; it spills to disk beyond it.",
)
@click.option(
    "--temp-directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="DuckDB spill folder (default: the system temp folder).",
)
@click.option("--threads", type=int, default=None, help="DuckDB threads (default: all cores).")
def aggregate(
    data_dir: Path,
    out: Path,
    register_dir: Path | None,
    list_sizes: Path | None,
    start: str | None,
    end: str | None,
    memory_limit: str,
    temp_directory: Path | None,
    threads: int | None,
) -> None:
    """Aggregate individual prescription records to clinic-month indicators (DuckDB).

    Counts prescriptions (records), users (distinct persons) and DDD (sum) per clinic, month
    and indicator (by the catalogue's ATC prefixes), joins the month's list size and adds
    DDD per 1,000 patients per day, prescriptions and users per 1,000 patients.
    """
    import sys

    from evaluation.data.aggregate import aggregate_register, list_sizes_from_folder
    from evaluation.data.io import write_table
    from evaluation.data.readers import read_table
    from evaluation.data.schemas import normalise_column_name
    from evaluation.files import check_output_file

    window = _window(start, end)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise click.BadParameter("expected a .parquet or .csv file name", param_hint="--out")
    check_output_file(out)
    register_dir = register_dir or data_dir / "register"
    report: list = []
    if list_sizes is not None:
        sizes = read_table(list_sizes)
        sizes.columns = [normalise_column_name(c) for c in sizes.columns]
    else:
        sizes = list_sizes_from_folder(data_dir, window)
    result = aggregate_register(
        register_dir,
        sizes,
        window=window,
        memory_limit=memory_limit,
        temp_directory=temp_directory,
        threads=threads,
        report=report,
        progress=sys.stderr.isatty(),
    )
    write_table(result, out)
    rep = report[0]
    click.echo(
        f"aggregated {rep.records_counted:,} of {rep.records:,} records "
        f"({rep.records_outside:,} outside the indicators or the study window) to "
        f"{rep.cells:,} clinic-month-indicator cells in {rep.seconds:.1f} s; wrote {out}"
    )
