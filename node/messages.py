"""Texts of the node that people read, made where a refusal or error is found and shown in
the reader's language where it is shown (a page, or an API answer asking for German).

`say("there is no dataset %(id)s", id=...)` is that English text and remembers its message
id in the node's `messages` catalog (node/web/locales), from which pages and problem+json
answers translate it (allmende.vocab.messages). Refresh the catalogs with
`python -m allmende.node.web.catalogs update`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from allmende.vocab.messages import N_, Joined, Message, Number, reason, say

DOMAIN = "messages"
__all__ = [
    "DOMAIN",
    "N_",
    "Joined",
    "Message",
    "Number",
    "pydantic_message",
    "reason",
    "said",
    "say",
]


# pydantic's error types in words (the English as pydantic writes it, so API clients that
# asked for nothing read what they read before); anything else keeps pydantic's own text
_PYDANTIC = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_too_long": N_("String should have at most %(max_length)s characters"),
    "string_too_short": N_("String should have at least %(min_length)s characters"),
    "string_pattern_mismatch": N_("String should match pattern '%(pattern)s'"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_type": N_("Input should be a valid integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "float_type": N_("Input should be a valid number"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("Input should be a valid boolean"),
    "dict_type": N_("Input should be a valid dictionary"),
    "list_type": N_("Input should be a valid list"),
    "literal_error": N_("Input should be %(expected)s"),
    "enum": N_("Input should be %(expected)s"),
    "too_long": N_("%(field_type)s should have at most %(max_length)s items"),
    "too_short": N_("%(field_type)s should have at least %(min_length)s items"),
    "greater_than": N_("Input should be greater than %(gt)s"),
    "greater_than_equal": N_("Input should be greater than or equal to %(ge)s"),
    "less_than": N_("Input should be less than %(lt)s"),
    "less_than_equal": N_("Input should be less than or equal to %(le)s"),
}


def pydantic_message(error: Mapping[str, Any]) -> str:
    """One error of a pydantic ValidationError (`exc.errors()`) as a Message: a validator's
    own Message as raised, pydantic's error types from the catalog."""
    context = error.get("ctx") or {}
    if error.get("type") == "value_error" and isinstance(context.get("error"), BaseException):
        return reason(context["error"])
    template = _PYDANTIC.get(str(error.get("type")))
    if template is None:
        return str(error.get("msg", ""))
    values = {k: v for k, v in context.items() if f"%({k})s" in template}
    try:
        return say(template, **values)
    except (KeyError, TypeError, ValueError):
        return str(error.get("msg", ""))


def said(value: object, language: str) -> str:
    """A Message (or any text) in `language`, for an answer that carries both languages
    (a street light's refusal: reason.de and reason.en)."""
    from allmende.node.web.i18n import texts  # the catalogs live with the pages

    return texts(language).message(value)
