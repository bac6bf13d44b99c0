"""Switching street lights by phone, as Dial4Light does: a number to call and a code per street.

A telephony provider calls `POST /actuation/phone` when someone rings the village's number
(form fields as Twilio documents its voice webhooks: `CallSid`, `From`, `To`, and `Digits`
once the caller has typed them) and plays what the node answers: TwiML (`<Response>` with
`<Gather>`, `<Say language="de-DE">`, `<Hangup>`), or JSON for providers that take JSON
(`Accept: application/json`). docs/tutorials/streetlights.md describes both.

- The caller's number is a person like any other: it is normalised and handed to the
  switching service as `phone:<number>`, which keeps only its keyed pseudonym; the number
  is neither stored nor logged. A withheld number cannot be counted per night and is
  refused.
- The code of a street is derived from the segment's id with the node's key (three
  digits, more if two streets would share one): stable, printed on the lamps or the
  village's leaflet, listed for operators at `GET /admin/actuation/phone`.
- The provider authenticates with the webhook secret of source `phone`
  (`allmende source secret phone`), as the password of HTTP Basic authentication in the
  webhook URL (what Twilio and most providers support), or in `X-Allmende-Webhook-Secret`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.actuation.models import Segment
from allmende.node.actuation.policy import Person
from allmende.node.actuation.service import Actuation, Refused
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import describe, form_body
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.ingest import sources
from allmende.node.runtime import Node

PATH = "/actuation/phone"
WITHHELD = {"", "anonymous", "unknown", "restricted", "private", "+266696687", "+7378742833"}
"""What providers send as `From` for a withheld number (Twilio: anonymous or +266696687)."""
NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
DIGITS = re.compile(r"^[0-9]{1,8}$")
SAY = "de-DE"


def normalise(number: str) -> str | None:
    """E.164-like digits (0049…, +49…, spaces and dashes dropped); None if withheld."""
    plain = re.sub(r"[\s()/.-]", "", number or "")
    if plain.lower() in WITHHELD:
        return None
    if plain.startswith("00"):
        plain = "+" + plain[2:]
    return plain if NUMBER.match(plain) else None


def codes(node: Node, segment_ids: list[str]) -> dict[str, str]:
    """Code -> segment id: three digits from the node's key, longer where two would clash."""
    secret = node.key.private.private_bytes_raw()
    key = hashlib.sha256(b"allmende phone codes\0" + secret).digest()
    for length in range(3, 9):
        found: dict[str, str] = {}
        for segment in sorted(segment_ids):
            digest = hmac.new(key, segment.encode(), hashlib.sha256).digest()
            number = int.from_bytes(digest[:8], "big") % (10**length)
            found[f"{number:0{length}d}"] = segment
        if len(found) == len(segment_ids):
            return found
    raise ValueError("too many segments for phone codes")


def _segments(node: Node) -> dict[str, str]:
    """Segment id -> name."""
    with Session(node.engine) as session:
        return {s.id: s.name for s in session.exec(select(Segment).order_by(col(Segment.id)))}


