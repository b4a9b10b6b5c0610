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

The names below are the public API (push lives in :mod:`.upload`, pull in :mod:`.download`:
no module shares its name with a function); they are imported on first use, so that
``workbench --help`` does not pay for requests and html5lib.

>>> from evaluation.qualitative.taguette import html_text, text_to_html
>>> html_text(text_to_html("Coordinator: We lacked data.", title="Interview 1"))
'Coordinator: We lacked data.'
"""

from __future__ import annotations

import importlib

# The public API: each name and the module it lives in.
_PUBLIC = {
    "auth": ["Credentials", "CredentialsError", "credentials_from_env"],
    "client": [
        "TaguetteAuthError",
        "TaguetteClient",
        "TaguetteConflict",
        "TaguetteError",
        "TaguetteHTTPError",
        "TaguetteSessionExpired",
        "TaguetteUnreachable",
    ],
    "offline": [
        "TaguetteExportError",
        "import_codebook_csv",
        "import_highlights_csv",
        "import_project_export",
        "read_project_export",
    ],
    "offsets": ["OffsetMap", "html_text", "taguette_form", "text_to_html"],
    "download": ["pull"],
    "upload": ["PushReport", "push"],
    "sync": ["Snapshot", "SyncReport", "TaguetteSyncError", "apply_snapshot", "fetch_snapshot"],
}
_MODULE_OF = {
    name: f"evaluation.qualitative.taguette.{module}"
    for module, names in _PUBLIC.items()
    for name in names
}

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


def __getattr__(name: str):
    try:
        module = _MODULE_OF[name]
    except KeyError:
        raise AttributeError(
            f"module 'evaluation.qualitative.taguette' has no attribute {name!r}"
        ) from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
