"""A small HTTP client for a Taguette server (version 1.5), mirroring its web API one to one.

Taguette has no documented public API; this client speaks to the endpoints its own web page
uses (see ../shared/reference/taguette/API-NOTES.md in the project's notes):

- sign-in: single user ``GET /?token=…``; multi user a form ``POST /login`` with the XSRF token;
- every POST/DELETE echoes the ``_xsrf`` cookie in the ``X-XSRFToken`` header;
- the lists of documents and tags live only as JSON in the project page's script.

Faults are turned into errors a researcher can act on (:class:`TaguetteError` and subclasses):
an unreachable server, a refused token or password, a session that died because the server
restarted (single-user tokens change at every start), and 4xx/5xx answers with Taguette's own
message. Idempotent requests (GET, DELETE) are retried with back-off on connection errors and on
502/503/504 (urllib3 ``Retry``); requests that create something are never repeated blindly, only
connection failures before anything was sent are retried. When a session dies and the client
holds a password, it signs in again once and repeats the refused request (which the server did
not carry out).

Example
-------
>>> from evaluation.qualitative.taguette.auth import Credentials
>>> client = TaguetteClient("http://127.0.0.1:7465", Credentials(token="0" * 64))
>>> client.base_url
'http://127.0.0.1:7465'
"""

from __future__ import annotations

import html as html_lib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from evaluation.errors import EvaluationError
from evaluation.qualitative.taguette.auth import Credentials, install_log_redaction

log = logging.getLogger(__name__)

DOCUMENT_NAME_MAX = 50  # Taguette refuses longer document and project names
PROJECT_NAME_MAX = 50
TAG_PATH_MAX = 200


class TaguetteError(EvaluationError, RuntimeError):
    """Something went wrong talking to Taguette; the message says what to do."""


class TaguetteUnreachable(TaguetteError):
    """No answer from the server (refused, timed out, wrong address)."""


class TaguetteAuthError(TaguetteError):
    """The server refused the token or the login and password."""


class TaguetteSessionExpired(TaguetteAuthError):
    """The server no longer accepts our session (typically: it was restarted)."""


class TaguetteHTTPError(TaguetteError):
    """The server answered a request with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TaguetteConflict(TaguetteHTTPError):
    """409: e.g. a tag with that path exists already."""


@dataclass(frozen=True)
class ProjectListing:
    """What the project page holds: the project's documents, tags and members."""

    project_id: int
    name: str
    description: str
    documents: dict[int, dict[str, Any]]
    tags: dict[int, dict[str, Any]]
    members: dict[str, dict[str, Any]]
    user_login: str


