"""Credentials for a Taguette server, from the environment or a prompt; never written anywhere.

Taguette runs in one of two modes:

- **single user** (``taguette`` on a laptop): the server prints a link with a ``token`` that is
  new at every start; ``TAGUETTE_TOKEN`` holds it (the whole link is accepted too);
- **multi user** (``taguette server config.py``): a login and password, from
  ``TAGUETTE_USER`` and ``TAGUETTE_PASSWORD``.

When the environment has neither, :func:`credentials_from_env` asks on the terminal (the password
and token are read without echo). The secrets live only in the :class:`Credentials` object: its
``repr`` hides them, nothing in this package logs them, and :func:`install_log_redaction` keeps
urllib3's debug log of request lines from showing a token in a URL.

Example
-------
>>> environment = {"TAGUETTE_USER": "anna", "TAGUETTE_PASSWORD": "s3cret"}
>>> creds = credentials_from_env(environment, prompt=False)
>>> creds
Credentials(mode='login', user='anna')
>>> "s3cret" in repr(creds) or "s3cret" in str(creds)
False
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from evaluation.errors import EvaluationError

TOKEN_ENV = "TAGUETTE_TOKEN"
USER_ENV = "TAGUETTE_USER"
PASSWORD_ENV = "TAGUETTE_PASSWORD"

_TOKEN_IN_LINK = re.compile(r"[?&]token=([0-9A-Za-z]+)")


class CredentialsError(EvaluationError, ValueError):
    """No usable credentials; the message says which variables to set."""


@dataclass(frozen=True)
class Credentials:
    """How to sign in: a single-user ``token``, or a ``user`` with a ``password``."""

    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.token is None and not (self.user and self.password is not None):
            raise CredentialsError(
                "Taguette credentials need either a token (single-user server) or a user and a "
                f"password (multi-user server): set {TOKEN_ENV}, or {USER_ENV} and {PASSWORD_ENV}"
            )

    @property
    def mode(self) -> str:
        return "token" if self.token is not None else "login"

    def __repr__(self) -> str:  # the dataclass repr would still name the fields; keep it short
        return f"Credentials(mode={self.mode!r}" + (f", user={self.user!r})" if self.user else ")")

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """The secret strings, for tests and log scrubbing."""
        return [s for s in (self.token, self.password) if s]


def token_from_link(value: str) -> str:
    """The token from a pasted ``http://localhost:7465/?token=…`` link, or the value itself."""
    value = value.strip()
    match = _TOKEN_IN_LINK.search(value)
    return match.group(1) if match else value


def credentials_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    prompt: bool = True,
    ask: Callable[[str, bool], str] | None = None,
    single_user: bool | None = None,
) -> Credentials:
    """Credentials from ``TAGUETTE_TOKEN`` or ``TAGUETTE_USER``/``TAGUETTE_PASSWORD``, else from
    a prompt.

    ``single_user`` (if known, e.g. probed from the server) decides what the prompt asks for.
    ``ask(question, hidden)`` reads an answer (default: :func:`click.prompt`, hidden input for
    secrets). With ``prompt=False`` missing credentials raise :class:`CredentialsError`.
    """
    environ = os.environ if environ is None else environ
    token = environ.get(TOKEN_ENV, "").strip()
    user = environ.get(USER_ENV, "").strip()
    password = environ.get(PASSWORD_ENV)
    if token:
        return Credentials(token=token_from_link(token))
    if user and password is not None and password != "":
        return Credentials(user=user, password=password)
    if not prompt:
        missing = (
            f"{PASSWORD_ENV} (for user {user!r})"
            if user
            else f"{TOKEN_ENV}, or {USER_ENV} and {PASSWORD_ENV}"
        )
        raise CredentialsError(f"no Taguette credentials: set {missing}")
    ask = ask or _click_ask
    if not user and single_user is not False:
        answer = ask(
            "Taguette token (paste the link the server printed)"
            if single_user
            else "Taguette user name (or the token/link of a single-user server)",
            single_user is True,
        ).strip()
        if single_user or _TOKEN_IN_LINK.search(answer) or re.fullmatch(r"[0-9a-f]{64}", answer):
            return Credentials(token=token_from_link(answer))
        user = answer
    if not user:
        user = ask("Taguette user name", False).strip()
    password = ask(f"Taguette password for {user}", True)
    return Credentials(user=user, password=password)


def _click_ask(question: str, hidden: bool) -> str:
    import click

    return click.prompt(question, hide_input=hidden, err=True)


class _RedactSecrets(logging.Filter):
    """Blank ``token=…`` in log records (urllib3 logs request lines at DEBUG level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # pragma: no cover - a broken record is not ours to fix
            return True
        if "token=" in message:
            record.msg = _TOKEN_IN_LINK.sub(
                lambda m: m.group(0)[: -len(m.group(1))] + "***", message
            )
            record.args = ()
        return True


_REDACTION = _RedactSecrets()


def install_log_redaction() -> None:
    """Attach the redaction filter to the loggers that print request lines (idempotent)."""
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        logger = logging.getLogger(name)
        if _REDACTION not in logger.filters:
            logger.addFilter(_REDACTION)
