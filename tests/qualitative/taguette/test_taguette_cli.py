"""`workbench qual taguette push|pull|import` against a real server."""

from __future__ import annotations

import re
import socket

from click.testing import CliRunner
from taguette_helpers import Coder, make_store, store_state, token_client

from evaluation.cli import main
from evaluation.qualitative.store import Store

NORD = "Koordinator Nordjylland"


def _run(arguments, env):
    # through `workbench`, whose one error handler turns the package's errors into messages
    return CliRunner().invoke(
        main, ["qual", "taguette", *arguments], env=env, catch_exceptions=False
    )


def test_push_then_pull_from_the_command_line(tmp_path, taguette_server):
    store_path = tmp_path / "coding.sqlite"
    make_store(store_path).close()
    env = {
        "TAGUETTE_TOKEN": f"{taguette_server.url}/?token={taguette_server.token}",
        "TAGUETTE_USER": None,
    }
    pushed = _run(
        [
            "push",
            "--url",
            taguette_server.url,
            "--name",
            "CLI interviews",
            "--coder",
            "anna",
            "--store",
            str(store_path),
        ],
        env,
    )
    assert pushed.exit_code == 0, pushed.output
    project_id = int(re.search(r"project id: (\d+)", pushed.output).group(1))
    assert "2 documents uploaded" in pushed.output and "6 tags created" in pushed.output

    with token_client(taguette_server) as client:
        Coder(client, project_id).highlight(
            NORD, "Vi henter tal fra portalen 📊", "Obtaining data.Challenges"
        )
    pulled = _run(
        [
            "pull",
            "--url",
            taguette_server.url,
            "--project",
            str(project_id),
            "--store",
            str(store_path),
        ],
        env,
    )
    assert pulled.exit_code == 0, pulled.output
    assert (
        "as coder 'anna'" in pulled.output and "1 segments added" in pulled.output
    )  # coder set at push
    assert taguette_server.token not in pushed.output + pulled.output
    with Store.open(store_path) as store:
        assert store.segments(with_text=True)["text"].tolist() == ["Vi henter tal fra portalen 📊"]

    exported = tmp_path / "project.sqlite3"
    with token_client(taguette_server) as client:
        exported.write_bytes(client.export(project_id, "project.sqlite3"))
    imported = _run(
        ["import", str(exported), "--coder", "bo", "--store", str(tmp_path / "offline.sqlite")], {}
    )
    assert imported.exit_code == 0, imported.output
    assert "1 segments added" in imported.output


def test_command_line_errors_exit_non_zero_and_leave_the_store_alone(tmp_path, taguette_server):
    store_path = tmp_path / "coding.sqlite"
    make_store(store_path).close()
    before = store_state(store_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = _run(
        [
            "pull",
            "--url",
            f"http://127.0.0.1:{closed}",
            "--project",
            "1",
            "--store",
            str(store_path),
            "--timeout",
            "2",
        ],
        {"TAGUETTE_TOKEN": "ab" * 32},
    )
    assert unreachable.exit_code == 1
    assert (
        "cannot reach Taguette" in unreachable.output
        and "Nothing was changed in the store" in unreachable.output
    )
    no_credentials = _run(
        ["pull", "--url", taguette_server.url, "--project", "1", "--store", str(store_path)],
        {"TAGUETTE_TOKEN": None, "TAGUETTE_USER": None, "TAGUETTE_PASSWORD": None},
    )
    assert no_credentials.exit_code == 1 and "no Taguette credentials" in no_credentials.output
    wrong_project = _run(
        ["pull", "--url", taguette_server.url, "--project", "98765", "--store", str(store_path)],
        {"TAGUETTE_TOKEN": taguette_server.token},
    )
    assert wrong_project.exit_code == 1 and "check --project" in wrong_project.output
    token_in_url = _run(
        [
            "pull",
            "--url",
            f"{taguette_server.url}/?token={taguette_server.token}",
            "--project",
            "1",
            "--store",
            str(store_path),
        ],
        {"TAGUETTE_TOKEN": None},
    )
    assert token_in_url.exit_code == 1 and "TAGUETTE_TOKEN" in token_in_url.output
    assert taguette_server.token not in token_in_url.output
    bad_file = tmp_path / "codes.txt"
    bad_file.write_text("nothing")
    refused = _run(["import", str(bad_file), "--store", str(store_path)], {})
    assert refused.exit_code == 1 and "expected a Taguette export" in refused.output
    assert store_state(store_path) == before


def test_the_group_is_reachable_as_workbench_qual_taguette():
    from evaluation.cli import main

    result = CliRunner().invoke(main, ["qual", "taguette", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("push", "pull", "import"):
        assert command in result.output
