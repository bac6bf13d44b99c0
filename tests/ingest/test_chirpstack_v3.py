"""ChirpStack v3's HTTP integration (JSON marshaler) posts to the same URL as v4: base64 or
hex DevEUIs, the codec's result as `objectJSON` text, `publishedAt`, `loRaSNR`. Both forms
become the same observations as a v4 event, for a device registered as people type ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from allmende.connectors.chirpstack_v3 import eui_hex, to_v4
from allmende.connectors.model import PayloadRejected
from tests.ingest.conftest import Village
from tests.support import admin_headers

TEMPERATURE = "http://vocab.nerc.ac.uk/standard_name/air_temperature/"


def v3_up(dev_eui: str, **extra: Any) -> dict[str, Any]:
    """An `up` event as ChirpStack v3.11+ marshals it to JSON (sample data)."""
    event: dict[str, Any] = {
        "applicationID": "7",
        "applicationName": "sample-raumklima",
        "deviceName": "Saal-Sensor",
        "devEUI": dev_eui,
        "rxInfo": [
            {
                "gatewayID": "pyfr//5aAAE=",
                "time": "2024-05-14T08:15:02.312Z",
                "rssi": -97,
                "loRaSNR": 6.5,
                "location": {"latitude": 54.6361, "longitude": 9.2011, "altitude": 18},
                "uplinkID": "jhMh8Gq6RAOChSKbi83RHQ==",
            }
        ],
        "txInfo": {"frequency": 868100000, "dr": 5},
        "adr": True,
        "dr": 5,
        "fCnt": 1834,
        "fPort": 2,
        "data": "AIYB5AAODBE=",
        "objectJSON": json.dumps({"temperature": 21.4, "humidity": 48.5, "battery": 3.61}),
        "tags": {},
        "publishedAt": "2024-05-14T08:15:02.334512Z",
    }
    event.update(extra)
    return event


def test_v3_identifiers_and_codec_result_read_as_v4() -> None:
    assert eui_hex("cLPVftAAC7s=") == "70b3d57ed0000bbb"
    assert eui_hex("70B3D57ED0000BBB") == "70b3d57ed0000bbb"
    event = to_v4(v3_up("cLPVftAAC7s="))
    assert event["deviceInfo"] == {
        "devEui": "70b3d57ed0000bbb",
        "applicationId": "7",
        "applicationName": "sample-raumklima",
        "deviceName": "Saal-Sensor",
        "tags": {},
    }
    assert event["rxInfo"][0]["gatewayId"] == "a727ebfffe5a0001"
    assert event["rxInfo"][0]["snr"] == 6.5
    assert event["deduplicationId"] == "8e1321f0-6aba-4403-8285-229b8bcdd11d"
    assert event["object"] == {"temperature": 21.4, "humidity": 48.5, "battery": 3.61}
    assert event["time"] == "2024-05-14T08:15:02.334512Z"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"devEUI": "cLPV"}, "/devEUI"),
        ({"objectJSON": "{not json"}, "/objectJSON"),
        ({"objectJSON": "[1, 2]"}, "/objectJSON"),
        ({"publishedAt": None, "rxInfo": []}, "/publishedAt"),
        ({"fCnt": "many"}, "/fCnt"),
    ],
)
def test_unreadable_v3_events_are_refused_naming_the_member(
    change: dict[str, Any], where: str
) -> None:
    event = {k: v for k, v in v3_up("cLPVftAAC7s=", **change).items() if v is not None}
    with pytest.raises(PayloadRejected) as refused:
        to_v4(event)
    assert refused.value.rejections[0].path == where


@pytest.mark.parametrize("dev_eui", ["cLPVftAAC7s=", "70B3D57ED0000BBB"])
async def test_a_v3_uplink_is_stored_like_a_v4_one(village: Village, dev_eui: str) -> None:
    registered = await village.client.post(
        "/admin/devices",
        json={
            "device": "70:B3:D5:7E:D0:00:0B:BB",
            "dataset": "raumklima-dgh",
            "profile": "room-climate",
        },
        headers=admin_headers(village.node),
    )
    assert registered.status == 201
    event = v3_up(dev_eui)
    if len(dev_eui) == 16:  # the legacy marshaler: hex, and the codec's result as an object
        event["object"] = json.loads(event.pop("objectJSON"))
    answer = await village.client.post(
        "/ingest/chirpstack?event=up", json=event, headers=village.headers("chirpstack")
    )
    assert answer.status == 202, await answer.text()
    assert (await answer.json())["accepted"] == 3
    await village.node.projected()
    rows = village.node.store.query(
        f"""PREFIX sosa: <http://www.w3.org/ns/sosa/>
        SELECT ?v ?t WHERE {{ GRAPH ?g {{ ?o sosa:observedProperty <{TEMPERATURE}> ;
          sosa:madeBySensor <{village.node.base_url.rstrip("/")}/sensors/70b3d57ed0000bbb> ;
          sosa:hasSimpleResult ?v ; sosa:resultTime ?t }} }}"""
    )
    assert [(r["v"].value, r["t"].value) for r in rows] == [("21.4", "2024-05-14T08:15:02.334512Z")]
    joined = await village.client.post(
        "/ingest/chirpstack?event=join",
        json={"devEUI": dev_eui},
        headers=village.headers("chirpstack"),
    )
    assert joined.status == 200
