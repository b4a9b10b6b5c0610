"""Pull a Taguette project's documents, tags and highlights into the coding store.

Two phases, so that a failure never leaves a half-pulled store: first everything is read from
the server (:func:`~evaluation.qualitative.taguette.sync.fetch_snapshot`; the store is not
touched), then the store is brought in line in one transaction
(:func:`~evaluation.qualitative.taguette.sync.apply_snapshot`). A server that disappears, a
session that dies because the server restarted, or a 5xx answer in the first phase leaves the
store exactly as it was; an error in the second rolls the transaction back.

Blind parallel coding: give each coder their own Taguette project (``push`` once per coder) and
pull each with ``coder=`` their name; the store then holds both codings of the same documents
and codes, ready for :func:`evaluation.qualitative.agreement.agreement_report`.

Example (needs a running server)::

    with TaguetteClient(url, credentials_from_env()) as client:
        print(pull(client, store, project_id=3, coder="anna"))
"""

from __future__ import annotations

from collections.abc import Callable

from evaluation.qualitative.store import Store
from evaluation.qualitative.taguette.client import TaguetteClient
from evaluation.qualitative.taguette.sync import SyncReport, apply_snapshot, fetch_snapshot


def pull(
    client: TaguetteClient,
    store: Store,
    project_id: int,
    *,
    coder: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> SyncReport:
    """Pull project ``project_id`` as ``coder`` (default: as before, else the Taguette login)."""
    snapshot = fetch_snapshot(client, project_id, progress=progress)
    return apply_snapshot(store, snapshot, coder=coder)
