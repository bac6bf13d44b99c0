"""What gives away an English text or a raw code on a German page: the English catalog's
texts that German writes differently, and the shapes of codes and US numbers and dates.

Used by tests/web/test_i18n_catalogs.py on rendered pages and handed to the browser test
(tests/browser/i18n.test.mjs) as JSON, so both look for the same things.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from allmende.node.web.i18n import DOMAIN, LOCALES
from allmende.policies import texts as policy_texts

PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")
# A raw code people should never read: a snake_case key, a DCAT-AP.de licence code, an
# all-caps code like UPDATE_CONT, an IRI.
RAW_CODE = re.compile(
    r"\b[a-z]+_[a-z_]+\b|\bdl-(?:de|by|zero)[-/][\w./-]+|\b[A-Z]+_[A-Z_]+\b|https?://\S+"
)
# 1,234 or 1,234.5 (US thousands), and a decimal point where German writes a comma: 21.50,
# 54.70000 (a version like "2.0" in a licence's name and a date like 07.12.2026 are German)
US_NUMBER = re.compile(
    r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b|(?<![\d.])(?:\d{2,}\.\d+|\d\.\d{2,})(?![\d.])"
)
US_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b")


def catalog(language: str, domain: str = DOMAIN) -> Catalog:
    """One language's catalog: the node's (`messages`) or the policies' (`policies`)."""
    folder = policy_texts.LOCALES if domain == policy_texts.DOMAIN else LOCALES
    path = folder / language / "LC_MESSAGES" / f"{domain}.po"
    with Path(path).open("rb") as source:
        return read_po(source, locale=language)


def _strings(value: object) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]  # type: ignore[attr-defined]


@cache
def phrases(language: str) -> tuple[str, ...]:
    """Pieces of one language's texts (between placeholders) that the other language's
    catalog does not contain: if one shows on the other language's page, a text was not
    translated."""
    other = "de" if language == "en" else "en"
    domains = (DOMAIN, policy_texts.DOMAIN)
    other_texts = " | ".join(
        text
        for domain in domains
        for message in catalog(other, domain)
        if message.id
        for text in _strings(message.string)
    )
    found: set[str] = set()
    for message in (m for domain in domains for m in catalog(language, domain)):
        if not message.id:
            continue
        for text in _strings(message.string):
            for piece in PLACEHOLDER.split(text):
                piece = piece.strip(" .,:;–-()“”\"'")
                if len(piece) < 4 or piece in other_texts:
                    continue
                found.add(piece)
    return tuple(sorted(found, key=lambda p: (-len(p), p)))


def english_phrases() -> tuple[str, ...]:
    return phrases("en")


def browser_rules() -> dict[str, object]:
    """The same rules for the browser test (tests/browser/i18n.test.mjs), as JSON."""
    return {
        "phrases": {language: list(phrases(language)) for language in ("de", "en")},
        "rawCode": RAW_CODE.pattern,
        "usNumber": US_NUMBER.pattern,
        "usDate": US_DATE.pattern,
    }


def untranslated(parts: list[str], language: str) -> list[str]:
    """The other language's texts among a page's text parts: a phrase of several words
    anywhere, a single word only as a whole label (so that a German word inside a dataset's
    German title, which is data, does not count, but a German column heading does)."""
    other = "de" if language == "en" else "en"
    text = " ".join(parts)
    whole = {part.strip().rstrip(":").strip() for part in parts}
    found = []
    for phrase in phrases(other):
        if " " not in phrase:
            if phrase in whole:
                found.append(phrase)
        elif re.search(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", text):
            found.append(phrase)
    return found


def page_problems(parts: list[str], language: str) -> list[str]:
    """Untranslated texts and raw codes on any page; US numbers and dates on German ones."""
    text = re.sub(r"\s+", " ", " ".join(parts))
    found = [f"untranslated: {p}" for p in untranslated(parts, language)]
    found += [f"code: {m}" for m in RAW_CODE.findall(text)]
    if language == "de":
        found += [f"US number: {m}" for m in US_NUMBER.findall(text)]
        found += [f"US date: {m}" for m in US_DATE.findall(text)]
    return found
