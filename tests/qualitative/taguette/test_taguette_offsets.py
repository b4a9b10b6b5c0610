"""Byte/code-point offsets and the HTML push writes (no server needed)."""

from __future__ import annotations

import logging

import pytest

from evaluation.qualitative.taguette.auth import (
    Credentials,
    CredentialsError,
    credentials_from_env,
    install_log_redaction,
    token_from_link,
)
from evaluation.qualitative.taguette.offsets import (
    ByteIndex,
    OffsetMap,
    html_text,
    taguette_form,
    text_to_html,
)
from evaluation.qualitative.taguette.sync import code_key_for, names_of_tag_path, tag_path_of

TEXTS = [
    "Koordinator: Vi fik data 😀\r\nInterviewer: Godt.",
    "\n\n  leading blank\n\n\n\nmiddle\n \n\t\nend\n\n",
    "æøå ÆØÅ & <b>not a tag</b> &amp; 👩‍👩‍👧 🇩🇰 e\u0301",
    "one line",
    "\r\rtwo lone CRs\r",
    "   ",
]


@pytest.mark.parametrize("text", TEXTS)
def test_html_for_taguette_spells_the_text(text):
    page = text_to_html(text, title="t")
    assert '<meta charset="utf-8">' in page
    assert html_text(page) == taguette_form(text)
    assert "\r" not in taguette_form(text)


def test_byte_index_rounds_inside_a_character_up_like_taguette():
    index = ByteIndex("aæ😀b")  # bytes: a=1, æ=2, 😀=4, b=1
    assert [index.to_char(b) for b in range(9)] == [0, 1, 2, 2, 3, 3, 3, 3, 4]
    assert [index.to_byte(c) for c in range(5)] == [0, 1, 3, 7, 8]
    with pytest.raises(ValueError, match="outside the document"):
        index.to_char(9)


def test_offset_map_through_crlf_is_exact_both_ways():
    store_text = "Line one æ\r\nLine two 😀\r\n\r\nLine three"
    shown = taguette_form(store_text)
    offsets = OffsetMap(shown, store_text)
    assert offsets.alignment.exact
    for phrase in ("æ\r\nLine", "two 😀\r\n\r\n", "Line three", "\r\n"):
        start = store_text.index(phrase)
        byte_start, byte_end = offsets.to_taguette(start, start + len(phrase))
        assert shown.encode()[byte_start:byte_end].decode() == taguette_form(phrase)
        assert offsets.to_store(byte_start, byte_end) == (start, start + len(phrase))


def test_offset_map_aligns_around_characters_taguette_dropped():
    store_text = "Side 1\x00 og\x0cside 2: Vi mangler data 📉 fra portalen."
    shown = "Side 1 og?side 2: Vi mangler data 📉 fra portalen."  # NUL dropped, form feed -> "?"
    offsets = OffsetMap(shown, store_text)
    assert not offsets.alignment.exact and offsets.alignment.unmatched_taguette == 1
    phrase = "Vi mangler data 📉"
    byte_start = shown.encode().index(phrase.encode())
    start, end = offsets.to_store(byte_start, byte_start + len(phrase.encode()))
    assert store_text[start:end] == phrase
    # a highlight over the replaced character snaps to what both texts share
    byte_start = shown.encode().index(b"og?side")
    start, end = offsets.to_store(byte_start, byte_start + len(b"og?side"))
    assert store_text[start:end] == "og\x0cside"
    with pytest.raises(ValueError, match="differs from the store's"):
        offsets.to_taguette(0, 4)


def test_tag_paths_keep_the_hierarchy_and_dots_inside_names():
    assert (
        tag_path_of(["Obtaining data", "Portal (reg. data)"])
        == "Obtaining data.Portal (reg\u2024 data)"
    )
    assert names_of_tag_path("Obtaining data.Portal (reg\u2024 data)") == [
        "Obtaining data",
        "Portal (reg. data)",
    ]
    taken: set[str] = set()
    assert code_key_for("Økonomi.Særlige midler", taken) == "oekonomi.saerlige_midler"
    assert code_key_for("Økonomi.Særlige midler", taken) == "oekonomi.saerlige_midler_2"


def test_credentials_from_environment_and_prompt():
    assert (
        credentials_from_env(
            {"TAGUETTE_TOKEN": "http://localhost:7465/?token=abc123"}, prompt=False
        ).token
        == "abc123"
    )
    login = credentials_from_env(
        {"TAGUETTE_USER": "anna", "TAGUETTE_PASSWORD": "pw-secret"}, prompt=False
    )
    assert (login.user, login.password, login.mode) == ("anna", "pw-secret", "login")
    assert "pw-secret" not in repr(login) and "pw-secret" not in f"{login}"
    with pytest.raises(
        CredentialsError, match="TAGUETTE_TOKEN, or TAGUETTE_USER and TAGUETTE_PASSWORD"
    ):
        credentials_from_env({}, prompt=False)
    with pytest.raises(CredentialsError, match="TAGUETTE_PASSWORD \\(for user 'anna'\\)"):
        credentials_from_env({"TAGUETTE_USER": "anna"}, prompt=False)
    asked = []

    def ask(question, hidden):
        asked.append((question, hidden))
        return "typed-secret" if hidden else "bo"

    prompted = credentials_from_env({}, ask=ask)
    assert (prompted.user, prompted.password) == ("bo", "typed-secret")
    assert asked[-1] == ("Taguette password for bo", True)  # the password is read without echo
    token = credentials_from_env(
        {}, ask=lambda q, h: "http://localhost:7465/?token=feed", single_user=True
    )
    assert token.token == "feed"
    assert token_from_link("  feed  ") == "feed"
    with pytest.raises(CredentialsError):
        Credentials()


def test_tokens_in_request_lines_are_redacted_in_logs(caplog):
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").debug(
        '%s "GET %s HTTP/1.1" 302 0', "http://127.0.0.1:1", "/?token=deadbeef"
    )
    assert "deadbeef" not in caplog.text and "token=***" in caplog.text


def test_readable_text_adds_line_breaks_only_where_blocks_meet_without_space():
    from evaluation.qualitative.taguette.offsets import readable_text

    html = (
        "<p>Koordinator: Data 📊.</p><p>Interviewer: <b>Og</b> "
        "så?</p><ul><li>én</li><li>to</li></ul>slut<br>linje"
    )
    shown = html_text(html)
    assert shown == "Koordinator: Data 📊.Interviewer: Og så?éntoslutlinje"
    readable, partner = readable_text(html)
    assert readable == "Koordinator: Data 📊.\n\nInterviewer: Og så?\n\nén\nto\n\nslut\nlinje"
    assert [readable[i] for i in partner] == list(shown)  # every character keeps its partner
    offsets = OffsetMap(shown, readable, partner=partner)
    start = shown.encode().index("📊.Interviewer".encode())
    assert (
        readable.__getitem__(
            slice(*offsets.to_store(start, start + len("📊.Interviewer".encode())))
        )
        == "📊.\n\nInterviewer"
    )
    # HTML from text_to_html already carries its line breaks: nothing is added
    for text in TEXTS:
        page = text_to_html(text)
        assert readable_text(page)[0] == html_text(page)


@pytest.mark.parametrize("module", ["offsets", "auth", "client"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"evaluation.qualitative.taguette.{module}"))
    assert result.attempted > 0 and result.failed == 0
