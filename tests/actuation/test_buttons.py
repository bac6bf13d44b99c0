"""A LoRaWAN push button at the bus stop: its uplink, through the ingest webhook like any
sensor's, becomes a switching request under the same signed policy."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.actuation.conftest import POLICY, Lights, wait_for

BUTTON = "24E124538B223344"
"""A Milesight WS101 (sample DevEUI)."""


def uplink(moment: datetime, press: str = "short") -> dict[str, Any]:
    stamp = moment.isoformat().replace("+00:00", "Z")
    return {
        "end_device_ids": {
            "device_id": "ws101-bushaltestelle",
            "application_ids": {"application_id": "luetjenholm-knoepfe"},
            "dev_eui": BUTTON,
        },
        "received_at": stamp,
        "uplink_message": {
            "f_port": 85,
            "f_cnt": int(moment.timestamp()) % 65536,
            "decoded_payload": {"battery": 98, "press": press},
            "received_at": stamp,
        },
    }


async def send(lights: Lights, body: dict[str, Any]) -> None:
    answer = await lights.client.post(
        "/ingest/ttn", json=body, headers={"X-Allmende-Webhook-Secret": lights.tts.secret}
    )
    assert answer.status == 202, await answer.text()


async def register_button(lights: Lights, segment: str = "dorfstrasse") -> None:
    dataset = {
        "id": "knoepfe",
        "title": {"de": "Lichtknöpfe (Beispieldaten)", "en": "Light buttons (sample data)"},
        "description": {"de": "Tastendrücke der Lichtknöpfe. Beispieldaten."},
        "license": "dl-de/zero-2-0",
        "themes": ["ENER"],
        "frequency": "IRREG",
        "contact": {"email": "licht@luetjenholm.example"},
    }
    answer = await lights.client.post("/admin/datasets", json=dataset, headers=lights.admin)
    assert answer.status in (200, 201), await answer.text()
    device = {
        "device": BUTTON,
        "dataset": "knoepfe",
        "profile": "milesight-ws101",
        "label": "Bushaltestelle (Beispiel)",
    }
    answer = await lights.client.post("/admin/devices", json=device, headers=lights.admin)
    assert answer.status in (200, 201), await answer.text()
    answer = await lights.client.post(
        "/admin/actuation/buttons",
        json={"device": BUTTON, "segment": segment},
        headers=lights.admin,
    )
    assert answer.status == 201, await answer.text()


async def buttons_may_switch(lights: Lights) -> None:
    """The municipality's policy with a permission of its own for the bus stop's button."""
    policy = copy.deepcopy(POLICY)
    iri = f"{lights.node.base_url}/buttons/{BUTTON.lower()}"
    policy["permission"].append(
        {
            "action": "allmende:switch",
            "assignee": iri,
            "constraint": [
                {
                    "leftOperand": "allmende:timeOfDay",
                    "operator": "isPartOf",
                    "rightOperand": "22:00/06:00",
                }
            ],
        }
    )
    answer = await lights.client.put("/admin/actuation/policy", json=policy, headers=lights.admin)
    assert answer.status == 200, await answer.text()


def by_button(lights: Lights) -> list[dict[str, Any]]:
    return [e["data"] for e in lights.events() if e["data"].get("channel") == "button"]


async def test_a_press_at_the_bus_stop_switches_its_segment(lights: Lights) -> None:
    await buttons_may_switch(lights)
    await register_button(lights)
    now = datetime.now(UTC).replace(microsecond=0)
    await send(lights, uplink(now))

    async def switched() -> bool:
        return any(e["state"] == "requested" for e in by_button(lights))

    await wait_for(switched)
    await lights.settled()
    assert len(lights.tts.accepted) == 1
    first = by_button(lights)[0]
    assert first["segment"] == "dorfstrasse"
    assert first["person"] == lights.room.pseudonym(f"button:{BUTTON.lower()}")

    # pressed again while lit: coalesced into the window, no second downlink
    await send(lights, uplink(now + timedelta(seconds=20), "double"))

    async def coalesced() -> bool:
        return any(e["state"] == "coalesced" for e in by_button(lights))

    await wait_for(coalesced)
    assert len(lights.tts.accepted) == 1
    # the same reading again (a network server's retry) is no new press
    await send(lights, uplink(now + timedelta(seconds=20), "double"))
    await lights.settled()
    assert len({e["switching"] for e in by_button(lights)}) == 2
    listed = await lights.client.get("/admin/actuation/buttons", headers=lights.admin)
    (row,) = (await listed.json())["buttons"]
    assert row["segment"] == "dorfstrasse" and row["last"]["state"] == "coalesced"


async def test_the_policy_decides_for_buttons_too(lights: Lights) -> None:
    # the installed policy is for signed-in residents only: the button's press is refused
    await register_button(lights, "kirchweg")
    await send(lights, uplink(datetime.now(UTC).replace(microsecond=0)))

    async def refused() -> bool:
        listed = await lights.client.get("/admin/actuation/buttons", headers=lights.admin)
        last = (await listed.json())["buttons"][0]["last"]
        return last is not None and last["state"] == "refused"

    await wait_for(refused)
    listed = await lights.client.get("/admin/actuation/buttons", headers=lights.admin)
    assert (await listed.json())["buttons"][0]["last"]["reason"] == (
        "Nur für angemeldete Einwohnerinnen und Einwohner."
    )
    assert lights.tts.accepted == [] and lights.chirpstack.accepted == []


async def test_only_buttons_can_be_tied_to_segments(lights: Lights) -> None:
    cases = [
        ({"device": "70B3D57ED0000001", "segment": "dorfstrasse"}, "is not registered"),
        ({"device": BUTTON}, "segment"),
    ]
    for body, words in cases:
        answer = await lights.client.post(
            "/admin/actuation/buttons", json=body, headers=lights.admin
        )
        assert answer.status == 422, await answer.text()
        assert words in await answer.text()
    await register_button(lights)
    answer = await lights.client.post(
        "/admin/actuation/buttons",
        json={"device": BUTTON, "segment": "nirgendwo"},
        headers=lights.admin,
    )
    assert answer.status == 422
    assert "no segment" in await answer.text()
