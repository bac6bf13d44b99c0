"""Keep the gettext catalogs in step with the texts: extract, merge, compile.

    python -m allmende.node.web.catalogs update    # after changing or adding texts
    python -m allmende.node.web.catalogs compile   # after translating in a .po file

`update` extracts every text of `node/web` (babel.cfg) into `locales/messages.pot`, merges
it into the German and English catalogs, gives new English entries their source text (the
texts are written in English) and compiles both. New German entries stay empty until
someone translates them; tests/web/test_i18n_catalogs.py names each one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from allmende.node.web.i18n import DOMAIN, LANGUAGES, LOCALES

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALES / f"{DOMAIN}.pot"
BABEL_CONFIG = ROOT / "babel.cfg"
SOURCES = ROOT / "node"
EXTRACT_OPTIONS = ("--no-location", "--sort-output", "--omit-header", "-k", "N_")


def _pybabel(*arguments: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *arguments])


def update() -> None:
    """Extract, merge into both languages, fill new English entries, compile. A file whose
    messages did not change keeps its bytes (no new dates in headers to commit)."""
    from babel.messages.pofile import read_po, write_po

    files = [POT, *(LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po" for language in LANGUAGES)]
    before = {path: path.read_bytes() for path in files if path.exists()}
    POT.parent.mkdir(parents=True, exist_ok=True)
    _pybabel("extract", "-F", str(BABEL_CONFIG), "-o", str(POT), *EXTRACT_OPTIONS, str(SOURCES))
    for language in LANGUAGES:
        po = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.exists():
            _pybabel(
                "update", "-i", str(POT), "-o", str(po), "-l", language,
                "--no-fuzzy-matching", "--ignore-obsolete",
            )  # fmt: skip
        else:
            _pybabel("init", "-i", str(POT), "-o", str(po), "-l", language)
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
    compile_catalogs()


def _messages(content: bytes) -> list[tuple[object, ...]]:
    from io import BytesIO

    from babel.messages.pofile import read_po

    return [(m.id, m.string, m.context, sorted(m.flags)) for m in read_po(BytesIO(content)) if m.id]


def _strings(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())


def compile_catalogs() -> None:
    for language in LANGUAGES:
        _pybabel("compile", "-d", str(LOCALES), "-D", DOMAIN, "-l", language)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m allmende.node.web.catalogs", description=__doc__
    )
    parser.add_argument("command", choices=("update", "compile"))
    arguments = parser.parse_args()
    update() if arguments.command == "update" else compile_catalogs()


if __name__ == "__main__":
    main()
