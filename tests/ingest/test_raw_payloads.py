"""Raw uplinks (no payload formatter) are decoded with the device's codec on the node;
an operator's codec for one device wins; a runaway codec is stopped and reported while
the other devices' uplinks go on."""

from __future__ import annotations

import base64
import copy
import json
import time
from typing import Any

from sqlmodel import Session, select

from allmende.connectors.codecs import TIME_LIMIT
from allmende.node.ingest.models import LatestValue
from tests.ingest.conftest import Village, payload
from tests.support import admin_headers

CLIMATE = "70b3d57ed00ab001"  # registered with the generic room-climate profile
ROOM_CODEC = """
function decodeUplink(input) {
  var b = input.bytes;
  return { data: { temperature: ((b[0] << 8) | b[1]) / 10, humidity: b[2] / 2 } };
}
"""
LOOPING = "function decodeUplink(input) { for (;;) {} }"


def raw_uplink(dev_eui: str, frm: bytes, **version_ids: str) -> dict[str, Any]:
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"]["dev_eui"] = dev_eui.upper()
    up = message["uplink_message"]
    del up["decoded_payload"]
    up["frm_payload"] = base64.b64encode(frm).decode()
    up["version_ids"] = version_ids or {"brand_id": "sample", "model_id": "room-climate"}
    return message


async def post(village: Village, body: Any) -> tuple[int, Any]:
    response = await village.client.post(
        "/ingest/ttn", data=json.dumps(body), headers=village.headers("ttn")
    )
    return response.status, await response.json(content_type=None)


async def upload(village: Village, device: str, codec: str) -> tuple[int, Any]:
    response = await village.client.put(
        f"/admin/devices/{device}/codec",
        data=json.dumps({"codec": codec}),
        headers={**admin_headers(village.node), "Content-Type": "application/json"},
    )
    return response.status, await response.json(content_type=None)


def latest(village: Village, device: str) -> dict[str, str]:
    with Session(village.node.engine) as session:
        rows = session.exec(select(LatestValue).where(LatestValue.device_id == device)).all()
    return {r.field: r.value for r in rows}


async def test_without_a_codec_the_raw_uplink_is_reported(village: Village) -> None:
    status, body = await post(village, raw_uplink(CLIMATE, bytes([0x00, 0xD6, 0x61])))
    assert status == 422
    assert body["errors"][0]["path"] == "/uplink_message/frm_payload"
    assert body["errors"][0]["code"] == "no-decoder-result"
    assert "codec" in body["errors"][0]["reason"]


async def test_an_uploaded_codec_decodes_the_devices_raw_uplinks(village: Village) -> None:
    status, stored = await upload(village, CLIMATE, ROOM_CODEC)
    assert status == 200, stored
    assert stored["device"] == CLIMATE and len(stored["sha256"]) == 64
    status, body = await post(village, raw_uplink(CLIMATE, bytes([0x00, 0xD6, 0x61])))
    assert status == 202, body
    assert body["accepted"] == 2
    assert latest(village, CLIMATE) == {"temperature": "21.4", "humidity": "48.5"}

    response = await village.client.get(
        f"/admin/devices/{CLIMATE}/codec", headers=admin_headers(village.node)
    )
    assert (await response.json())["codec"] == ROOM_CODEC
    response = await village.client.delete(
        f"/admin/devices/{CLIMATE}/codec", headers=admin_headers(village.node)
    )
    assert response.status == 204
    status, body = await post(village, raw_uplink(CLIMATE, bytes([0x00, 0xD7, 0x61])))
    assert status == 422 and body["errors"][0]["code"] == "no-decoder-result"


async def test_codecs_that_cannot_run_are_refused_at_upload(village: Village) -> None:
    for bad, words in [
        ("function decodeUplink(input) {", "SyntaxError"),
        ("var nothing = 1;", "decodeUplink"),
        ("for (;;) {}", "longer"),
    ]:
        status, body = await upload(village, CLIMATE, bad)
        assert status == 400, body
        assert words in body["detail"]
    status, _ = await upload(village, "no-such-device", ROOM_CODEC)
    assert status == 404
    status, _ = await upload(village, CLIMATE, "")
    assert status == 400


async def test_a_looping_codec_is_stopped_and_other_devices_go_on(village: Village) -> None:
    soil = "0004a30b00e1c0de"  # another registered device, with its own codec
    soil_codec = "function decodeUplink(i) { return {data: {soil_moisture: i.bytes[0]}}; }"
    assert (await upload(village, soil, soil_codec))[0] == 200
    # loading it runs no loop, so it is stored; it loops when it decodes
    assert (await upload(village, CLIMATE, LOOPING))[0] == 200

    started = time.monotonic()
    status, body = await post(village, raw_uplink(CLIMATE, bytes([0xFF, 0x00])))
    assert status == 422
    assert body["errors"][0]["code"] == "codec-timeout"
    assert time.monotonic() - started < 30 * TIME_LIMIT

    status, body = await post(village, raw_uplink(soil, bytes([23])))
    assert status == 202 and body["accepted"] == 1
    assert latest(village, soil) == {"soil_moisture": "23"}

    # in one batch: the runaway device's uplinks are reported (at once: suspended), the
    # other device's are stored
    batch = [raw_uplink(CLIMATE, bytes([0xFF])) for _ in range(20)]
    later = raw_uplink(soil, bytes([31]))
    later["uplink_message"]["received_at"] = "2024-05-14T08:30:00Z"
    batch.insert(10, later)
    started = time.monotonic()
    status, body = await post(village, batch)
    assert status == 202, body
    assert body["accepted"] == 1
    assert {e["code"] for e in body["reported"]} == {"codec-suspended"}
    assert time.monotonic() - started < 30 * TIME_LIMIT
    assert latest(village, soil) == {"soil_moisture": "31"}


async def test_the_device_library_is_listed_for_the_console(village: Village) -> None:
    response = await village.client.get("/admin/device-models", headers=admin_headers(village.node))
    items = (await response.json())["items"]
    assert {"dragino-lht65", "elsys-ers-co2", "milesight-em400-mud"} <= {i["name"] for i in items}
    assert all(i["codec"] for i in items)


async def test_version_ids_choose_the_model_codec(village: Village) -> None:
    """A device without a model of its own: The Things Stack names its model, whose codec
    decodes (EM300-TH channels 03 67 temperature, 04 68 humidity)."""
    message = raw_uplink(
        CLIMATE,
        bytes.fromhex("03671001046871"),
        brand_id="milesight-iot",
        model_id="em300-th",
        firmware_version="1.0",
    )
    status, body = await post(village, message)
    assert status == 202, body
    assert latest(village, CLIMATE) == {"temperature": "27.2", "humidity": "56.5"}


async def test_codecs_are_uploaded_for_devices_as_people_write_their_ids(
    village: Village,
) -> None:
    status, stored = await upload(village, "70-B3-D5-7E-D0-0A-B0-01", ROOM_CODEC)
    assert status == 200, stored
    assert stored["device"] == CLIMATE
