"""`workbench qual taguette push|pull|import`: the command-line face of the Taguette client.

Credentials come from ``TAGUETTE_TOKEN`` (single-user server) or ``TAGUETTE_USER`` and
``TAGUETTE_PASSWORD`` (multi-user server), else a prompt on the terminal; there is deliberately
no option for a password or token, so none ends up in shell history, notebooks or parameters.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evaluation.errors import EvaluationError, InputError

STORE_HELP = "the coding store (default: qualitative/coding.sqlite)"


def _store(path: str | None, *, create: bool):
    from evaluation.qualitative.store import DEFAULT_STORE, Store

    path = Path(path) if path else DEFAULT_STORE
    return Store.create(path) if create else Store.open(path)


def _client(url: str, timeout: float):
    from evaluation.qualitative.taguette.auth import CredentialsError, credentials_from_env
    from evaluation.qualitative.taguette.client import TaguetteClient

    if "token=" in url:
        raise InputError(
            "--url holds a token: give the server's address only (e.g. http://127.0.0.1:7465) and "
            "the token in TAGUETTE_TOKEN, so it stays out of shell history and logs"
        )
    interactive = sys.stdin.isatty()
    try:
        credentials = credentials_from_env(prompt=interactive)
    except CredentialsError as error:
        error.add_note("There is no terminal to ask for them on.")
        raise
    return TaguetteClient(url, credentials, timeout=timeout)


def _progress(label: str):
    from tqdm.auto import tqdm

    bar = None

    def update(done: int, total: int, name: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, unit="doc", file=sys.stderr, leave=False)
        bar.set_postfix_str(name[:30])
        bar.update(1)
        if done == total:
            bar.close()

    return update


@click.group("taguette")
def taguette() -> None:
    """Code in Taguette, analyse in the workbench.

    \b
    push    upload transcripts and the codebook to a Taguette project
    pull    bring a project's documents, tags and highlights into the store
    import  read Taguette's export files (.sqlite3, codebook/highlights .csv) offline

    Credentials: TAGUETTE_TOKEN (single-user server: the token or the whole link it printed),
    or TAGUETTE_USER and TAGUETTE_PASSWORD (multi-user server); else you are asked.
    """


@taguette.command("push")
@click.option("--url", required=True, help="the Taguette server, e.g. http://127.0.0.1:7465")
@click.option(
    "--project",
    "project_id",
    type=int,
    default=None,
    help="fill this existing project (default: create one)",
)
@click.option(
    "--name", "project_name", default=None, help="name of the new project (at most 50 characters)"
)
@click.option(
    "--coder",
    default=None,
    help="the coder this project is for (blind parallel coding: one project each)",
)
@click.option(
    "--with-segments", is_flag=True, help="also place the coder's existing segments as highlights"
)
@click.option(
    "--document",
    "documents",
    multiple=True,
    help="push only this document (name or id; repeatable)",
)
@click.option("--store", "store_path", default=None, envvar="WORKBENCH_QUAL_STORE", help=STORE_HELP)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="seconds per request")
def push_command(
    url, project_id, project_name, coder, with_segments, documents, store_path, timeout
) -> None:
    """Upload the store's transcripts (UTF-8 HTML) and codebook (dotted tag paths) to Taguette."""
    from evaluation.qualitative.taguette.upload import push

    if with_segments and not coder:
        raise InputError("--with-segments needs --coder: whose segments to place")
    store = _store(store_path, create=False)
    selection = [int(d) if d.isdigit() else d for d in documents] or None
    try:
        with _client(url, timeout) as client:
            report = push(
                client,
                store,
                project_id=project_id,
                project_name=project_name,
                documents=selection,
                coder=coder,
                with_segments=with_segments,
                progress=_progress("uploading"),
            )
    finally:
        store.close()
    click.echo(str(report))
    click.echo(
        f"project id: {report.project_id}  (pull with: workbench qual taguette pull --url "
        f"{report.server} --project {report.project_id})"
    )


@taguette.command("pull")
@click.option("--url", required=True, help="the Taguette server, e.g. http://127.0.0.1:7465")
@click.option(
    "--project",
    "project_id",
    type=int,
    required=True,
    help="the project's id (in its address: /project/ID)",
)
@click.option(
    "--coder",
    default=None,
    help="whose coding this project holds (default: as at the last pull, else the login)",
)
@click.option("--store", "store_path", default=None, envvar="WORKBENCH_QUAL_STORE", help=STORE_HELP)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="seconds per request")
def pull_command(url, project_id, coder, store_path, timeout) -> None:
    """Bring a Taguette project's documents, tags and highlights into the store (all or nothing)."""
    from evaluation.qualitative.taguette.download import pull

    store = _store(store_path, create=True)
    try:
        with _client(url, timeout) as client:
            report = pull(client, store, project_id, coder=coder, progress=_progress("reading"))
    except EvaluationError as error:
        error.add_note("Nothing was changed in the store.")
        raise
    finally:
        store.close()
    click.echo(str(report))


@taguette.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--coder",
    default=None,
    help="whose coding the export holds (Taguette's export names everyone 'admin')",
)
@click.option(
    "--project",
    "project_id",
    type=int,
    default=None,
    help="the project, if the .sqlite3 holds several",
)
@click.option(
    "--source",
    default=None,
    help="name of the project a highlights CSV came from (default: file name)",
)
@click.option(
    "--first-match",
    is_flag=True,
    help="highlights CSV: place a quote found several times at its first place",
)
@click.option("--store", "store_path", default=None, envvar="WORKBENCH_QUAL_STORE", help=STORE_HELP)
def import_command(files, coder, project_id, source, first_match, store_path) -> None:
    """Import Taguette exports without a server: project .sqlite3, codebook.csv, highlights .csv.

    Give the codebook before the highlights; each file is imported in its own transaction.
    """
    from evaluation.qualitative.taguette.offline import (
        TaguetteExportError,
        import_codebook_csv,
        import_highlights_csv,
        import_project_export,
    )

    store = _store(store_path, create=True)
    try:
        for name in files:
            path = Path(name)
            suffix = path.suffix.lower()
            if suffix in (".sqlite3", ".sqlite", ".db"):
                click.echo(str(import_project_export(store, path, coder=coder, project=project_id)))
            elif suffix == ".csv":
                header = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()[:1]
                columns = header[0].split(",") if header else []
                if columns[:2] == ["tag", "description"]:
                    counts = import_codebook_csv(store, path)
                    click.echo(
                        f"{path}: {counts['codes_added']} codes added, "
                        f"{counts['codes_updated']} updated"
                    )
                elif columns[:4] == ["id", "document", "tag", "content"]:
                    if not coder:
                        raise InputError(
                            f"{path}: a highlights CSV needs --coder (whose coding it is)"
                        )
                    click.echo(
                        str(
                            import_highlights_csv(
                                store, path, coder=coder, source=source, first_match=first_match
                            )
                        )
                    )
                else:
                    raise TaguetteExportError(
                        f"{path}: not a Taguette codebook (tag,description,...) or highlights "
                        "(id,document,tag,content) CSV"
                    )
            else:
                raise TaguetteExportError(f"{path}: expected a Taguette export: .sqlite3 or .csv")
    except OSError as error:  # a file that cannot be read: name it, without a traceback
        raise InputError(f"{error.filename}: {error.strerror}") from None
    finally:
        store.close()
