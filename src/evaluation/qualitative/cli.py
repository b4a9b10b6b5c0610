"""`workbench qual ...`: the qualitative coding module on the command line.

Every command works on one store (``--store``, default qualitative/coding.sqlite) and prints
what it did; errors name the file or item and what to do, and exit with status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evaluation.errors import InputError

STORE_HELP = (
    "The coding store (SQLite). Default: qualitative/coding.sqlite, or $WORKBENCH_QUAL_STORE."
)


def store_option(function):
    return click.option(
        "--store",
        "store_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="WORKBENCH_QUAL_STORE",
        default=Path("qualitative/coding.sqlite"),
        show_default=True,
        help=STORE_HELP,
    )(function)


def _open(store_path: Path):
    from evaluation.qualitative.store import Store

    return Store.open(store_path)


def _checked_out_file(ctx: click.Context, param: click.Parameter, value: Path | None):
    """``--out FILE``, checked before the command runs: a folder or an unwritable place is
    refused with a message saying what to do, not a traceback after the work is done."""
    if value is not None:
        from evaluation.files import check_output_file

        option = f"--{param.name}" if isinstance(param, click.Option) else param.name.upper()
        check_output_file(value, option=option)
    return value


def out_file_option(help: str | None = None, required: bool = False):
    """``--out FILE``: where a command writes its table or file, checked before it runs."""
    return click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        required=required,
        callback=_checked_out_file,
        help=help,
    )


def _show(frame, out: Path | None, *, index: bool = True) -> None:
    """Print a table, or write it as CSV/XLSX when --out is given."""
    import pandas as pd

    if out is not None:
        from evaluation.files import atomic_write, atomic_write_text

        if out.suffix.lower() == ".xlsx":
            # the engine is named: the temporary file's name does not end in .xlsx
            atomic_write(
                out, lambda temporary: frame.to_excel(temporary, index=index, engine="openpyxl")
            )
        else:
            atomic_write_text(out, frame.to_csv(index=index))
        click.echo(f"wrote {len(frame)} rows to {out}")
        return
    with pd.option_context(
        "display.width",
        200,
        "display.max_columns",
        30,
        "display.max_colwidth",
        80,
        "display.max_rows",
        500,
    ):
        click.echo(frame.to_string(index=index) if len(frame) else "(nothing)")


@click.group()
def qual() -> None:
    """Code interview themes: store, codebook, import, coding, queries, agreement, REFI-QDA.

    \b
    workbench qual init                      create the store and sync qualitative/codebook.yml
    workbench qual import FILE...            transcripts (.txt .md .docx .odt .pdf .html), REFI-QDA
    workbench qual code span|quote|pattern   code by hand or by script
    workbench qual query segments|frequencies|cooccurrence|framework
    workbench qual agreement A B             kappa and alpha between two coders
    workbench qual export FILE               .qdpx .qdc .docx .odt .xlsx .md .txt .html
    workbench qual demo --data DIR           the 25-interview demo project
    """


# ---------------------------------------------------------------------- init, import, export
@qual.command()
@store_option
@click.option(
    "--codebook",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="codebook.yml to sync into the new store (default: qualitative/codebook.yml if present).",
)
@click.option("--name", default="Coordinator interviews", show_default=True, help="Project name.")
def init(store_path: Path, codebook: Path | None, name: str) -> None:
    """Create a coding store (or open an existing one) and sync the codebook into it."""
    from evaluation.qualitative.codebook import sync_codebook_file
    from evaluation.qualitative.store import Store

    store = Store.create(store_path, name=name)
    codebook = codebook or (
        Path("qualitative/codebook.yml") if Path("qualitative/codebook.yml").is_file() else None
    )
    if codebook is not None:
        counts = sync_codebook_file(store, codebook)
        click.echo(f"synced {codebook}: {counts}")
    click.echo(f"store ready at {store_path}: {store.summary()}")


@qual.command(name="import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@store_option
@click.option(
    "--pseudonyms",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Reviewed pseudonym mapping (YAML) applied to transcripts before they are stored.",
)
@click.option(
    "--case", "case_name", default=None, help="Link the imported transcripts to this case."
)
@click.option(
    "--positions",
    type=click.Choice(["auto", "utf16", "codepoints"]),
    default="auto",
    show_default=True,
    help="How .qdpx positions count: auto = UTF-16 units for NVivo files, code points otherwise.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def import_(
    files: tuple[Path, ...],
    store_path: Path,
    pseudonyms: Path | None,
    case_name: str | None,
    positions: str,
    quiet: bool,
) -> None:
    """Import transcripts or REFI-QDA files; the format follows the extension.

    Transcripts (.txt .md .docx .odt .pdf .html) are read as plain text with speaker turns
    ("Interviewer:", "Coordinator:"), pseudonymised if --pseudonyms is given, and added in one
    transaction. A .qdpx adds a whole project, a .qdc a codebook. Creates the store if needed.
    """
    from evaluation.qualitative.store import Store

    created = not store_path.exists()
    store = Store.create(store_path) if created else Store.open(store_path)
    try:
        _import_files(store, files, store_path, pseudonyms, case_name, positions, quiet)
    except BaseException:
        store.close()
        if created:  # a failed first import leaves no empty store behind
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store_path}{suffix}").unlink(missing_ok=True)
        raise


def _import_files(store, files, store_path, pseudonyms, case_name, positions, quiet) -> None:
    from evaluation.qualitative.importers import import_transcripts
    from evaluation.qualitative.pseudonyms import read_mapping
    from evaluation.qualitative.refi import import_qdc, import_qdpx

    projects = [f for f in files if f.suffix.lower() == ".qdpx"]
    codebooks = [f for f in files if f.suffix.lower() == ".qdc"]
    transcripts = [f for f in files if f not in projects and f not in codebooks]
    if pseudonyms and projects:
        raise InputError(
            f"{projects[0]}: --pseudonyms applies to transcripts only; a coded project's positions "
            "would no longer fit a pseudonymised text. Pseudonymise the transcripts before coding "
            "them."
        )
    for path in projects:
        counts = import_qdpx(store, path, positions=positions)
        click.echo(f"imported {path}: {counts}")
    for path in codebooks:
        click.echo(f"imported {path}: {import_qdc(store, path)} codes added")
    if transcripts:
        mapping = read_mapping(pseudonyms) if pseudonyms else None
        ids = import_transcripts(store, list(transcripts), pseudonyms=mapping, progress=not quiet)
        if case_name:
            store.add_case(case_name, documents=ids)
        click.echo(
            f"imported {len(ids)} transcript(s) into {store_path}"
            + (" (pseudonymised)" if mapping else "")
        )


@qual.command(name="import-qdpx")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_option
@click.option(
    "--positions",
    type=click.Choice(["auto", "utf16", "codepoints"]),
    default="auto",
    show_default=True,
    help="auto = UTF-16 units for NVivo files, code points otherwise.",
)
def import_qdpx_command(file: Path, store_path: Path, positions: str) -> None:
    """Import a REFI-QDA project (.qdpx from NVivo, ATLAS.ti, MAXQDA, QualCoder)."""
    from evaluation.qualitative.refi import import_qdpx
    from evaluation.qualitative.store import Store

    store = Store.create(store_path) if not store_path.exists() else Store.open(store_path)
    click.echo(f"imported {file}: {import_qdpx(store, file, positions=positions)}")


@qual.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), callback=_checked_out_file)
@store_option
@click.option(
    "--target",
    type=click.Choice(["nvivo", "atlas", "standard"]),
    default="standard",
    show_default=True,
    help=(
        ".qdpx flavour: nvivo (Sources/, UTF-16 positions, BOM, CRLF), atlas or standard "
        "(sources/, code points)."
    ),
)
@click.option("--coder", default=None, help="Only this coder's quotes (.docx/.xlsx/.md).")
def export(file: Path, store_path: Path, target: str, coder: str | None) -> None:
    """Export the project; the format follows the extension.

    .qdpx whole project (REFI-QDA), .qdc codebook, .docx/.odt/.xlsx codebook and coded quotes
    for colleagues, .md/.txt/.html the same as a plain report. Written to a temporary file first.
    """
    from evaluation.qualitative import exports, refi

    store = _open(store_path)
    suffix = file.suffix.lower()
    if suffix == ".qdpx":
        refi.export_qdpx(store, file, target=target)
    elif suffix == ".qdc":
        refi.export_qdc(store, file)
    elif suffix == ".docx":
        exports.export_docx(store, file, coder=coder)
    elif suffix == ".xlsx":
        exports.export_xlsx(store, file, coder=coder)
    elif suffix in (".md", ".txt", ".html"):
        exports.export_report(store, file, coder=coder)
    elif suffix == ".odt":
        exports.export_odt(store, file, coder=coder)
    else:
        raise InputError(
            f"{file}: cannot export to {suffix or 'a file without extension'}; "
            "use .qdpx, .qdc, .docx, .odt, .xlsx, .md, .txt or .html (for PDF, print the .docx)"
        )
    click.echo(f"wrote {file}")


@qual.command()
@store_option
def documents(store_path: Path) -> None:
    """List the documents in the store."""
    _show(_open(store_path).documents().drop(columns=["guid", "sha256"]), None, index=False)


@qual.command()
@store_option
def summary(store_path: Path) -> None:
    """Counts of documents, codes, segments, coders, memos and cases."""
    store = _open(store_path)
    for key, value in store.summary().items():
        click.echo(f"{key:10s} {value}")


# ---------------------------------------------------------------------- codebook
@qual.group()
def codebook() -> None:
    """The codebook: sync qualitative/codebook.yml into the store, show it, export it."""


@codebook.command(name="sync")
@store_option
@click.option(
    "--file",
    "codebook_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("qualitative/codebook.yml"),
    show_default=True,
    help="The reviewed codebook file.",
)
def codebook_sync(store_path: Path, codebook_file: Path) -> None:
    """Apply codebook.yml (adds, renames, merged_from, split_from) without losing a segment."""
    from evaluation.qualitative.codebook import sync_codebook_file

    click.echo(f"synced {codebook_file}: {sync_codebook_file(_open(store_path), codebook_file)}")


@codebook.command(name="show")
@store_option
def codebook_show(store_path: Path) -> None:
    """Print the codebook as a tree with segment counts."""
    from evaluation.qualitative.exports import codebook_table

    table = codebook_table(_open(store_path))
    for row in table.itertuples():
        depth = row.path.count("/")
        click.echo(f"{'  ' * depth}{row.path.split('/')[-1]}  [{row.key}]  {row.segments} segments")


@codebook.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), callback=_checked_out_file)
@store_option
def codebook_export(file: Path, store_path: Path) -> None:
    """Write the store's codebook as codebook.yml (e.g. after importing a .qdpx)."""
    from evaluation.files import atomic_write_text
    from evaluation.qualitative.codebook import codebook_to_yaml

    atomic_write_text(file, codebook_to_yaml(_open(store_path)))
    click.echo(f"wrote {file}")


