"""Test material and the moves a coder makes in Taguette's web page, done over its HTTP API."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from evaluation.qualitative.store import Store
from evaluation.qualitative.taguette import Credentials, TaguetteClient, html_text, taguette_form

# Transcripts with what breaks naive offset handling: æøå (2 UTF-8 bytes), emoji (4 bytes, and
# ZWJ sequences of several code points), CRLF line ends, a lone CR, tabs, leading white space.
TRANSCRIPTS = {
    "Koordinator Nordjylland": (
        "Interviewer: Hvordan får I data til møderne?\r\nKoordinator: Vi henter tal fra portalen "
        "📊, men det tager tid – især før mødet om NSAID.\r\n\r\nInterviewer: Hvem møder "
        "op?\r\nKoordinator: Omkring to tredjedele 👩‍⚕️👨‍⚕️ kommer; de øvrige har travlt i "
        "klinikken.\r\n"
    ),
    "Koordinator Syddanmark": (
        "  Koordinator: Regionens kvalitetsenhed hjalp os med pakken om antibiotika 💊.\n"
        "\n"
        "\tInterviewer: Og økonomien?\n"
        "Koordinator: Midlerne rækker ikke – det er et problem 😟 for klyngen.\rSlut på båndet."
    ),
}

# codebook: (key, name, parent key, description); one name holds a "." on purpose
CODES = [
    ("data", "Obtaining data", None, "Getting prescription data for the meetings."),
    ("data.challenges", "Challenges", "data", "Trouble getting or reading data."),
    ("data.portal", "Portal (reg. data)", "data", "The national medication portal."),
    ("attendance", "Attendance", None, "Who comes to the meetings."),
    ("support", "Regional support", None, "Help from the regional quality unit."),
    ("funding", "Funding", None, "Money for the cluster's work."),
]


def make_store(path: Path) -> Store:
    store = Store.create(path)
    for name, text in TRANSCRIPTS.items():
        store.add_document(name, text)
    for key, name, parent, description in CODES:
        store.add_code(key, name, parent=parent, description=description)
    return store


def token_client(server, **kwargs) -> TaguetteClient:
    return TaguetteClient(server.url, Credentials(token=server.token), **kwargs)


def login_client(server, user: str, **kwargs) -> TaguetteClient:
    return TaguetteClient(
        server.url, Credentials(user=user, password=server.passwords[user]), **kwargs
    )


class Coder:
    """Highlights phrases in a Taguette project the way the web page does: the page counts UTF-8
    bytes of the text it shows (Taguette's stored text), so the offsets are computed here from
    that text alone, independently of the client's offset mapping."""

    def __init__(self, client: TaguetteClient, project_id: int) -> None:
        self.client = client
        self.project_id = project_id
        listing = client.project(project_id)
        self.documents = {meta["name"]: doc_id for doc_id, meta in listing.documents.items()}
        self.tags = {tag["path"]: tag_id for tag_id, tag in listing.tags.items()}

    def shown_text(self, document: str) -> str:
        return html_text(self.client.document_html(self.project_id, self.documents[document]))

    def byte_span(self, document: str, phrase: str, occurrence: int = 0) -> tuple[int, int]:
        shown = self.shown_text(document)
        wanted = taguette_form(phrase)
        index = -1
        for _ in range(occurrence + 1):
            index = shown.index(wanted, index + 1)
        start = len(shown[:index].encode("utf-8"))
        return start, start + len(wanted.encode("utf-8"))

    def highlight(self, document: str, phrase: str, *tag_paths: str) -> int:
        start, end = self.byte_span(document, phrase)
        return self.client.add_highlight(
            self.project_id, self.documents[document], start, end, [self.tags[p] for p in tag_paths]
        )

    def taguette_snippets(self) -> dict[int, str]:
        """Taguette's own text of every highlight (from its 'all highlights' view)."""
        snippets, page = {}, 1
        while True:
            answer = self.client.request(
                "GET",
                f"/api/project/{self.project_id}/highlights/",
                what="list highlights",
                params={"page": page},
            )
            for highlight in answer["highlights"]:
                snippets[highlight["id"]] = html_text(highlight["content"])
            if page >= answer["pages"]:
                return snippets
            page += 1


def store_state(path: Path, *, skip: tuple[str, ...] = ()) -> str:
    """A digest of every row of every table but ``skip``: equal digests, an unchanged store."""
    connection = sqlite3.connect(path)
    try:
        digest = hashlib.sha256()
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
            )
        ]
        for table in tables:
            if table in skip:
                continue
            digest.update(table.encode())
            for row in connection.execute(f"SELECT * FROM {table} ORDER BY 1"):
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        connection.close()
