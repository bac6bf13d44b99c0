"""A codec's warnings (here Milesight's history record, which the AM103 codec skips) are
kept with the device and shown by the API, the CLI and the console's device page, not
dropped; a clean uplink clears them, and so does removing the device. The readings the codec did decode are stored all the same."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from sqlmodel import Session

from allmende.node.ingest.commands import _print_detail
from allmende.node.ingest.registry import Registry, register
from allmende.node.ingest.routes import FORMATTER
from tests.ingest.conftest import Village, dataset_body, payload
from tests.ingest.test_device_console import visible_text
from tests.ingest.test_raw_payloads import latest, post, raw_uplink
from tests.support import admin_headers
from tests.web.test_sessions import sign_in

AM103 = "24e124710c000103"
# battery 100 %, 28.0 degC, 54.5 %RH, 453 ppm CO2, then a history record (0x20 0xCE)
WITH_HISTORY = bytes.fromhex("0175640367180104686d077dc50120ce781a4165df006e9001")
CLEAN = bytes.fromhex("0175640367180104686d077dc501")


async def detail(village: Village, device: str) -> dict[str, Any]:
    response = await village.client.get(
        f"/admin/devices/{device}", headers=admin_headers(village.node)
    )
    assert response.status == 200
    found: dict[str, Any] = await response.json()
    return found


async def test_codec_warnings_are_kept_shown_and_cleared(
    village: Village, capsys: pytest.CaptureFixture[str]
) -> None:
    from allmende.node.catalog import service

    await service.create(village.node, dataset_body("raumluft"))
    await register(
        village.node,
        Registry(village.node),
        {"device": AM103, "dataset": "raumluft", "profile": "milesight-am103"},
    )
    message = raw_uplink(AM103, WITH_HISTORY, brand_id="milesight-iot", model_id="am103")
    message["uplink_message"]["f_port"] = 85
    status, body = await post(village, message)
    assert status == 202, body
    assert latest(village, AM103) == {
        "battery": "100",
        "temperature": "28",
        "humidity": "54.5",
        "co2": "453",
    }
    warned = (await detail(village, AM103))["codecWarnings"]
    assert warned["codec"] == "milesight-am103"
    assert warned["warnings"] == ["unknown channel 0x20 type 0xce"]
    assert warned["time"].startswith(message["uplink_message"]["received_at"][:19])

    _print_detail(await detail(village, AM103))
    shown = capsys.readouterr().out
    assert "codec milesight-am103 warned at" in shown
    assert "unknown channel 0x20 type 0xce" in shown

    message["uplink_message"]["frm_payload"] = base64.b64encode(CLEAN).decode()
    message["uplink_message"]["received_at"] = "2031-01-01T00:00:00Z"
    status, body = await post(village, message)
    assert status == 202, body
    assert (await detail(village, AM103))["codecWarnings"] is None


async def test_the_things_stack_formatter_warnings_are_kept_alike(village: Village) -> None:
    device = "70b3d57ed00ab001"  # registered with room-climate
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"]["dev_eui"] = device.upper()
    up = message["uplink_message"]
    up["decoded_payload_warnings"] = ["humidity sensor not calibrated"]
    status, body = await post(village, message)
    assert status == 202, body
    warned = (await detail(village, device))["codecWarnings"]
    assert warned["codec"] == FORMATTER
    assert warned["warnings"] == ["humidity sensor not calibrated"]

    del up["decoded_payload_warnings"]
    up["received_at"] = "2031-01-01T00:00:00Z"
    status, body = await post(village, message)
    assert status == 202, body
    assert (await detail(village, device))["codecWarnings"] is None


async def test_formatter_warnings_after_clean_uplinks_are_kept(village: Village) -> None:
    """Clean uplinks of a device without warnings are let through without a look at the
    database; the first uplink with warnings after them is kept all the same, and the
    next clean one clears them."""
    device = "70b3d57ed00ab001"  # registered with room-climate
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"]["dev_eui"] = device.upper()
    up = message["uplink_message"]
    for second in range(3):
        up["received_at"] = f"2031-01-01T00:00:0{second}Z"
        status, body = await post(village, message)
        assert status == 202, body
    assert (await detail(village, device))["codecWarnings"] is None

    up["decoded_payload_warnings"] = ["battery low"]
    up["received_at"] = "2031-01-01T00:00:05Z"
    status, body = await post(village, message)
    assert status == 202, body
    assert (await detail(village, device))["codecWarnings"]["warnings"] == ["battery low"]

    del up["decoded_payload_warnings"]
    up["received_at"] = "2031-01-01T00:00:06Z"
    status, body = await post(village, message)
    assert status == 202, body
    assert (await detail(village, device))["codecWarnings"] is None


async def test_the_device_page_shows_the_warnings_and_removal_deletes_them(
    village: Village,
) -> None:
    """The operator sees the warnings on the console's device page, in German; removing
    the device deletes them, and the device registered again gets its own."""
    from allmende.node.catalog import service
    from allmende.node.ingest.codecs import CodecWarning

    await service.create(village.node, dataset_body("raumluft"))
    body = {"device": AM103, "dataset": "raumluft", "profile": "milesight-am103"}
    await register(village.node, Registry(village.node), body)
    message = raw_uplink(AM103, WITH_HISTORY, brand_id="milesight-iot", model_id="am103")
    message["uplink_message"]["f_port"] = 85
    status, answer = await post(village, message)
    assert status == 202, answer

    await sign_in(village.client, village.node)
    page = await village.client.get(f"/admin/console/devices/{AM103}?lang=de")
    assert page.status == 200
    shown = visible_text(await page.text())
    assert "Warnungen des Decoders" in shown
    assert "Der Decoder milesight-am103 warnte am" in shown
    assert "unknown channel 0x20 type 0xce" in shown
    assert "Decoder warnings" not in shown

    removed = await village.client.delete(
        f"/admin/devices/{AM103}", headers=admin_headers(village.node)
    )
    assert removed.status == 200
    with Session(village.node.engine) as session:
        assert session.get(CodecWarning, AM103) is None

    await register(village.node, Registry(village.node), body)
    assert (await detail(village, AM103))["codecWarnings"] is None
    shown = visible_text(
        await (await village.client.get(f"/admin/console/devices/{AM103}?lang=de")).text()
    )
    assert "Keine Warnungen des Decoders." in shown
    # the same warnings within a minute of the old ones are the new device's, and kept
    status, answer = await post(village, message)
    assert status == 202, answer
    assert (await detail(village, AM103))["codecWarnings"]["warnings"] == [
        "unknown channel 0x20 type 0xce"
    ]