# ---------------------------------------------------------------------- coding
@qual.group()
def code() -> None:
    """Code text: a span, a quote, or every match of a pattern or keyword list."""


@code.command(name="span")
@click.argument("document")
@click.argument("code_key")
@click.argument("start", type=int)
@click.argument("end", type=int)
@click.option("--coder", required=True, help="Who is coding.")
@click.option("--memo", default=None, help="A note on the segment.")
@store_option
def code_span_command(
    document: str,
    code_key: str,
    start: int,
    end: int,
    coder: str,
    memo: str | None,
    store_path: Path,
) -> None:
    """Code characters START..END (code points, END exclusive) of DOCUMENT with CODE_KEY."""
    from evaluation.qualitative.coding import code_span

    store = _open(store_path)
    segment = code_span(store, document, code_key, start, end, coder=coder, memo=memo)
    click.echo(f"segment {segment}: {store.segment_text(segment)!r}")


@code.command(name="quote")
@click.argument("document")
@click.argument("code_key")
@click.argument("quote")
@click.option("--coder", required=True, help="Who is coding.")
@click.option(
    "--occurrence", type=int, default=1, show_default=True, help="Which appearance of the quote."
)
@store_option
def code_quote_command(
    document: str, code_key: str, quote: str, coder: str, occurrence: int, store_path: Path
) -> None:
    """Code the exact QUOTE in DOCUMENT with CODE_KEY."""
    from evaluation.qualitative.coding import code_quote

    segment = code_quote(
        _open(store_path), document, code_key, quote, coder=coder, occurrence=occurrence
    )
    click.echo(f"segment {segment}")


