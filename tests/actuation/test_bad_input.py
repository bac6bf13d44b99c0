"""Bad input is a 4xx and switches nothing: unknown segment, outside the hours, daylight,
a lock, the policy, a forged webhook event, a replayed ack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.actuation.conftest import BERLIN, Lights


async def nothing_switched(lights: Lights) -> None:
    await lights.settled()
    assert lights.tts.requests == [] and lights.chirpstack.requests == []
    segments = await (await lights.client.get("/actuation/segments")).json()
    assert {s["state"] for s in segments["segments"]} == {"off"}


async def test_unknown_segment(lights: Lights) -> None:
    answer = await lights.press("hauptstrasse")
    assert answer.status == 404
    assert answer.content_type == "application/problem+json"
    await nothing_switched(lights)


async def test_outside_the_on_demand_hours_the_reason_says_why(lights: Lights) -> None:
    lights.clock.now = datetime(2026, 12, 7, 23, 10, tzinfo=BERLIN)
    answer = await lights.press("dorfstrasse")
    assert answer.status == 409
    problem = await answer.json()
    assert problem["reason"]["de"] == (
        "Um diese Zeit brennt das Licht ohnehin; auf Knopfdruck nur 00:30–05:30 Uhr."
    )
    await nothing_switched(lights)


async def test_not_while_it_is_light(lights: Lights) -> None:
    lights.clock.now = datetime(2026, 6, 21, 5, 0, tzinfo=BERLIN)  # sunrise was at 04:40
    answer = await lights.press("dorfstrasse")
    assert answer.status == 409
    assert (await answer.json())["reason"][
        "de"
    ] == "Es ist hell genug; das Licht wird nicht gebraucht."
    await nothing_switched(lights)


async def test_operator_lock(lights: Lights) -> None:
    answer = await lights.client.post(
        "/admin/actuation/segments/dorfstrasse/lock",
        json={"locked": True, "reason": "Leuchtentausch"},
        headers=lights.admin,
    )
    assert answer.status == 200
    refused = await lights.press("dorfstrasse")
    assert refused.status == 409
    assert (await refused.json())["reason"]["de"] == "Der Abschnitt ist gesperrt (Leuchtentausch)."
    await nothing_switched(lights)


async def test_policy_refuses_anonymous_and_other_tokens(lights: Lights) -> None:
    anonymous = await lights.press("dorfstrasse", None)
    assert anonymous.status == 403
    assert (await anonymous.json())["reason"]["de"] == (
        "Nur für angemeldete Einwohnerinnen und Einwohner."
    )
    admin = await lights.client.post("/actuation/segments/dorfstrasse/switch", headers=lights.admin)
    assert admin.status == 403
    forged = await lights.client.post(
        "/actuation/segments/dorfstrasse/switch", headers={"Authorization": "Bearer x.y.z"}
    )
    assert forged.status == 401
    await nothing_switched(lights)


async def test_policy_time_of_day(lights: Lights) -> None:
    policy: dict[str, Any] = {
        "@context": [
            "http://www.w3.org/ns/odrl.jsonld",
            {"allmende": "https://w3id.org/allmende/ns#"},
        ],
        "@type": "Set",
        "uid": "https://luetjenholm.example/policies/licht-spaet",
        "permission": [
            {
                "action": "allmende:switch",
                "constraint": [
                    {
                        "leftOperand": "allmende:timeOfDay",
                        "operator": "isPartOf",
                        "rightOperand": "02:00/05:00",
                    }
                ],
            }
        ],
    }
    answer = await lights.client.put("/admin/actuation/policy", json=policy, headers=lights.admin)
    assert answer.status == 200
    refused = await lights.press("dorfstrasse", None)
    assert refused.status == 403
    assert (await refused.json())["reason"]["de"] == (
        "Um diese Uhrzeit nicht möglich (erlaubt: 02:00–05:00 Uhr)."
    )
    await nothing_switched(lights)
    lights.clock.advance(2 * 3600)  # 02:45: anyone may, without an account
    assert (await lights.press("dorfstrasse", None)).status == 202


async def test_a_policy_the_node_cannot_decide_is_refused(lights: Lights) -> None:
    bad = {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@type": "Set",
        "uid": "https://luetjenholm.example/policies/kaputt",
        "permission": [
            {
                "action": "https://w3id.org/allmende/ns#switch",
                "constraint": [
                    {
                        "leftOperand": "https://example.org/mond",
                        "operator": "eq",
                        "rightOperand": "voll",
                    }
                ],
            }
        ],
    }
    answer = await lights.client.put("/admin/actuation/policy", json=bad, headers=lights.admin)
    assert answer.status == 422
    assert "unknown left operand" in (await answer.json())["detail"]


async def test_forged_webhook_events_switch_nothing(lights: Lights) -> None:
    lights.tts.behaviour.events = False
    body = await (await lights.press("dorfstrasse")).json()
    await lights.settled()
    downlink = lights.tts.accepted[0]["downlinks"][0]
    ack = lights.tts.message(downlink, "downlink_ack", downlink)
    # no secret, a wrong secret
    assert (await lights.client.post("/actuation/ttn/downlink/ack", json=ack)).status == 401
    wrong = {"X-Allmende-Webhook-Secret": "geraten"}
    assert (
        await lights.client.post("/actuation/ttn/downlink/ack", json=ack, headers=wrong)
    ).status == 401
    headers = lights.tts.headers()
    # a correlation id this node never made
    other = dict(ack, correlation_ids=["allmende:switching:" + "0" * 32])
    other["downlink_ack"] = dict(downlink, correlation_ids=other["correlation_ids"])
    assert (
        await lights.client.post("/actuation/ttn/downlink/ack", json=other, headers=headers)
    ).status == 404
    # the right id, but another device
    moved = dict(ack, end_device_ids=dict(ack["end_device_ids"], device_id="fremdes-geraet"))
    assert (
        await lights.client.post("/actuation/ttn/downlink/ack", json=moved, headers=headers)
    ).status == 422
    # an ack posted to the sent path, and a body that is no event
    assert (
        await lights.client.post("/actuation/ttn/downlink/sent", json=ack, headers=headers)
    ).status == 422
    assert (
        await lights.client.post("/actuation/ttn/downlink/ack", json={"x": 1}, headers=headers)
    ).status == 422
    # ChirpStack: a queue item nobody enqueued
    cs_ack = {"deviceInfo": lights.chirpstack.info(), "queueItemId": "f0e1", "acknowledged": True}
    cs_headers = {"X-Allmende-Webhook-Secret": lights.chirpstack.secret}
    assert (
        await lights.client.post("/actuation/chirpstack?event=ack", json=cs_ack, headers=cs_headers)
    ).status == 404
    assert await lights.state(body["id"]) == "queued"
    assert len(lights.tts.accepted) == 1


async def test_a_replayed_ack_is_refused_and_changes_nothing(lights: Lights) -> None:
    body = await (await lights.press("dorfstrasse")).json()
    assert (await lights.states(body["id"]))[-1] == "confirmed"
    await lights.settled()
    ack_reply = [r for r in lights.tts.replies if r[0].endswith("/downlink/ack")]
    assert [status for _path, status, _body in ack_reply] == [200]
    downlink = lights.tts.accepted[0]["downlinks"][0]
    replay = lights.tts.message(downlink, "downlink_ack", downlink)
    answer = await lights.client.post(
        "/actuation/ttn/downlink/ack", json=replay, headers=lights.tts.headers()
    )
    assert answer.status == 409
    assert await lights.state(body["id"]) == "confirmed"
    assert len(lights.tts.accepted) == 1


async def test_without_a_policy_nobody_switches(lights: Lights) -> None:
    from sqlmodel import Session

    from allmende.node.actuation.models import ActuationPolicy

    with Session(lights.node.engine) as session:
        row = session.get(ActuationPolicy, 1)
        assert row is not None
        session.delete(row)
        session.commit()
    answer = await lights.press("dorfstrasse")
    assert answer.status == 403
    assert (await answer.json())["reason"]["de"] == (
        "Die Gemeinde hat noch nicht festgelegt, wer schalten darf."
    )
    await nothing_switched(lights)
