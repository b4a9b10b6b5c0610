"""Faults: unreachable server, refused credentials, restarts, 4xx/5xx answers; never a half-pulled
store."""

from __future__ import annotations

import socket

import pytest
from taguette_helpers import Coder, login_client, make_store, store_state, token_client

from evaluation.qualitative.taguette import (
    Credentials,
    TaguetteAuthError,
    TaguetteClient,
    TaguetteConflict,
    TaguetteHTTPError,
    TaguetteSessionExpired,
    TaguetteSyncError,
    TaguetteUnreachable,
    apply_snapshot,
    pull,
    push,
)
from evaluation.qualitative.taguette.sync import (
    Snapshot,
    TaguetteDocument,
    TaguetteHighlight,
    TaguetteTag,
)

NORD, SYD = "Koordinator Nordjylland", "Koordinator Syddanmark"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nobody listens there


def _coded_project(server, store, client=None):
    client = client or token_client(server)
    project_id = push(client, store, project_name="Faults").project_id
    coder = Coder(client, project_id)
    coder.highlight(NORD, "Vi henter tal fra portalen 📊", "Obtaining data.Challenges")
    coder.highlight(SYD, "Midlerne rækker ikke", "Funding")
    return client, project_id


def test_unreachable_server_is_a_clear_error_and_the_store_is_untouched(tmp_path):
    store = make_store(tmp_path / "coding.sqlite")
    before = store_state(tmp_path / "coding.sqlite")
    client = TaguetteClient(
        f"http://127.0.0.1:{_closed_port()}", Credentials(token="f" * 64), retries=1, backoff=0
    )
    with pytest.raises(
        TaguetteUnreachable,
        match=r"cannot reach Taguette .*connection refused.*Is the server running",
    ):
        pull(client, store, 1)
    assert store_state(tmp_path / "coding.sqlite") == before
    store.close()


def test_wrong_token_and_wrong_password_are_refused_clearly(
    taguette_server, taguette_multiuser, tmp_path
):
    with pytest.raises(TaguetteAuthError, match="refused the token"):
        TaguetteClient(taguette_server.url, Credentials(token="0" * 64)).project(1)
    with pytest.raises(
        TaguetteAuthError, match=r"refused the login for user 'anna': wrong user name or password"
    ):
        TaguetteClient(
            taguette_multiuser.url, Credentials(user="anna", password="not-her-password")
        ).project(1)
    # the wrong kind of credentials for the server's mode
    with pytest.raises(TaguetteAuthError, match="single-user server"):
        TaguetteClient(taguette_server.url, Credentials(user="anna", password="x")).project(1)
    with pytest.raises(TaguetteAuthError, match="multi-user server"):
        TaguetteClient(taguette_multiuser.url, Credentials(token="0" * 64)).project(1)


def test_restart_of_a_single_user_server_mid_pull_leaves_the_store_as_it_was(
    private_server, tmp_path
):
    store = make_store(tmp_path / "coding.sqlite")
    client, project_id = _coded_project(private_server, store)
    before = store_state(tmp_path / "coding.sqlite")

    def restart_after_first_document(done, total, name):
        if done == 1:
            private_server.restart()  # a new token: the old session and token are dead

    with pytest.raises(
        TaguetteSessionExpired, match="server was probably restarted.*TAGUETTE_TOKEN"
    ):
        pull(client, store, project_id, coder="anna", progress=restart_after_first_document)
    assert store_state(tmp_path / "coding.sqlite") == before  # nothing half-pulled
    # with the new token the same pull goes through
    report = pull(token_client(private_server), store, project_id, coder="anna")
    assert report.segments_added == 2
    store.close()


def test_restart_of_a_multi_user_server_signs_in_again(private_multiuser, tmp_path, caplog):
    caplog.set_level("INFO", logger="evaluation.qualitative.taguette.client")
    private_multiuser.passwords = {"admin": private_multiuser.admin_password}
    store = make_store(tmp_path / "coding.sqlite")
    client = login_client(private_multiuser, "admin")
    client, project_id = _coded_project(private_multiuser, store, client)

    def restart_with_new_secret(done, total, name):
        if done == 1:  # new cookie secret: every session cookie is now invalid
            private_multiuser.restart(new_secret=True)

    report = pull(client, store, project_id, coder="anna", progress=restart_with_new_secret)
    assert "session refused" in caplog.text and "signing in again" in caplog.text
    assert report.segments_added == 2
    assert sorted(store.segments(with_text=True)["text"]) == [
        "Midlerne rækker ikke",
        "Vi henter tal fra portalen 📊",
    ]
    store.close()


