"""The phone path (Dial4Light): a telephony provider's voice webhook, as Twilio documents it.

`Provider` is a stand-in of the provider's side, built from Twilio's public documentation
of voice webhooks and TwiML (https://www.twilio.com/docs/voice/twiml, .../twiml/gather,
.../twiml/say): it posts the documented form fields (application/x-www-form-urlencoded:
AccountSid, CallSid, From, To, CallStatus, Direction, then Digits from <Gather>) with the
webhook URL's Basic credentials, reads the answer as TwiML with an XML parser, refuses
verbs and attributes TwiML does not have, and follows <Gather action> with the digits
the caller types, as the provider would."""

from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from allmende.node.actuation.phone import codes, normalise
from allmende.node.ingest.sources import new_secret
from tests.actuation.conftest import Lights, wait_for
from tests.actuation.test_portal_page import open_policy

VERBS = {"Say", "Gather", "Hangup", "Play", "Pause", "Redirect", "Reject", "Dial", "Record"}
GATHER = {"action", "method", "input", "timeout", "finishOnKey", "numDigits", "language",
          "speechTimeout", "hints", "actionOnEmptyResult"}  # fmt: skip
SAY = {"language", "voice", "loop"}


class Provider:
    def __init__(self, lights: Lights, secret: str) -> None:
        self.lights = lights
        self.auth = "Basic " + base64.b64encode(f"twilio:{secret}".encode()).decode()
        self.said: list[str] = []

    async def call(self, caller: str, typed: str | None) -> ET.Element:
        """One call: the first webhook, then (if the answer gathers) the typed digits."""
        fields = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": "CA" + uuid.uuid4().hex,
            "From": caller,
            "To": "+494671900100",
            "CallStatus": "ringing",
            "Direction": "inbound",
        }
        answer = await self.post("/actuation/phone", fields)
        gather = answer.find("Gather")
        if gather is None or typed is None:
            return answer
        return await self.post(gather.get("action", ""), {**fields, "Digits": typed + "#"})

    async def post(self, path: str, fields: dict[str, str]) -> ET.Element:
        response = await self.lights.client.post(
            path, data=fields, headers={"Authorization": self.auth}
        )
        assert response.status == 200, await response.text()
        assert response.content_type == "application/xml"
        root = ET.fromstring(await response.text())
        assert root.tag == "Response"
        for verb in root.iter():
            if verb is root:
                continue
            assert verb.tag in VERBS, f"not a TwiML verb: {verb.tag}"
            allowed = GATHER if verb.tag == "Gather" else SAY if verb.tag == "Say" else set()
            assert set(verb.attrib) <= allowed, (verb.tag, verb.attrib)
            if verb.tag == "Say":
                assert verb.get("language") == "de-DE"
                self.said.append(verb.text or "")
        return root


def street_code(lights: Lights, segment: str) -> str:
    return next(
        c for c, s in codes(lights.node, ["dorfstrasse", "kirchweg"]).items() if s == segment
    )


async def test_a_call_switches_the_street_of_its_code(lights: Lights) -> None:
    await open_policy(lights)
    provider = Provider(lights, new_secret(lights.node, "phone"))
    code = street_code(lights, "dorfstrasse")
    first = await provider.call("+49 4671 12345", None)
    gather = first.find("Gather")
    assert gather is not None and gather.get("action") == "/actuation/phone"
    assert "Code Ihrer Straße" in (gather.findtext("Say") or "")
    answer = await provider.call("+49 4671 12345", code)
    assert answer.find("Hangup") is not None
    assert "Das Licht in Dorfstraße (Beispiel) geht an, für 15 Minuten." in provider.said[-1]
    assert "Heute noch 1× möglich." in provider.said[-1]
    await lights.settled()
    assert len(lights.tts.accepted) == 1
    switching = [e for e in lights.events() if e["data"].get("channel") == "phone"]
    assert switching, "the switching is in the log, made by phone"
    # the caller is a keyed pseudonym: the number is nowhere in the log, in any spelling
    # (the digits only: "4671" alone also turns up in random ids and timestamps)
    logged = re.sub(r"\D", "", str(lights.events()))
    assert "467112345" not in logged
    assert switching[0]["data"]["person"] == lights.room.pseudonym("phone:+49467112345")

    # the same number in another spelling is the same person: the third press is refused
    await provider.call("0049 4671 12345", code)  # extends, no second command now
    assert "verlängert" in provider.said[-1] or "länger an" in provider.said[-1]
    assert len(lights.tts.accepted) == 1
    await provider.call("+49467112345", code)
    assert "Heute nicht mehr möglich: höchstens 2× pro Nacht." in provider.said[-1]


async def test_unknown_code_withheld_number_and_wrong_secret(lights: Lights) -> None:
    await open_policy(lights)
    provider = Provider(lights, new_secret(lights.node, "phone"))
    known = set(codes(lights.node, ["dorfstrasse", "kirchweg"]))
    wrong = next(f"{n:03d}" for n in range(1000) if f"{n:03d}" not in known)
    answer = await provider.call("+49467154321", wrong)
    again = answer.find("Gather")  # asked again
    assert again is not None and "Diesen Code gibt es nicht" in (again.findtext("Say") or "")
    await provider.call("anonymous", "000")
    assert "übertragener Rufnummer" in provider.said[-1]
    assert lights.tts.accepted == [] and lights.chirpstack.accepted == []

    bad = "Basic " + base64.b64encode(b"twilio:guessed").decode()
    response = await lights.client.post(
        "/actuation/phone", data={"From": "+4912345"}, headers={"Authorization": bad}
    )
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    response = await lights.client.post("/actuation/phone", data={"From": "+4912345"})
    assert response.status == 401
    response = await lights.client.post(
        "/actuation/phone", data={"To": "+4912345"}, headers={"Authorization": provider.auth}
    )
    assert response.status == 422
    assert "From" in (await response.json())["detail"]


async def test_json_answers_and_the_operator_list_of_codes(lights: Lights) -> None:
    await open_policy(lights)
    secret = new_secret(lights.node, "phone")
    listed = await lights.client.get("/admin/actuation/phone", headers=lights.admin)
    rows: list[dict[str, Any]] = (await listed.json())["codes"]
    assert {r["segment"] for r in rows} == {"dorfstrasse", "kirchweg"}
    code = next(r["code"] for r in rows if r["segment"] == "kirchweg")
    response = await lights.client.post(
        "/actuation/phone",
        data={"From": "+49467100001", "Digits": code},
        headers={"X-Allmende-Webhook-Secret": secret, "Accept": "application/json"},
    )
    body = await response.json()
    assert body["outcome"] == "requested" and body["gather"] is False
    assert body["say"].startswith("Das Licht in Kirchweg (Beispiel) geht an")

    async def sent() -> bool:
        return len(lights.chirpstack.accepted) == 1

    await wait_for(sent)


def test_numbers_are_normalised() -> None:
    assert normalise("+49 (4671) 123-45") == "+49467112345"
    assert normalise("0049467112345") == "+49467112345"
    assert normalise("anonymous") is None
    assert normalise("+266696687") is None
    assert normalise("not a number") is None
