"""Danish and English through one gettext catalogue: no message may lack its Danish."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from evaluation.i18n import LOCALE_DIR, translate

SOURCE = LOCALE_DIR.parent


def _messages_in_source() -> set[str]:
    found = set()
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    for _file, _line, message, _comments, _context in extract_from_dir(
        SOURCE,
        # the index page's template too (see src/evaluation/locale/babel.cfg)
        method_map=[("**.py", "python"), ("**/templates/evaluation/run_index.html.j2", "jinja2")],
        keywords=keywords,
    ):
        found.update([message] if isinstance(message, str) else message)
    return found


def _danish_catalogue():
    with open(LOCALE_DIR / "da" / "LC_MESSAGES" / "evaluation.po", "rb") as handle:
        return read_po(handle, locale="da_DK")


def test_every_message_in_the_code_has_a_danish_translation():
    catalogue = _danish_catalogue()
    translated = {}
    for m in catalogue:
        if m.id and not m.fuzzy:
            # a plural message (ngettext) is translated when every one of its forms is
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            translated.update({i: all(strings) for i in ids})
    untranslated = sorted(m for m in _messages_in_source() if not translated.get(m))
    assert not untranslated, (
        "these messages have no Danish translation (run `make messages`, then write the Danish "
        f"in src/evaluation/locale/da/LC_MESSAGES/evaluation.po): {untranslated}"
    )


def test_the_catalogue_is_used_for_danish_and_english_is_the_source():
    assert translate("Key findings", "da") == "Vigtigste resultater"
    assert translate("Key findings", "en") == "Key findings"


def test_every_danish_message_keeps_the_placeholders_of_its_english_and_no_english_tail():
    # a hand-edited catalogue can lose a {placeholder} (str.format then fails in a report) or
    # glue the next message onto a translation (an English sentence inside Danish text)
    import re

    placeholder = re.compile(r"\{[a-z_]*\}")
    wrong = []
    for m in _danish_catalogue():
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = set(placeholder.findall(" ".join(ids)))
        for text in strings:
            if set(placeholder.findall(text)) != expected:
                wrong.append(f"{ids[0][:60]!r}: placeholders {sorted(expected)} -> {text[:60]!r}")
            if re.search(r"\b(the|of|per|with)\b.*\b(the|of|per|with|to)\b", text):
                wrong.append(f"{ids[0][:60]!r}: English words in {text[:80]!r}")
    assert not wrong, "\n".join(wrong)