@code.command(name="pattern")
@click.argument("code_key")
@click.option("--pattern", default=None, help="A regular expression.")
@click.option("--keywords", default=None, help="Comma-separated keywords (whole words).")
@click.option(
    "--keywords-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A file with one keyword per line.",
)
@click.option(
    "--unit",
    type=click.Choice(["match", "sentence", "turn", "paragraph"]),
    default="sentence",
    show_default=True,
    help="Code the match itself or the whole unit containing it.",
)
@click.option("--coder", required=True, help="Name the script as a coder, e.g. 'keywords'.")
@click.option("--case-sensitive", is_flag=True)
@store_option
def code_pattern_command(
    code_key, pattern, keywords, keywords_file, unit, coder, case_sensitive, store_path
) -> None:
    """Code every match of a pattern or keyword list with CODE_KEY (re-running adds nothing)."""
    from evaluation.qualitative.coding import code_pattern

    words = None
    if keywords is not None:
        words = [w for w in keywords.split(",") if w.strip()]
    if keywords_file is not None:
        words = (words or []) + [
            w for w in keywords_file.read_text(encoding="utf-8").splitlines() if w.strip()
        ]
    added = code_pattern(
        _open(store_path),
        code_key,
        pattern=pattern,
        keywords=words,
        coder=coder,
        unit=unit,
        case_sensitive=case_sensitive,
    )
    click.echo(f"added {added} segment(s) coded {code_key} by {coder}")


