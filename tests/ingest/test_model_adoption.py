"""A device registered without a device model (here with the generic room-climate
profile) whose uplinks carry The Things Stack's `version_ids` gets the named model's field
mappings: its first real uplink already lands with the right properties and units, as a
mapping event that peers and a rebuilt store read alike. The operator's own choices stay."""

from __future__ import annotations

import base64
import copy
from typing import Any

from sqlmodel import Session

from allmende.node.events.log import EventLog
from allmende.node.ingest.registry import MAPPED
from allmende.node.runtime import Node
from allmende.node.store import OxigraphStore
from tests.ingest.conftest import Village, payload
from tests.ingest.test_field_mapping import detail, register, remap
from tests.ingest.test_raw_payloads import latest

LHT65 = {"brand_id": "dragino", "model_id": "lht65", "firmware_version": "1.8"}
# Dragino's documented examples: 3.062 V, 27.47 degC, 60.4 %RH, DS18B20 27.81 degC
FRAME = bytes.fromhex("CBF60ABB025C010ADD7FFF")
CF = "http://vocab.nerc.ac.uk/standard_name/"


def uplink(dev_eui: str, when: str, **version_ids: str) -> dict[str, Any]:
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"]["dev_eui"] = dev_eui.upper()
    message["end_device_ids"]["device_id"] = "lht65-" + dev_eui[-4:]
    up = message["uplink_message"]
    del up["decoded_payload"]
    up["f_port"] = 2
    up["frm_payload"] = base64.b64encode(FRAME).decode()
    up["received_at"] = when
    up["version_ids"] = version_ids
    return message


async def post(village: Village, body: Any) -> tuple[int, Any]:
    response = await village.client.post("/ingest/ttn/uplink", json=body, headers=village.headers())
    return response.status, await response.json(content_type=None)


def mapped_events(node: Node) -> list[Any]:
    with Session(node.engine) as session:
        return [s for s in EventLog.read(session, 0, 10_000) if s.event["type"] == MAPPED]


async def test_the_first_uplink_lands_with_the_named_models_mapping(village: Village) -> None:
    device = "a84041000000ad01"
    await register(village, device)  # room-climate: temperature, humidity, co2, battery
    status, body = await post(village, uplink(device, "2024-05-14T08:15:02Z", **LHT65))
    assert status == 202, body
    assert latest(village, device) == {
        "BatV": "3.062",
        "TempC_SHT": "27.47",
        "Hum_SHT": "60.4",
        "TempC_DS": "27.81",
    }
    mapping = (await detail(village, device))["mapping"]
    assert mapping["TempC_SHT"]["observableProperty"] == CF + "air_temperature/"
    assert mapping["TempC_SHT"]["unit"] == "http://qudt.org/vocab/unit/DEG_C"
    assert mapping["BatV"]["unit"] == "http://qudt.org/vocab/unit/V"
    assert "temperature" in mapping  # the profile's own fields stay
    (event,) = mapped_events(village.node)
    assert event.event["data"]["adoptedModel"] == "dragino-lht65"
    assert event.event["data"]["adopted"] == ["BatV", "Hum_SHT", "TempC_DS", "TempC_SHT"]

    # a rebuilt store reads the mapping event as the node did
    await village.node.projected()
    node = village.node
    before = sorted(node.store.dump_nquads().splitlines())
    fresh = Node(node.settings, node.key, store=OxigraphStore(node.settings.directory / "fresh"))
    try:
        fresh.project()
        assert sorted(fresh.store.dump_nquads().splitlines()) == before
    finally:
        fresh.close()


async def test_a_model_is_adopted_once_and_the_operators_choices_stay(village: Village) -> None:
    device = "a84041000000ad02"
    await register(village, device)
    assert (await post(village, uplink(device, "2024-05-14T08:15:02Z", **LHT65)))[0] == 202
    await remap(village, device, {"fields": {"TempC_DS": None}})
    status, body = await post(village, uplink(device, "2024-05-14T08:25:02Z", **LHT65))
    assert status == 202, body
    assert "TempC_DS" not in (await detail(village, device))["mapping"]
    assert len(mapped_events(village.node)) == 2  # the adoption and the operator's change


async def test_devices_registered_with_a_model_or_without_version_ids_keep_theirs(
    village: Village,
) -> None:
    with_model, without = "a84041000000ad03", "a84041000000ad04"
    await register(village, with_model, "milesight-em300-th")
    await register(village, without)
    await post(village, uplink(with_model, "2024-05-14T08:15:02Z", **LHT65))
    status, body = await post(village, uplink(without, "2024-05-14T08:15:02Z"))
    assert status == 422, body  # no codec named, nothing decoded
    assert "TempC_SHT" not in (await detail(village, with_model))["mapping"]
    assert "TempC_SHT" not in (await detail(village, without))["mapping"]
    status, body = await post(
        village, uplink(without, "2024-05-14T08:25:02Z", brand_id="nobody", model_id="x")
    )
    assert status == 422, body
    assert mapped_events(village.node) == []
