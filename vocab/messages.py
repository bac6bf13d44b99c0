"""A text people read, kept with its message id and values until it is shown.

Refusals and validation errors are made deep inside the node (a policy's evaluation, a
dataset's validation) where nobody knows who will read them. A `Message` is the English
text (so logs, tests and English clients read it as before: it *is* that string) and also
remembers its gettext message id, its catalog (domain) and its values, so that a German page
or an API client asking for German shows it translated (`translate`). The catalogs are
Babel's: the node's web texts (`messages`) and the policies' (`policies`); see
docs/developers/translations.md.

Plain `str` is the common ground of node/, policies/ and connectors/, so this lives in vocab/,
which all of them may import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, Self


class Reader(Protocol):
    """Who a text is shown to: their language and its catalogs (node.web.i18n.Texts)."""

    language: str

    def translate(self, domain: str, message: str) -> str:
        """The text of `message` in `domain`'s catalog, in this reader's language."""
        ...


class Message(str):
    """The English text of `msgid % values`, which knows how to say itself in another language.

    Values may be Messages themselves (translated alike) or `Joined` lists of them.
    """

    msgid: str
    domain: str
    values: Mapping[str, object]

    def __new__(cls, msgid: str, /, domain: str = "messages", **values: object) -> Self:
        text = msgid % {k: _english(v) for k, v in values.items()} if values else msgid
        self = super().__new__(cls, text)
        self.msgid, self.domain, self.values = msgid, domain, values
        return self

    def to(self, reader: Reader) -> str:
        """This text as `reader` reads it."""
        text = reader.translate(self.domain, self.msgid)
        if not self.values:
            return text
        return text % {k: render(v, reader) for k, v in self.values.items()}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.msgid, self.domain, dict(self.values)))


class Tagged(str):
    """A text that came with its translations, e.g. a SHACL shape's `sh:message`s with
    language tags: English as a string, the reader's language where there is one."""

    texts: Mapping[str, str]

    def __new__(cls, texts: Mapping[str, str]) -> Self:
        self = super().__new__(cls, texts.get("en") or next(iter(texts.values()), ""))
        self.texts = dict(texts)
        return self

    def to(self, reader: Reader) -> str:
        """This text as `reader` reads it."""
        return self.texts.get(reader.language) or str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Tagged, (dict(self.texts),))


class Joined(tuple[object, ...]):
    """Several values shown as one, each translated: „a; b“."""

    separator = "; "

    def __new__(cls, items: Iterable[object]) -> Self:
        return super().__new__(cls, tuple(items))

    def __str__(self) -> str:
        return self.separator.join(str(item) for item in self)


def N_(message: str) -> str:
    """Mark a text for extraction where it is defined; it is translated where it is shown."""
    return message


def say(msgid: str, /, **values: object) -> Message:
    """A text of the node's catalog (`messages`, node/web/locales), which vocab/ shares."""
    return Message(msgid, "messages", **values)


def _rebuild(msgid: str, domain: str, values: dict[str, object]) -> Message:
    return Message(msgid, domain, **values)


def _english(value: object) -> object:
    return str(value) if isinstance(value, Joined) else value


def render(value: object, reader: Reader) -> str:
    """Any value as its reader reads it: Messages (also inside `Joined`) translated."""
    if isinstance(value, Message | Tagged):
        return value.to(reader)
    if isinstance(value, Joined):
        return value.separator.join(render(item, reader) for item in value)
    return str(value)


def reason(error: BaseException) -> str:
    """An exception's message as raised, a Message kept as one (`str(error)` would make it
    a plain English string)."""
    first = error.args[0] if len(error.args) == 1 else None
    return first if isinstance(first, str) else str(error)
