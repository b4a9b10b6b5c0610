"""Report text in Danish and English: one translation mechanism, gettext catalogues read with Babel.

Every sentence a report shows is written in English in the code, wrapped in ``_()`` (or
``N_()`` where it is defined before the language is known), and translated through the
catalogue ``src/evaluation/locale/da/LC_MESSAGES/evaluation.po``. The Danish is written fresh
as a Danish quality unit would write it, not word for word (see
``../shared/reference/danish-terms.md`` for the established terms).

Keeping the catalogue complete::

    make messages      # extract every _() / N_() message into evaluation.pot and merge it into
                       # the Danish catalogue; new messages appear there with an empty msgstr

``tests/reports/test_i18n.py`` fails while any message has no Danish translation (or a fuzzy
one), so an English sentence cannot slip into a Danish report.

>>> translate("Key findings", "da")
'Vigtigste resultater'
>>> translate("Key findings", "en")
'Key findings'
>>> _ = gettext_for("da"); _("yes")
'ja'
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path

from evaluation.errors import InputError

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "check_lang",
    "gettext_for",
    "locale_for",
    "ngettext_for",
    "translate",
    "translations",
]

DOMAIN = "evaluation"
LANGUAGES = ("en", "da")  # English is the source language: its catalogue is the code itself
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_BABEL_LOCALES = {"en": "en_GB", "da": "da_DK"}


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (module-level tables)."""
    return message


def check_lang(lang: str) -> str:
    """``lang`` if the reports can be written in it, else a clear error."""
    if lang not in LANGUAGES:
        raise InputError(f"lang={lang!r}: reports are written in {' or '.join(LANGUAGES)}.")
    return lang


def locale_for(lang: str) -> str:
    """The Babel locale that formats numbers and dates for ``lang`` (da -> da_DK)."""
    return _BABEL_LOCALES[check_lang(lang)]


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``lang`` (English: the identity).

    The .po file is compiled in memory (no binary .mo file is kept in the repository).
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if check_lang(lang) == "en":
        return gettext.NullTranslations()
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        raise InputError(f"{path}: the {lang} message catalogue is missing; run `make messages`.")
    with open(path, "rb") as handle:
        catalog = read_po(handle, locale=locale_for(lang), domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(lang: str) -> Callable[[str], str]:
    """The ``_`` function for ``lang``."""
    return translations(lang).gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    """The plural-aware ``ngettext(singular, plural, n)`` for ``lang``."""
    return translations(lang).ngettext


def translate(message: str, lang: str) -> str:
    """``message`` in ``lang``."""
    return translations(lang).gettext(message)
