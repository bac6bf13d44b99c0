"""The policies' own texts: plain-word explanations and the reasons of decisions.

Written in English as gettext message ids, translated through the `policies` Babel catalog
in `policies/locales` (German and English), so policies/ can speak German without importing
the node. Its tables mark their words with `N_`; reasons are `Message`s of this domain, which
the node renders in the reader's language. Refresh the catalogs with
`python -m allmende.node.web.catalogs update` (docs/developers/translations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.support import NullTranslations, Translations

from allmende.vocab.messages import Message

DOMAIN = "policies"
LOCALES = Path(__file__).parent / "locales"


def N_(message: str) -> str:
    """Mark a text for extraction where it is defined; it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a text with its plural form; `translations(language).ngettext` picks one."""
    return singular, plural


def say(msgid: str, /, **values: object) -> Message:
    """A text of this catalog, English until a reader's language is known."""
    return Message(msgid, DOMAIN, **values)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of `language`; an unknown language reads the English ids."""
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as compiled:
        return Translations(compiled, domain=DOMAIN)


def gettext(language: str) -> Callable[[str], str]:
    return translations(language).gettext


# how each language writes a day: German as in Germany, English as in Britain (the node's
# pages use the same, node/web/i18n.py)
_DAY_LOCALES = {"de": "de_DE", "en": "en_GB"}


def day_text(value: str, language: str) -> str | None:
    """A day a policy names (2027-12-31, or a time on it) as the language writes it:
    31.12.2027; None if `value` is no date."""
    try:
        day = (
            datetime.fromisoformat(value.replace("Z", "+00:00")).date()
            if "T" in value
            else date.fromisoformat(value)
        )
    except ValueError:
        return None
    return str(format_date(day, "medium", locale=_DAY_LOCALES.get(language, "en_GB")))
