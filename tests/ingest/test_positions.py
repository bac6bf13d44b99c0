"""A device registered without a position takes the one its network server reports: The
Things Stack's `locations` (the position set in its console first) or `location_solved`,
ChirpStack's `location` event or the best gateway's place; a registered position stays."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlmodel import Session

from allmende.node.events.log import EventLog
from allmende.node.ingest.registry import REGISTERED
from tests.ingest.conftest import Village, payload
from tests.support import admin_headers

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"


async def register(village: Village, device: str, **extra: Any) -> None:
    answer = await village.client.post(
        "/admin/devices",
        json={"device": device, "dataset": "raumklima-dgh", "profile": "room-climate", **extra},
        headers=admin_headers(village.node),
    )
    assert answer.status == 201, await answer.text()


async def position(village: Village, device: str) -> tuple[Any, Any]:
    answer = await village.client.get(
        f"/admin/devices/{device}", headers=admin_headers(village.node)
    )
    body = await answer.json()
    return body["lat"], body["lon"]


def last_registration(village: Village, device: str) -> dict[str, Any]:
    with Session(village.node.engine) as session:
        events = [
            s.event
            for s in EventLog.read(session, 0, 10_000)
            if s.event["type"] == REGISTERED and s.event["data"]["device"] == device
        ]
    return events[-1]["data"]


def tts_uplink(dev_eui: str, locations: dict[str, Any]) -> Any:
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"].update(dev_eui=dev_eui, device_id="keller")
    message["uplink_message"]["locations"] = locations
    return message


async def test_the_things_stack_position_places_an_unplaced_device(village: Village) -> None:
    await register(village, "70B3D57ED0000C01")
    await register(village, "70B3D57ED0000C02", lat=54.5, lon=8.9)
    for device in ("70B3D57ED0000C01", "70B3D57ED0000C02"):
        uplink = tts_uplink(
            device,
            {
                "frm-payload": {"latitude": 54.7, "longitude": 9.1, "source": "SOURCE_GPS"},
                "user": {"latitude": 54.6345, "longitude": 9.1987, "source": "SOURCE_REGISTRY"},
            },
        )
        answer = await village.client.post(
            "/ingest/ttn/uplink", json=uplink, headers=village.headers()
        )
        assert answer.status == 202, await answer.text()
    assert await position(village, "70b3d57ed0000c01") == (54.6345, 9.1987)
    assert await position(village, "70b3d57ed0000c02") == (54.5, 8.9)  # registered: kept
    assert last_registration(village, "70b3d57ed0000c01")["position"] == "device"
    await village.node.projected()
    lat = village.node.store.query(
        f"SELECT ?lat WHERE {{ GRAPH ?g {{ ?p <{GEO}lat> ?lat . "
        f"?p <http://www.w3.org/ns/sosa/hosts> <{village.node.base_url.rstrip('/')}"
        "/sensors/70b3d57ed0000c01> } }"
    )
    assert [r["lat"].value for r in lat] == ["54.6345"]


async def test_a_location_solved_message_places_the_device(village: Village) -> None:
    await register(village, "keller-sensor")
    ids = {"device_id": "keller-sensor", "application_ids": {"application_id": "sample-app"}}
    message = {
        "end_device_ids": ids,
        "location_solved": {
            "service": "lora-cloud-geolocation",
            "location": {"latitude": 54.64, "longitude": 9.2, "source": "SOURCE_LORA_RSSI"},
        },
    }
    answer = await village.client.post(
        "/ingest/ttn/location", json=message, headers=village.headers()
    )
    assert answer.status == 200
    assert await position(village, "keller-sensor") == (54.64, 9.2)


async def test_chirpstack_places_by_location_event_or_best_gateway(village: Village) -> None:
    await register(village, "0004A30B00E1C0DF")
    await register(village, "0004A30B00E1C0E0")
    up = copy.deepcopy(payload("chirpstack-up.json"))
    up["deviceInfo"]["devEui"] = "0004a30b00e1c0df"
    up["rxInfo"] = [
        {
            "gatewayId": "0016c001f153a14c",
            "rssi": -110,
            "location": {"latitude": 54.1, "longitude": 9.0},
        },
        {
            "gatewayId": "0016c001f153a14d",
            "rssi": -80,
            "location": {"latitude": 54.2, "longitude": 9.3},
        },
    ]
    answer = await village.client.post(
        "/ingest/chirpstack?event=up", json=up, headers=village.headers("chirpstack")
    )
    assert answer.status == 202, await answer.text()  # battery maps, the soil fields not
    assert await position(village, "0004a30b00e1c0df") == (54.2, 9.3)
    assert last_registration(village, "0004a30b00e1c0df")["position"] == "gateway"

    located = {
        "deviceInfo": {"devEui": "0004a30b00e1c0e0", "deviceName": "pegel"},
        "location": {"latitude": 54.61, "longitude": 8.95, "source": "GEO_RESOLVER_TDOA"},
    }
    answer = await village.client.post(
        "/ingest/chirpstack?event=location", json=located, headers=village.headers("chirpstack")
    )
    assert answer.status == 200
    assert await position(village, "0004a30b00e1c0e0") == (54.61, 8.95)