def _authenticate(request: web.Request) -> None:
    """The source `phone` secret as Basic password (any user name), or as the ingest
    webhooks take it (header or bearer)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            _user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Problem(401, "Unauthorized", "malformed Basic credentials") from None
        digests = sources.stored_digests(request.app["node"])
        expected = digests.get("phone")
        offered = hashlib.sha256(password.encode()).hexdigest()
        if expected and hmac.compare_digest(offered, expected):
            return
        raise Problem(401, "Unauthorized", "wrong secret for source 'phone'")
    sources.check(request, "phone", sources.stored_digests(request.app["node"]))


def _twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<Response>' + "".join(verbs) + "</Response>"


def _say(text: str) -> str:
    return f"<Say language={quoteattr(SAY)}>{escape(text)}</Say>"


def _answer(request: web.Request, text: str, *, ask: bool, **extra: Any) -> web.Response:
    if "application/json" in request.headers.get("Accept", ""):
        body = {"say": text, "language": SAY, "gather": ask, **extra}
        if ask:
            body["action"] = PATH
        return web.json_response(body)
    if ask:
        xml = _twiml(
            f'<Gather input="dtmf" finishOnKey="#" timeout="10" action={quoteattr(PATH)} '
            f'method="POST">{_say(text)}</Gather>',
            _say("Keine Eingabe erhalten. Auf Wiederhören."),
            "<Hangup/>",
        )
    else:
        xml = _twiml(_say(text), "<Hangup/>")
    return web.Response(text=xml, content_type="application/xml", charset="utf-8")


@describe(
    "Telephony provider's voice webhook (Twilio's form fields): without Digits it asks for "
    "the street's code, with Digits it switches that street's lights under the policy and "
    "says the outcome; TwiML, or JSON with Accept: application/json",
    tags=["actuation"],
    request_body=form_body(
        {
            "CallSid": {"type": "string", "maxLength": 64},
            "From": {"type": "string", "maxLength": 32, "description": "caller's number"},
            "To": {"type": "string", "maxLength": 32},
            "Digits": {"type": "string", "maxLength": 16, "description": "the street's code"},
        },
        ["From"],
    ),
    responses={
        "200": {
            "description": "what to say (TwiML or JSON)",
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        "401": {"$ref": "#/components/responses/Problem"},
        "422": {"$ref": "#/components/responses/Problem"},
    },
)
async def phone_call(request: web.Request) -> web.Response:
    _authenticate(request)
    form = await read_form(request)
    caller = form.get("From")
    if not isinstance(caller, str):
        raise Problem(422, "Unprocessable Content", "From: the caller's number is missing")
    digits = form.get("Digits")
    node: Node = request.app["node"]
    number = normalise(caller)
    if number is None:
        return _answer(
            request,
            "Bitte rufen Sie mit übertragener Rufnummer an. "
            "Nur so lässt sich zählen, wie oft pro Nacht geschaltet wird.",
            ask=False,
            outcome="refused",
        )
    if not isinstance(digits, str) or not digits.strip("#"):
        return _answer(
            request,
            "Straßenlicht nach Bedarf. Bitte geben Sie den Code Ihrer Straße ein "
            "und drücken Sie die Raute-Taste.",
            ask=True,
        )
    code = digits.strip().rstrip("#")
    names = await asyncio.to_thread(_segments, node)
    segment = codes(node, list(names)).get(code) if DIGITS.match(code) else None
    if segment is None:
        return _answer(
            request, "Diesen Code gibt es nicht. Bitte versuchen Sie es noch einmal.", ask=True
        )
    room: Actuation = request.app["actuation"]
    try:
        row, verdict = await room.press(segment, Person(subject=f"phone:{number}"), "phone")
    except Refused as refused:
        reason = refused.body_json.get("reason") or {}
        return _answer(request, str(reason.get("de")), ask=False, outcome="refused")
    if row.state == "coalesced":
        text = f"{names[segment]}: {verdict.reason_de}"
    else:
        minutes = max(1, row.seconds // 60)
        text = f"Das Licht in {names[segment]} geht an, für {minutes} Minuten. " + (
            "" if verdict.remaining is None else f"Heute noch {verdict.remaining}× möglich."
        )
    return _answer(request, text.strip(), ask=False, outcome=row.state, switching=row.id)


@describe(
    "Phone codes of the street-light segments (to print on the lamps or the leaflet)",
    tags=["actuation"],
    admin=True,
)
@admin_only
async def phone_codes(request: web.Request) -> web.Response:
    node: Node = request.app["node"]
    names = await asyncio.to_thread(_segments, node)
    found = codes(node, list(names))
    rows = [{"code": code, "segment": s, "name": names[s]} for code, s in sorted(found.items())]
    return web.json_response({"codes": rows, "webhook": PATH})


def setup(app: web.Application) -> None:
    app.router.add_post(PATH, phone_call)
    app.router.add_get("/admin/actuation/phone", phone_codes)
