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

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, Self

from babel.numbers import format_decimal


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


class Number(str):
    """A decimal number in a text, written as in English ("-12.5") and shown with the
    reader's decimal sign ("-12,5" on a German page)."""

    def to(self, reader: Reader) -> str:
        """This number as `reader` writes it."""
        try:
            return format_decimal(Decimal(self), locale=reader.language, decimal_quantization=False)
        except (InvalidOperation, ValueError):
            return str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Number, (str(self),))


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
    if isinstance(value, Message | Tagged | Number):
        return value.to(reader)
    if isinstance(value, Joined):
        return value.separator.join(render(item, reader) for item in value)
    return str(value)


def reason(error: BaseException) -> str:
    """An exception's message as raised, a Message kept as one (`str(error)` would make it
    a plain English string)."""
    first = error.args[0] if len(error.args) == 1 else None
    return first if isinstance(first, str) else str(error)


_STORED = '{"msgid":'


def stored(text: str, limit: int) -> str:
    """A text for a database column of `limit` characters: a Message as JSON with its id
    and values, so a page can still say it in its reader's language (`restored`); anything
    else, or a Message too long as JSON, as the text itself."""
    if isinstance(text, Message):
        encoded = json.dumps(_encode(text), ensure_ascii=False, separators=(",", ":"))
        if len(encoded) <= limit:
            return encoded
    return str(text)[:limit]


def restored(text: str) -> str:
    """What `stored` wrote: the Message again (its English text where a string is wanted),
    or the text as it was written (rows from before, texts no catalog holds)."""
    if not text.startswith(_STORED):
        return text
    try:
        message = _decode(json.loads(text))
    except (ValueError, TypeError, KeyError):
        return text
    return message if isinstance(message, str) else text


def _encode(value: object) -> object:
    if isinstance(value, Message):
        values = {k: _encode(v) for k, v in value.values.items()}
        return {"msgid": value.msgid, "domain": value.domain, "values": values}
    if isinstance(value, Tagged):
        return {"tagged": dict(value.texts)}
    if isinstance(value, Joined):
        return {"joined": [_encode(item) for item in value]}
    if isinstance(value, Number):
        return {"number": str(value)}
    return value if isinstance(value, int | float | bool) or value is None else str(value)


def _decode(value: Any) -> object:
    if isinstance(value, dict):
        if "msgid" in value:
            values = {str(k): _decode(v) for k, v in dict(value.get("values") or {}).items()}
            return Message(str(value["msgid"]), str(value.get("domain", "messages")), **values)
        if "tagged" in value:
            return Tagged({str(k): str(v) for k, v in dict(value["tagged"]).items()})
        if "joined" in value:
            return Joined(_decode(item) for item in value["joined"])
        if "number" in value:
            return Number(str(value["number"]))
    return value