@qual.command()
@store_option
@click.option("--coder", default=None, help="Learn from this coder only (default: everyone).")
@click.option(
    "--unit",
    type=click.Choice(["sentence", "turn", "paragraph"]),
    default="sentence",
    show_default=True,
)
@click.option(
    "--threshold",
    type=float,
    default=0.5,
    show_default=True,
    help="Minimum probability to suggest.",
)
@click.option("--accept-as", default=None, help="Store every suggestion as segments of this coder.")
@out_file_option("Write suggestions to CSV.")
def suggest(store_path, coder, unit, threshold, accept_as, out) -> None:
    """Suggest codes for uncoded passages, with each code's held-out precision."""
    from evaluation.qualitative.coding import accept_suggestions, suggest_codes

    store = _open(store_path)
    result = suggest_codes(store, coder=coder, unit=unit, threshold=threshold)
    click.echo("How far to trust the suggestions (held-out documents, at the threshold):")
    _show(result.precision, None, index=False)
    _show(result.suggestions, out, index=False)
    if accept_as:
        click.echo(
            f"stored {accept_suggestions(store, result.suggestions, coder=accept_as)} "
            f"suggestion(s) as coder {accept_as}"
        )


# ---------------------------------------------------------------------- queries
@qual.group()
def query() -> None:
    """Retrieve segments, count codes, co-occurrence, framework matrix."""


