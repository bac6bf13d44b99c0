"""Dataspace Protocol 2025-1 messages: the JSON the node reads and writes, and its checks.

DSP messages are compact JSON-LD under one well-known, protected context, so a message is
read as plain JSON and checked with a JSON Schema per message type (no JSON-LD processing,
no remote context). What the node sends is built here too, so that both directions agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from allmende.policies.terms import DSP_CONTEXT

VERSION = "2025-1"
PATH = "/dsp"
"""Where the protocol's endpoints live, below the node's base URL."""
MAX_MESSAGE_BYTES = 256 * 1024

_PID = {"type": "string", "minLength": 1, "maxLength": 300}
_URL = {"type": "string", "pattern": "^https?://", "maxLength": 2000}
_CONTEXT = {
    "anyOf": [
        {"const": DSP_CONTEXT},
        {
            "type": "array",
            "maxItems": 8,
            "contains": {"const": DSP_CONTEXT},
            "items": {"type": ["string", "object"]},
        },
    ]
}
_REASONS = {"type": "array", "maxItems": 20}
_OFFER = {
    "type": "object",
    "required": ["@id"],
    "properties": {"@id": _PID, "target": _PID, "@type": {"const": "Offer"}},
}


MAX_REASON_CHARS = 2000


def stated_reason(body: Mapping[str, Any]) -> str | None:
    """A termination message's code and reasons as one line to keep (DSP lets `reason` hold
    strings or objects; either is shown as the counterpart wrote it), bounded in length."""
    parts = [str(body["code"])] if body.get("code") else []
    reasons = body.get("reason")
    for reason in reasons if isinstance(reasons, list) else [reasons] if reasons else []:
        parts.append(reason if isinstance(reason, str) else json.dumps(reason, sort_keys=True))
    return "; ".join(parts)[:MAX_REASON_CHARS] or None


def _schema(type_: str, required: list[str], properties: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["@context", "@type", *required],
        "properties": {"@context": _CONTEXT, "@type": {"const": type_}, **properties},
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "CatalogRequestMessage": _schema(
        "CatalogRequestMessage", [], {"filter": {"type": "array", "maxItems": 20}}
    ),
    "ContractRequestMessage": {
        **_schema(
            "ContractRequestMessage",
            ["consumerPid", "offer"],
            {
                "consumerPid": _PID,
                "providerPid": _PID,
                "offer": _OFFER,
                "callbackAddress": _URL,
            },
        ),
        "anyOf": [{"required": ["callbackAddress"]}, {"required": ["providerPid"]}],
    },
    "ContractNegotiationEventMessage": _schema(
        "ContractNegotiationEventMessage",
        ["providerPid", "consumerPid", "eventType"],
        {
            "providerPid": _PID,
            "consumerPid": _PID,
            "eventType": {"enum": ["ACCEPTED", "FINALIZED"]},
        },
    ),
    "ContractOfferMessage": _schema(
        "ContractOfferMessage",
        ["providerPid", "consumerPid", "offer"],
        {"providerPid": _PID, "consumerPid": _PID, "offer": _OFFER},
    ),
    "ContractAgreementMessage": _schema(
        "ContractAgreementMessage",
        ["providerPid", "consumerPid", "agreement"],
        {
            "providerPid": _PID,
            "consumerPid": _PID,
            "agreement": {"type": "object", "required": ["@id"], "properties": {"@id": _PID}},
        },
    ),
    "ContractAgreementVerificationMessage": _schema(
        "ContractAgreementVerificationMessage",
        ["providerPid", "consumerPid"],
        {"providerPid": _PID, "consumerPid": _PID},
    ),
    "ContractNegotiationTerminationMessage": _schema(
        "ContractNegotiationTerminationMessage",
        ["providerPid", "consumerPid"],
        {"providerPid": _PID, "consumerPid": _PID, "reason": _REASONS},
    ),
    "TransferRequestMessage": _schema(
        "TransferRequestMessage",
        ["consumerPid", "agreementId", "format", "callbackAddress"],
        {
            "consumerPid": _PID,
            "agreementId": _PID,
            "format": {"type": "string", "minLength": 1, "maxLength": 100},
            "callbackAddress": _URL,
            "dataAddress": {"type": "object"},
        },
    ),
    "TransferStartMessage": _schema(
        "TransferStartMessage",
        ["providerPid", "consumerPid"],
        {"providerPid": _PID, "consumerPid": _PID, "dataAddress": {"type": "object"}},
    ),
    **{
        name: _schema(
            name,
            ["providerPid", "consumerPid"],
            {"providerPid": _PID, "consumerPid": _PID, "reason": _REASONS},
        )
        for name in (
            "TransferCompletionMessage",
            "TransferSuspensionMessage",
            "TransferTerminationMessage",
        )
    },
}
_VALIDATORS = {name: Draft202012Validator(schema) for name, schema in SCHEMAS.items()}


class DspError(Exception):
    """A message the node refuses; routes answer with the DSP error type of the protocol."""

    def __init__(
        self, status: int, reason: str, *, code: str | None = None, pids: Mapping[str, str] = {}
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reasons = [reason]
        self.code = code or str(status)
        self.pids = dict(pids)


def check(message: Any, type_: str) -> dict[str, Any]:
    """The message if it is a well-formed `type_`, else a 400 naming each problem."""
    if not isinstance(message, dict):
        raise DspError(400, f"a {type_} is a JSON object")
    problems = [
        f"{'/' + '/'.join(map(str, e.absolute_path)) if e.absolute_path else '(message)'}: "
        f"{e.message}"
        for e in sorted(_VALIDATORS[type_].iter_errors(message), key=str)
    ]
    if problems:
        error = DspError(400, f"not a valid {type_}")
        error.reasons.extend(problems[:20])
        raise error
    return message


def message(type_: str, **fields: Any) -> dict[str, Any]:
    """A message or object of the protocol, compact under the DSP context."""
    body = {"@context": [DSP_CONTEXT], "@type": type_}
    body.update({key: value for key, value in fields.items() if value is not None})
    return body


def error(type_: str, exc: DspError) -> dict[str, Any]:
    return message(
        type_,
        providerPid=exc.pids.get("providerPid", ""),
        consumerPid=exc.pids.get("consumerPid", ""),
        code=exc.code,
        reason=exc.reasons,
    )


def versions(base_url: str) -> dict[str, Any]:
    """The `/.well-known/dspace-version` document: one version, HTTPS binding."""
    path = urlsplit(base_url).path.rstrip("/") + PATH
    return {"protocolVersions": [{"version": VERSION, "path": path, "binding": "HTTPS"}]}
