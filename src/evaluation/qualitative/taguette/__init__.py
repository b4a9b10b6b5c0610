"""Taguette client: code interviews in Taguette, analyse them in the workbench.

Taguette (https://www.taguette.org) is a free, open-source web tool for qualitative coding.
This subpackage moves a project between a Taguette server and the coding store:

- :func:`push` uploads transcripts (as UTF-8 HTML, no Calibre needed) and the codebook (dotted
  tag paths with descriptions) to a new or existing project;
- :func:`pull` brings documents, tags and highlights back as documents, codes and segments with
  exact code-point offsets, idempotently and in one transaction; one project per coder gives
  blind parallel coding that the agreement measures can compare;
- :mod:`.offline` imports Taguette's export files (.sqlite3, codebook and highlights CSV);
- :mod:`.auth` takes credentials from the environment or a prompt and never stores them.

CLI: ``workbench qual taguette push|pull|import``.
"""

from evaluation.qualitative.taguette.auth import Credentials, CredentialsError, credentials_from_env
from evaluation.qualitative.taguette.client import (
    TaguetteAuthError,
    TaguetteClient,
    TaguetteConflict,
    TaguetteError,
    TaguetteHTTPError,
    TaguetteSessionExpired,
    TaguetteUnreachable,
)
from evaluation.qualitative.taguette.offline import (
    TaguetteExportError,
    import_codebook_csv,
    import_highlights_csv,
    import_project_export,
    read_project_export,
)
from evaluation.qualitative.taguette.offsets import (
    OffsetMap,
    html_text,
    taguette_form,
    text_to_html,
)
from evaluation.qualitative.taguette.pull import pull
from evaluation.qualitative.taguette.push import PushReport, push
from evaluation.qualitative.taguette.sync import (
    Snapshot,
    SyncReport,
    TaguetteSyncError,
    apply_snapshot,
    fetch_snapshot,
)

__all__ = [
    "Credentials",
    "CredentialsError",
    "OffsetMap",
    "PushReport",
    "Snapshot",
    "SyncReport",
    "TaguetteAuthError",
    "TaguetteClient",
    "TaguetteConflict",
    "TaguetteError",
    "TaguetteExportError",
    "TaguetteHTTPError",
    "TaguetteSessionExpired",
    "TaguetteSyncError",
    "TaguetteUnreachable",
    "apply_snapshot",
    "credentials_from_env",
    "fetch_snapshot",
    "html_text",
    "import_codebook_csv",
    "import_highlights_csv",
    "import_project_export",
    "pull",
    "push",
    "read_project_export",
    "taguette_form",
    "text_to_html",
]