def _attributes(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        if "=" not in value:
            raise InputError(f"--attribute {value!r}: expected NAME=VALUE, e.g. region=Nordjylland")
        name, _, content = value.partition("=")
        out[name] = content
    return out


@query.command(name="segments")
@store_option
@click.option("--code", "code_key", default=None, help="Code key or path (subcodes included).")
@click.option("--case", "case_name", default=None)
@click.option("--attribute", multiple=True, help="Case attribute filter NAME=VALUE (repeatable).")
@click.option("--coder", default=None)
@click.option(
    "--context", type=int, default=80, show_default=True, help="Characters of context either side."
)
@out_file_option("CSV or XLSX file.")
def query_segments(store_path, code_key, case_name, attribute, coder, context, out) -> None:
    """Coded segments with context, filtered by code, case, attribute and coder."""
    from evaluation.qualitative.queries import retrieve

    frame = retrieve(
        _open(store_path),
        code=code_key,
        case=case_name,
        attributes=_attributes(attribute),
        coder=coder,
        context=context,
    )
    _show(frame, out, index=False)


@query.command(name="frequencies")
@store_option
@click.option(
    "--by", default="case", show_default=True, help="'case' or a case attribute such as region."
)
@click.option(
    "--count",
    type=click.Choice(["segments", "documents", "characters"]),
    default="segments",
    show_default=True,
)
@click.option("--coder", default=None)
@out_file_option()
def query_frequencies(store_path, by, count, coder, out) -> None:
    """Code frequencies by case or by a case attribute."""
    from evaluation.qualitative.queries import code_frequencies

    _show(code_frequencies(_open(store_path), by=by, count=count, coder=coder), out)


@query.command(name="cooccurrence")
@store_option
@click.option(
    "--distance",
    type=int,
    default=None,
    help="Count codes within this many characters (default: overlap).",
)
@click.option("--coder", default=None)
@out_file_option()
def query_cooccurrence(store_path, distance, coder, out) -> None:
    """Co-occurrence matrix of codes (overlapping or within a distance)."""
    from evaluation.qualitative.queries import cooccurrence

    _show(cooccurrence(_open(store_path), distance=distance, coder=coder, labels="key"), out)


@query.command(name="framework")
@store_option
@click.option("--coder", default=None)
@click.option("--quotes", type=int, default=2, show_default=True, help="Quotes per cell.")
@out_file_option()
def query_framework(store_path, coder, quotes, out) -> None:
    """Framework matrix: cases x themes with counts and quotes."""
    from evaluation.qualitative.queries import framework_matrix

    _show(framework_matrix(_open(store_path), coder=coder, quotes_per_cell=quotes), out)


# ---------------------------------------------------------------------- agreement
@qual.command()
@click.argument("coder_a")
@click.argument("coder_b")
@store_option
@click.option(
    "--level",
    type=click.Choice(["character", "segment", "both"]),
    default="both",
    show_default=True,
)
@click.option(
    "--uncoded/--no-uncoded",
    default=None,
    help="With or without text neither coder coded (default: both).",
)
@out_file_option()
def agreement(coder_a, coder_b, store_path, level, uncoded, out) -> None:
    """Cohen's kappa, Krippendorff's alpha and percent agreement, per code and overall."""
    import pandas as pd

    from evaluation.qualitative.agreement import agreement_table

    store = _open(store_path)
    segments = store.segments(details=False)
    documents = store.documents(with_text=True)
    texts = dict(zip(documents["id"], documents["text"]))
    levels = ["character", "segment"] if level == "both" else [level]
    uncodeds = [True, False] if uncoded is None else [uncoded]
    frame = pd.concat(
        [
            agreement_table(
                segments, documents, coder_a, coder_b, level=lv, uncoded=u, document_texts=texts
            )
            for lv in levels
            for u in uncodeds
        ],
        ignore_index=True,
    )
    frame = frame.round({"percent_agreement": 1, "cohen_kappa": 3, "krippendorff_alpha": 3})
    _show(frame, out, index=False)


@qual.command()
@click.argument("coder_a")
@click.argument("coder_b")
@store_option
@out_file_option(
    "CSV/XLSX to work through; add a 'keep' column and pass it to `qual consensus --keep`."
)
def disagreements(coder_a, coder_b, store_path, out) -> None:
    """List the stretches one coder coded and the other did not."""
    from evaluation.qualitative.agreement import disagreements as find

    store = _open(store_path)
    documents = store.documents(with_text=True)
    frame = find(store.segments(), coder_a, coder_b, dict(zip(documents["id"], documents["text"])))
    _show(frame, out, index=False)


@qual.command()
@click.argument("coder_a")
@click.argument("coder_b")
@store_option
@click.option(
    "--into", default="consensus", show_default=True, help="Coder name for the merged coding."
)
@click.option(
    "--strategy",
    type=click.Choice(["agreed", "intersection", "union"]),
    default="agreed",
    show_default=True,
)
@click.option(
    "--keep",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Disagreements CSV with a true/false 'keep' column: kept rows join the consensus.",
)
def consensus(coder_a, coder_b, store_path, into, strategy, keep) -> None:
    """Merge two coders' work into a consensus coder."""
    import pandas as pd

    from evaluation.qualitative.agreement import merge_consensus

    kept = None
    if keep is not None:
        frame = pd.read_csv(keep)
        if "keep" not in frame.columns:
            raise InputError(
                f"{keep}: needs a 'keep' column (true/false) next to the disagreement rows"
            )
        kept = frame[frame["keep"].astype(str).str.lower().isin(["true", "1", "yes", "x"])]
    added = merge_consensus(
        _open(store_path), coder_a, coder_b, into=into, strategy=strategy, keep=kept
    )
    click.echo(f"coder {into}: {added} consensus segment(s)")


# ---------------------------------------------------------------------- cases, memos, pseudonyms
@qual.group()
def cases() -> None:
    """Cases (e.g. one per cluster) with attributes linking to the quantitative data."""


@cases.command(name="list")
@store_option
def cases_list(store_path) -> None:
    """List cases and their attributes."""
    _show(_open(store_path).cases().drop(columns=["guid"]), None, index=False)


@cases.command(name="set")
@click.argument("name")
@click.option("--attribute", multiple=True, help="NAME=VALUE (repeatable), e.g. cluster_id=C012.")
@click.option("--document", "document_names", multiple=True, help="Link a document (repeatable).")
@store_option
def cases_set(name, attribute, document_names, store_path) -> None:
    """Create or update a case, its attributes and documents."""
    store = _open(store_path)
    store.add_case(name, attributes=_attributes(attribute), documents=list(document_names))
    click.echo(f"case {name} saved")


@cases.command(name="link-clusters")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/synthetic"),
    show_default=True,
    help="Data folder with clusters.parquet and clinics.parquet.",
)
@click.option(
    "--pattern",
    default=r"C\d{3}",
    show_default=True,
    help="How a cluster id appears in document names.",
)
@store_option
def cases_link_clusters(data_dir, pattern, store_path) -> None:
    """One case per cluster named in the document names: region, size, urban share, cluster_id."""
    from evaluation.qualitative.cases import link_cluster_cases

    links = link_cluster_cases(_open(store_path), data_dir, pattern=pattern)
    click.echo(
        f"linked {len(links)} document(s) to {links['case'].nunique() if len(links) else 0} "
        "cluster case(s)"
    )


