"""Keep the gettext catalogs in step with the texts: extract, merge, compile.

    python -m allmende.node.web.catalogs update    # after changing or adding texts
    python -m allmende.node.web.catalogs compile   # after translating in a .po file

There are two catalogs (gettext domains): `messages`, every text of `node/` (babel.cfg)
in `node/web/locales`, and `policies`, the texts of `policies/` in `policies/locales`, which
policies/ reads without the node. `update` extracts each into its `.pot`, merges it into the
German and English catalogs, gives new English entries their source text (the texts are
written in English) and compiles them. New German entries stay empty until someone
translates them; tests/web/test_i18n_catalogs.py names each one.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from allmende.node.web.i18n import DOMAIN, LANGUAGES, LOCALES
from allmende.policies import texts as policy_texts

ROOT = Path(__file__).resolve().parents[2]
BABEL_CONFIG = ROOT / "babel.cfg"
# N_ marks a text where it is defined, say() makes a Message, NP_ a text with its plural
KEYWORDS = ("N_", "say", "NP_:1,2")
EXTRACT_OPTIONS = ("--no-location", "--sort-output", "--omit-header")


@dataclass(frozen=True)
class Catalog:
    domain: str
    sources: tuple[Path, ...]
    locales: Path

    @property
    def pot(self) -> Path:
        return self.locales / f"{self.domain}.pot"

    def po(self, language: str) -> Path:
        return self.locales / language / "LC_MESSAGES" / f"{self.domain}.po"


CATALOGS = (
    # vocab/ and connectors/ share the node's catalog (their refusals are its words)
    Catalog(DOMAIN, (ROOT / "node", ROOT / "vocab", ROOT / "connectors"), LOCALES),
    Catalog(policy_texts.DOMAIN, (ROOT / "policies",), policy_texts.LOCALES),
)
POT = CATALOGS[0].pot


def _pybabel(*arguments: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *arguments])


def update() -> None:
    for catalog in CATALOGS:
        _update(catalog)


def _update(catalog_files: Catalog) -> None:
    """Extract, merge into both languages, fill new English entries, compile. A file whose
    messages did not change keeps its bytes (no new dates in headers to commit)."""
    from babel.messages.pofile import read_po, write_po

    pot = catalog_files.pot
    files = [pot, *(catalog_files.po(language) for language in LANGUAGES)]
    before = {path: path.read_bytes() for path in files if path.exists()}
    pot.parent.mkdir(parents=True, exist_ok=True)
    keywords = [option for keyword in KEYWORDS for option in ("-k", keyword)]
    _pybabel(
        "extract", "-F", str(BABEL_CONFIG), "-o", str(pot), *EXTRACT_OPTIONS, *keywords,
        *map(str, catalog_files.sources),
    )  # fmt: skip
    for language in LANGUAGES:
        po = catalog_files.po(language)
        if po.exists():
            _pybabel(
                "update", "-i", str(pot), "-o", str(po), "-l", language, "-D", catalog_files.domain,
                "--no-fuzzy-matching", "--ignore-obsolete",
            )  # fmt: skip
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            _pybabel(
                "init", "-i", str(pot), "-o", str(po), "-l", language, "-D", catalog_files.domain
            )
        with po.open("rb") as source:
            catalog = read_po(source, locale=language)
        if language == "en":
            for message in catalog:
                if message.id and not any(_strings(message.string)):
                    message.string = message.id
        # one layout for both catalogs, whoever wrote them last: sorted, lines up to 100
        with po.open("wb") as target:
            write_po(target, catalog, no_location=True, sort_output=True, width=100)
    for path, old in before.items():
        if _messages(path.read_bytes()) == _messages(old):
            path.write_bytes(old)
    _compile(catalog_files)


def _messages(content: bytes) -> list[tuple[object, ...]]:
    from io import BytesIO

    from babel.messages.pofile import read_po

    return [(m.id, m.string, m.context, sorted(m.flags)) for m in read_po(BytesIO(content)) if m.id]


def _strings(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())


def compile_catalogs() -> None:
    for catalog in CATALOGS:
        _compile(catalog)


def _compile(catalog: Catalog) -> None:
    for language in LANGUAGES:
        _pybabel("compile", "-d", str(catalog.locales), "-D", catalog.domain, "-l", language)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m allmende.node.web.catalogs", description=__doc__
    )
    parser.add_argument("command", choices=("update", "compile"))
    arguments = parser.parse_args()
    update() if arguments.command == "update" else compile_catalogs()


if __name__ == "__main__":
    main()