def normalise_url(url: str) -> str:
    """``http://host:port[/base]`` without a trailing slash; a clear error for a bad address."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TaguetteError(f"not a Taguette address: {url!r}; expected e.g. http://127.0.0.1:7465")
    if parts.query or parts.fragment:
        # a pasted single-user link carries the token in its query; the address is what precedes it
        parts = parts._replace(query="", fragment="")
    return urlunsplit(parts._replace(path=parts.path.rstrip("/"))).rstrip("/")


def _retrying_session(retries: int, backoff: float) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        # 500 is not retried: in Taguette it means a refused request (e.g. offsets out of range)
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "DELETE", "OPTIONS"}),
        raise_on_status=False,
        respect_retry_after_header=True,
        redirect=0,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_JSON_VAR = {
    name: re.compile(rf"^\s*var {name} = (.*);\s*$", re.MULTILINE)
    for name in ("documents", "tags", "members", "user_login", "project_id")
}
# html_safe_json_dumps writes "<" as \x3C, which JSON does not allow; an escaped backslash before
# it ("\\x3C") is literal text and must stay.
_X3C = re.compile(r"(?<!\\)((?:\\\\)*)\\x3C")


def _page_json(page: str, name: str) -> Any:
    match = _JSON_VAR[name].search(page)
    if match is None:
        raise TaguetteError(
            f"the project page has no `var {name}`: is this a Taguette 1.5 server? "
            "(the client reads the lists of documents and tags from that page)"
        )
    return json.loads(_X3C.sub(r"\1\\u003c", match.group(1)))


class TaguetteClient:
    """A signed-in conversation with one Taguette server.

    ``url`` is the server's address (``http://127.0.0.1:7465``; a pasted link is trimmed to it),
    ``credentials`` a :class:`~evaluation.qualitative.taguette.auth.Credentials`. Sign-in happens
    on the first request. ``timeout`` is seconds per request, ``retries`` the attempts for safe
    requests and connection failures.
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.3,
    ) -> None:
        install_log_redaction()
        self.base_url = normalise_url(url)
        self._credentials = credentials
        self.timeout = timeout
        self.retries = retries
        self._session = _retrying_session(retries, backoff)
        self._session.headers["User-Agent"] = "evaluation-workbench-taguette-client"
        self._signed_in = False
        self.user_login: str | None = credentials.user

    def __repr__(self) -> str:
        return f"TaguetteClient({self.base_url!r}, {self._credentials!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> TaguetteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ transport
    def _send(self, method: str, path: str, *, what: str, **kwargs) -> requests.Response:
        """One request; transport failures become :class:`TaguetteUnreachable` without the URL's
        query (a token may be in it)."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            return self._session.request(method, self.base_url + path, **kwargs)
        except requests.exceptions.ConnectionError as error:
            reason = _reason(error)
            raise TaguetteUnreachable(
                f"cannot reach Taguette at {self.base_url} ({reason}) while trying to {what}, "
                f"after {self.retries + 1} attempts. Is the server running, and is --url right?"
            ) from None
        except requests.exceptions.Timeout:
            raise TaguetteUnreachable(
                f"Taguette at {self.base_url} did not answer within {self.timeout:g} s while "
                f"trying to {what}. The server may be overloaded; try again later or raise the "
                "timeout."
            ) from None
        except requests.exceptions.RequestException as error:
            raise TaguetteError(
                f"request to Taguette at {self.base_url} failed while trying to {what}: "
                f"{type(error).__name__}"
            ) from None

    def sign_in(self) -> None:
        """Sign in with the credentials; :class:`TaguetteAuthError` if they are refused."""
        self._session.cookies.clear()
        # Servers that ask users to accept cookies first would redirect every request otherwise.
        self._session.cookies.set("cookies_accepted", "yes")
        if self._credentials.token is not None:
            self._sign_in_token(self._credentials.token)
        else:
            self._sign_in_password(self._credentials.user or "", self._credentials.password or "")
        self._signed_in = True
        self._ensure_xsrf()

    def _sign_in_token(self, token: str) -> None:
        response = self._send("GET", "/", params={"token": token}, what="sign in with the token")
        if response.status_code >= 500:
            self._raise_for_status(response, "sign in with the token")
        if "user" not in self._session.cookies:
            if self._is_multi_user():
                raise TaguetteAuthError(
                    f"Taguette at {self.base_url} is a multi-user server: sign in with a user name "
                    "and password (TAGUETTE_USER and TAGUETTE_PASSWORD), not a token"
                )
            raise TaguetteAuthError(
                f"Taguette at {self.base_url} refused the token. A single-user server makes a new "
                "token every time it starts: copy the link it printed at its last start into "
                "TAGUETTE_TOKEN (the whole link is fine) and run again."
            )
        self.user_login = "admin"  # the only user of a single-user server

    def _is_multi_user(self) -> bool:
        response = self._send("GET", "/login", what="check the server's mode")
        return response.status_code != 404

    def _sign_in_password(self, user: str, password: str) -> None:
        page = self._send("GET", "/login", what="open the login page")
        if page.status_code == 404:
            raise TaguetteAuthError(
                f"Taguette at {self.base_url} is a single-user server: it has no logins. Use the "
                "token from the link it printed at start-up (TAGUETTE_TOKEN)."
            )
        if page.status_code >= 400:
            self._raise_for_status(page, "open the login page")
        xsrf = self._session.cookies.get("_xsrf")
        form = {"login": user, "password": password, "next": "/"}
        if xsrf:
            form["_xsrf"] = xsrf
        response = self._send("POST", "/login", data=form, what="sign in")
        del form  # the password goes no further than this request body
        if response.status_code >= 500:
            self._raise_for_status(response, "sign in")
        if "user" not in self._session.cookies:
            raise TaguetteAuthError(
                f"Taguette at {self.base_url} refused the login for user {user!r}: wrong user name "
                f"or password. Check TAGUETTE_USER and TAGUETTE_PASSWORD."
            )
        self.user_login = user.lower()

    def _ensure_xsrf(self) -> None:
        if "_xsrf" not in self._session.cookies:
            # any page with a form sets the XSRF cookie; /project/new is one in both modes
            response = self._send("GET", "/project/new", what="open a form for its XSRF token")
            if response.status_code >= 400 or "_xsrf" not in self._session.cookies:
                raise TaguetteError(
                    f"Taguette at {self.base_url} did not hand out an XSRF token "
                    f"(status {response.status_code}); is this a Taguette 1.5 server?"
                )

    def request(
        self, method: str, path: str, *, what: str, expect_json: bool = True, **kwargs
    ) -> Any:
        """A signed-in request with Taguette's XSRF header; errors become :class:`TaguetteError`.

        A refused session ("Not logged in", or a redirect to the login page) is renewed once when
        the credentials allow it; otherwise :class:`TaguetteSessionExpired` explains why.
        """
        if not self._signed_in:
            self.sign_in()
        for attempt in (1, 2):
            headers = dict(kwargs.pop("headers", {}) or {})
            if method not in ("GET", "HEAD"):
                xsrf = self._session.cookies.get("_xsrf", "")
                headers["X-XSRFToken"] = xsrf
                # Tornado reads a form's _xsrf field before the header: keep it current after a
                # renewed sign-in, which hands out a new XSRF cookie
                if isinstance(kwargs.get("data"), dict) and "_xsrf" in kwargs["data"]:
                    kwargs["data"] = {**kwargs["data"], "_xsrf": xsrf}
            response = self._send(method, path, headers=headers, what=what, **kwargs)
            kwargs["headers"] = headers
            if self._session_refused(response):
                if attempt == 1 and self._renew_session(what):
                    continue
                raise TaguetteSessionExpired(self._expired_message(what))
            if (
                response.status_code == 403
                and method not in ("GET", "HEAD")
                and attempt == 1
                and not _is_json(response)
            ):
                # Taguette refuses rights in JSON; an HTML 403 on a write is Tornado's XSRF check
                # (the cookie went missing, e.g. dropped by a proxy): fetch a new one, repeat once
                self._session.cookies.pop("_xsrf", None)
                self._ensure_xsrf()
                continue
            break
        if response.status_code >= 400:
            self._raise_for_status(response, what)
        if not expect_json:
            return response
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise TaguetteError(
                f"Taguette at {self.base_url} answered {what!r} with something that is not JSON "
                f"(status {response.status_code}); is this a Taguette 1.5 server?"
            ) from None

    def _session_refused(self, response: requests.Response) -> bool:
        if response.status_code == 403:
            try:
                return response.json().get("error") == "Not logged in"
            except ValueError:
                return False
        if response.status_code in (301, 302, 303, 307):
            location = response.headers.get("Location", "")
            return "/login" in location or location.rstrip("/") in ("", "/", self.base_url)
        return False

    def _renew_session(self, what: str) -> bool:
        """Sign in again if our credentials can; False when a single-user token died."""
        log.info("Taguette session refused while trying to %s; signing in again", what)
        try:
            self.sign_in()
        except TaguetteAuthError:
            if self._credentials.token is not None:
                return False
            raise
        return True

    def _expired_message(self, what: str) -> str:
        if self._credentials.token is not None:
            return (
                f"Taguette at {self.base_url} no longer accepts this session (while trying to "
                f"{what}) and refuses the token: the server was probably restarted, which makes a "
                "new token. Copy the link it printed at its last start into TAGUETTE_TOKEN and "
                "run again; nothing was changed in the store."
            )
        return (
            f"Taguette at {self.base_url} keeps refusing the session (while trying to {what}) "
            "even after signing in again; ask the server's administrator whether your account "
            "is disabled."
        )

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        message = ""
        try:
            message = str(response.json().get("error", ""))
        except ValueError:
            title = re.search(r"<title>(.*?)</title>", response.text or "", re.S)
            message = title.group(1).strip() if title else ""
        detail = f": {message}" if message else ""
        if status == 409:
            raise TaguetteConflict(f"Taguette refused to {what} (409 conflict{detail})", status)
        if status == 404:
            hint = "check --project and that the document, tag or highlight still exists"
        elif status == 403 and not _is_json(response):
            hint = (
                "the server's XSRF check refused the request; a proxy between you and Taguette may "
                "drop its cookies"
            )
        elif status == 403:
            hint = "your Taguette user lacks the right on this project; ask its admin for access"
        elif status == 400:
            hint = "the request was refused as invalid"
        elif status >= 500:
            hint = (
                "the server failed; if it keeps failing, look at its log. Nothing was changed in "
                "the store"
            )
        else:
            hint = "unexpected answer"
        raise TaguetteHTTPError(
            f"Taguette at {self.base_url} answered {status} to {what}{detail} ({hint})", status
        )

    # ------------------------------------------------------------------ projects
    def health(self) -> bool:
        """True when ``GET /health`` answers ``Ok`` (no sign-in needed)."""
        response = self._send("GET", "/health", what="check the server's health")
        return response.status_code == 200 and response.text.strip() == "Ok"

    def create_project(self, name: str, description: str = "") -> int:
        """Create a project; returns its id (Taguette adds a default tag "interesting")."""
        if not name or len(name) > PROJECT_NAME_MAX:
            raise TaguetteError(
                f"project name {name!r}: Taguette needs 1 to {PROJECT_NAME_MAX} characters"
            )
        response = self.request(
            "POST",
            "/project/new",
            what=f"create project {name!r}",
            expect_json=False,
            data={"name": name, "description": description, "_xsrf": self._xsrf()},
        )
        match = re.search(r"/project/(\d+)$", response.headers.get("Location", ""))
        if response.status_code not in (302, 303) or match is None:
            raise TaguetteError(
                f"Taguette did not create project {name!r} (status {response.status_code}); "
                "check the name and your rights on the server"
            )
        return int(match.group(1))

    def project(self, project_id: int) -> ProjectListing:
        """The project's documents, tags and members (read from its page)."""
        response = self.request(
            "GET",
            f"/project/{int(project_id)}",
            what=f"open project {project_id}",
            expect_json=False,
        )
        if response.status_code != 200:
            raise TaguetteHTTPError(
                f"Taguette at {self.base_url} answered {response.status_code} for project "
                f"{project_id}; check --project",
                response.status_code,
            )
        page = response.text
        title = re.search(r"<title>(.*?)</title>", page, re.S)
        name = re.search(r'id="project-name"[^>]*value="([^"]*)"', page)
        description = re.search(r'id="project-description"[^>]*>([^<]*)<', page)
        return ProjectListing(
            project_id=int(project_id),
            name=html_lib.unescape(name.group(1))
            if name
            else (title.group(1).strip() if title else ""),
            description=html_lib.unescape(description.group(1)) if description else "",
            documents={int(k): v for k, v in _page_json(page, "documents").items()},
            tags={int(k): v for k, v in _page_json(page, "tags").items()},
            members=_page_json(page, "members"),
            user_login=_page_json(page, "user_login"),
        )

    def set_member(self, project_id: int, login: str, privileges: str | None) -> None:
        """Give ``login`` ADMIN/MANAGE_DOCS/TAG/READ on the project, or remove them (None)."""
        body = {login: None if privileges is None else {"privileges": privileges}}
        self.request(
            "PATCH",
            f"/api/project/{int(project_id)}/members",
            what=f"set member {login!r}",
            json=body,
        )

    # ------------------------------------------------------------------ documents
    def add_document(
        self,
        project_id: int,
        name: str,
        html: str,
        *,
        description: str = "",
        filename: str = "document.html",
    ) -> int:
        """Upload an HTML document (UTF-8; converted in-process by Taguette, no Calibre)."""
        if not name or len(name) > DOCUMENT_NAME_MAX:
            raise TaguetteError(
                f"document name {name!r}: Taguette needs 1 to {DOCUMENT_NAME_MAX} characters"
            )
        answer = self.request(
            "POST",
            f"/api/project/{int(project_id)}/document/new",
            what=f"upload document {name!r}",
            data={"name": name, "description": description, "text_direction": "LEFT_TO_RIGHT"},
            files={"file": (filename, html.encode("utf-8"), "text/html; charset=utf-8")},
        )
        return int(answer["created"])

    def document_html(self, project_id: int, document_id: int) -> str:
        """The document as Taguette stores it (sanitised HTML; offsets count its text)."""
        answer = self.request(
            "GET",
            f"/api/project/{int(project_id)}/document/{int(document_id)}/contents",
            what=f"read document {document_id}",
        )
        chunks = sorted(answer.get("contents", []), key=lambda c: c["offset"])
        return "".join(chunk["contents"] for chunk in chunks)

    def document_highlights(self, project_id: int, document_id: int) -> list[dict[str, Any]]:
        """Highlights of one document: id, start_offset, end_offset (UTF-8 bytes), tags (ids)."""
        answer = self.request(
            "GET",
            f"/api/project/{int(project_id)}/document/{int(document_id)}",
            what=f"read the highlights of document {document_id}",
        )
        return answer.get("highlights", [])

    def delete_document(self, project_id: int, document_id: int) -> None:
        self.request(
            "DELETE",
            f"/api/project/{int(project_id)}/document/{int(document_id)}",
            what=f"delete document {document_id}",
        )

    # ------------------------------------------------------------------ tags
    def add_tag(self, project_id: int, path: str, description: str = "") -> int:
        """Create a tag; :class:`TaguetteConflict` if the path exists."""
        if not path or len(path) > TAG_PATH_MAX:
            raise TaguetteError(f"tag path {path!r}: Taguette needs 1 to {TAG_PATH_MAX} characters")
        answer = self.request(
            "POST",
            f"/api/project/{int(project_id)}/tag/new",
            what=f"create tag {path!r}",
            json={"path": path, "description": description},
        )
        return int(answer["id"])

    def update_tag(
        self,
        project_id: int,
        tag_id: int,
        *,
        path: str | None = None,
        description: str | None = None,
    ) -> None:
        body = {k: v for k, v in (("path", path), ("description", description)) if v is not None}
        self.request(
            "POST",
            f"/api/project/{int(project_id)}/tag/{int(tag_id)}",
            what=f"update tag {tag_id}",
            json=body,
        )

    def delete_tag(self, project_id: int, tag_id: int) -> None:
        self.request(
            "DELETE",
            f"/api/project/{int(project_id)}/tag/{int(tag_id)}",
            what=f"delete tag {tag_id}",
        )

    def merge_tags(self, project_id: int, source_tag: int, destination_tag: int) -> None:
        self.request(
            "POST",
            f"/api/project/{int(project_id)}/tag/merge",
            what=f"merge tag {source_tag} into {destination_tag}",
            json={"src": int(source_tag), "dest": int(destination_tag)},
        )

    # ------------------------------------------------------------------ highlights
    def add_highlight(
        self, project_id: int, document_id: int, start: int, end: int, tags: list[int]
    ) -> int:
        """Highlight UTF-8 bytes ``[start, end)`` of the document's text with ``tags``."""
        if not tags:
            raise TaguetteError(
                "a Taguette highlight needs at least one tag (the server fails without)"
            )
        answer = self.request(
            "POST",
            f"/api/project/{int(project_id)}/document/{int(document_id)}/highlight/new",
            what=f"highlight bytes {start}-{end} of document {document_id}",
            json={
                "start_offset": int(start),
                "end_offset": int(end),
                "tags": [int(t) for t in tags],
            },
        )
        return int(answer["id"])

    def update_highlight(
        self,
        project_id: int,
        document_id: int,
        highlight_id: int,
        *,
        start: int | None = None,
        end: int | None = None,
        tags: list[int] | None = None,
    ) -> None:
        body: dict[str, Any] = {}
        if start is not None:
            body["start_offset"] = int(start)
        if end is not None:
            body["end_offset"] = int(end)
        if tags is not None:
            body["tags"] = [int(t) for t in tags]
        self.request(
            "POST",
            f"/api/project/{int(project_id)}/document/{int(document_id)}/highlight/{int(highlight_id)}",
            what=f"update highlight {highlight_id}",
            json=body,
        )

    def delete_highlight(self, project_id: int, document_id: int, highlight_id: int) -> None:
        self.request(
            "DELETE",
            f"/api/project/{int(project_id)}/document/{int(document_id)}/highlight/{int(highlight_id)}",
            what=f"delete highlight {highlight_id}",
        )

    # ------------------------------------------------------------------ exports
    def export(self, project_id: int, name: str) -> bytes:
        """An export file: ``project.sqlite3``, ``codebook.csv``, ``highlights/.csv`` (all), ..."""
        response = self.request(
            "GET",
            f"/project/{int(project_id)}/export/{name}",
            what=f"export {name} of project {project_id}",
            expect_json=False,
        )
        if response.status_code != 200:
            raise TaguetteHTTPError(
                f"Taguette at {self.base_url} answered {response.status_code} to the export {name}",
                response.status_code,
            )
        return response.content

    def _xsrf(self) -> str:
        if not self._signed_in:
            self.sign_in()
        return self._session.cookies.get("_xsrf", "")


def _is_json(response: requests.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def _reason(error: Exception) -> str:
    text = str(error)
    for marker, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host name"),
        ("nodename nor servname", "unknown host name"),
        ("timed out", "timed out"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "the server closed the connection"),
        ("Max retries exceeded", "no answer"),
    ):
        if marker in text:
            return reason
    return type(error).__name__
