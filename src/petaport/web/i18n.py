"""Languages of the portal: English (the source language) and Traditional Chinese (Hong Kong).

Catalogues are read from the ``.po`` files at start and compiled in memory, so no ``.mo``
build step is needed. English uses the msgids themselves. Locale names are Babel's
(``zh_Hant``); the HTML ``lang`` attribute uses the BCP 47 form (``zh-Hant``).
"""

from __future__ import annotations

import gettext
from io import BytesIO
from pathlib import Path
from typing import Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"
LOCALES: dict[str, str] = {"en": "EN", "zh_Hant": "繁體中文"}  # locale -> label in the switch
HTML_LANG = {"en": "en", "zh_Hant": "zh-Hant"}
_HANT_REGIONS = ("hant", "hk", "tw", "mo")


class Gettext(Protocol):
    def __call__(self, message: str, /) -> str: ...


def load_catalogue(locale: str) -> gettext.NullTranslations:
    """The translations for ``locale``, compiled from its ``.po`` file (English: none)."""
    if locale == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load_all() -> dict[str, gettext.NullTranslations]:
    return {locale: load_catalogue(locale) for locale in LOCALES}


def known(locale: str | None) -> str | None:
    """``locale`` if the portal speaks it, else None."""
    return locale if locale in LOCALES else None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an Accept-Language header the portal speaks, if any."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().lower().replace("_", "-")
        if tag == "en" or tag.startswith("en-"):
            return "en"
        if tag.startswith("zh") and any(region in tag.split("-") for region in _HANT_REGIONS):
            return "zh_Hant"
    return None