def test_transient_503_answers_are_retried(taguette_server, fault_proxy, tmp_path):
    store = make_store(tmp_path / "coding.sqlite")
    _, project_id = _coded_project(taguette_server, store)
    client = TaguetteClient(fault_proxy.url, Credentials(token=taguette_server.token), backoff=0)
    fault_proxy.rules[rf"GET /api/project/{project_id}/document/\d+/contents"] = [503, 503]
    report = pull(client, store, project_id, coder="anna")
    assert report.segments_added == 2
    contents = [line for line in fault_proxy.seen if line.endswith("/contents")]
    assert len(contents) == 2 + 2  # two documents, two of the reads answered 503 first
    store.close()


def test_persistent_5xx_fails_clearly_without_a_half_pulled_store(
    taguette_server, fault_proxy, tmp_path
):
    store = make_store(tmp_path / "coding.sqlite")
    _, project_id = _coded_project(taguette_server, store)
    before = store_state(tmp_path / "coding.sqlite")
    client = TaguetteClient(
        fault_proxy.url, Credentials(token=taguette_server.token), backoff=0, retries=2
    )
    listing = client.project(project_id)
    last_document = max(listing.documents)
    fault_proxy.rules[rf"GET /api/project/{project_id}/document/{last_document}"] = [500] * 10
    with pytest.raises(
        TaguetteHTTPError, match=r"answered 500 .*Nothing was changed in the store"
    ) as error:
        pull(client, store, project_id, coder="anna")
    assert error.value.status == 500
    assert store_state(tmp_path / "coding.sqlite") == before
    store.close()


def test_requests_that_create_things_are_not_repeated(taguette_server, fault_proxy, tmp_path):
    store = make_store(tmp_path / "coding.sqlite")
    client = TaguetteClient(fault_proxy.url, Credentials(token=taguette_server.token), backoff=0)
    fault_proxy.rules[r"POST /api/project/\d+/tag/new"] = [503]
    with pytest.raises(TaguetteHTTPError, match="answered 503 to create tag"):
        push(client, store, project_name="No repeats")
    assert sum(1 for line in fault_proxy.seen if line.endswith("/tag/new")) == 1
    store.close()


def test_4xx_answers_name_what_to_check(taguette_server):
    client = token_client(taguette_server)
    with pytest.raises(TaguetteHTTPError, match="404") as error:
        client.document_highlights(99999, 1)
    assert error.value.status == 404
    project_id = client.create_project("Conflicts")
    client.add_tag(project_id, "Theme", "")
    with pytest.raises(TaguetteConflict, match="409"):
        client.add_tag(project_id, "Theme", "")


def test_a_failure_while_applying_rolls_everything_back(tmp_path):
    store = make_store(tmp_path / "coding.sqlite")
    before = store_state(tmp_path / "coding.sqlite")
    html = "<p>Et nyt dokument 📄 fra Taguette.</p>"
    snapshot = Snapshot(
        server="http://127.0.0.1:9",
        project_id="7",
        name="broken",
        user_login="admin",
        documents=[TaguetteDocument("1", "Nyt dokument", html)],
        tags=[TaguetteTag("1", "New theme.New code")],
        highlights=[
            TaguetteHighlight("1", "1", 0, 2, ("1",)),
            TaguetteHighlight("2", "1", 0, 10_000, ("1",)),  # past the end of the document
        ],
    )
    with pytest.raises(
        TaguetteSyncError, match="highlight 2 in 'Nyt dokument': byte offset 10000 outside"
    ):
        apply_snapshot(store, snapshot, coder="anna")
    # the document, codes, coder and first segment made before the error are all gone
    assert store_state(tmp_path / "coding.sqlite") == before
    store.close()


def test_pulling_a_project_as_another_coder_is_refused(taguette_server, tmp_path):
    store = make_store(tmp_path / "coding.sqlite")
    client, project_id = _coded_project(taguette_server, store)
    pull(client, store, project_id, coder="anna")
    with pytest.raises(TaguetteSyncError, match="pulled as coder 'anna' before"):
        pull(client, store, project_id, coder="bo")
    store.close()


def test_a_lost_xsrf_cookie_is_fetched_again(taguette_server):
    client = token_client(taguette_server)
    project_id = client.create_project("XSRF")
    client._session.cookies.pop("_xsrf")  # e.g. dropped by a proxy between requests
    assert client.add_tag(project_id, "Theme", "") > 0
    assert "_xsrf" in client._session.cookies


def test_missing_rights_are_named(taguette_multiuser):
    with login_client(taguette_multiuser, "anna") as anna:
        project_id = anna.create_project("Anna only")
        anna.set_member(project_id, "bo", "READ")
    with login_client(taguette_multiuser, "bo") as bo:
        assert bo.project(project_id).name == "Anna only"  # reading is allowed
        with pytest.raises(
            TaguetteHTTPError, match="403 to create tag 'Theme': Unauthorized .*lacks the right"
        ) as error:
            bo.add_tag(project_id, "Theme", "")
    assert error.value.status == 403