@qual.command()
@click.argument("text")
@click.option(
    "--on",
    "target",
    type=click.Choice(["project", "document", "code", "segment", "case"]),
    default="project",
    show_default=True,
)
@click.option(
    "--target", "target_id", default=None, help="The document/code/case name or segment id."
)
@click.option("--coder", default=None)
@click.option("--title", default="")
@store_option
def memo(text, target, target_id, coder, title, store_path) -> None:
    """Write a memo on the project, a document, a code, a segment or a case."""
    if target == "segment" and target_id is not None:
        target_id = int(target_id)
    memo_id = _open(store_path).add_memo(
        text, target=target, target_id=target_id, coder=coder, title=title
    )
    click.echo(f"memo {memo_id} saved")


@qual.group()
def pseudonyms() -> None:
    """Draft a pseudonym mapping, or put real names back with one."""


@pseudonyms.command(name="propose")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@out_file_option(
    "Mapping file to write (keep it out of git); review it and set reviewed_by.", required=True
)
def pseudonyms_propose(files, out) -> None:
    """Draft a mapping from capitalised words in the transcripts (unreviewed until you sign it)."""
    from evaluation.qualitative.importers import read_transcript
    from evaluation.qualitative.pseudonyms import propose_mapping, write_mapping

    mapping = propose_mapping([read_transcript(f).text for f in files])
    write_mapping(out, mapping)
    click.echo(
        f"wrote {len(mapping.pairs)} candidate(s) to {out}: check every line, then fill in "
        "reviewed_by"
    )


@pseudonyms.command(name="reverse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@out_file_option(required=True)
def pseudonyms_reverse(file, mapping, out) -> None:
    """Put the real names back into a text file (needs the mapping)."""
    from evaluation.files import atomic_path
    from evaluation.qualitative.pseudonyms import PERSONAL_DATA_MODE, read_mapping

    text = read_mapping(mapping).reverse(file.read_text(encoding="utf-8"))
    # the real names are back in it: readable by its owner only, like the mapping
    with atomic_path(out, mode=PERSONAL_DATA_MODE) as temporary:
        temporary.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}")


# ---------------------------------------------------------------------- demo
@qual.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/synthetic"),
    show_default=True,
    help="Synthetic data folder from `workbench data synth` (needs truth.json).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("qualitative/demo"),
    show_default=True,
    help="Folder to write (replaced if it exists).",
)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option(
    "--per-region",
    type=int,
    default=5,
    show_default=True,
    help="Interviews per region (one per cluster).",
)
@click.option("--quiet", is_flag=True)
def demo(data_dir, out, seed, per_region, quiet) -> None:
    """Generate the demo project: 25 coordinator interviews coded by two coders."""
    from evaluation.qualitative.demo import build_demo

    summary = build_demo(data_dir, out, seed=seed, per_region=per_region, progress=not quiet)
    click.echo(
        f"wrote {summary['interviews']} interviews, codebook, pseudonym mapping, store and "
        f"truth.json to {summary['folder']}"
    )
    click.echo(f"try: workbench qual agreement anna bo --store {summary['store']}")


def _register_subcommands() -> None:
    """Clients that build on the store bring their own command group (e.g. the Taguette client)."""
    try:
        from evaluation.qualitative.taguette.cli import taguette
    except ImportError:  # pragma: no cover - client not installed
        return
    qual.add_command(taguette)


_register_subcommands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(qual())
