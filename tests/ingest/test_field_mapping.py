"""Per-device field mapping, plausibility checks, ids as people type them, and the message
paths The Things Stack appends: a real decoder's field names become observations once the
operator maps them, a battery percentage mapped as volts is flagged (or refused), and the
mapping is an event that a rebuilt store and peers read the same way."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from allmende.node.events.log import EventLog
from allmende.node.federation.projection import HANDLERS
from allmende.node.federation.sharing import OBSERVATIONS, stream_of
from allmende.node.http.app import create_app
from allmende.node.ingest.registry import MAPPED, registry_id
from allmende.node.runtime import Node
from allmende.node.setup_files import init_directory
from allmende.node.store import OxigraphStore
from tests.ingest.conftest import Village, payload, prepare_village
from tests.support import admin_headers

DQV = "http://www.w3.org/ns/dqv#"
UNIT = "http://qudt.org/vocab/unit/"
CF = "http://vocab.nerc.ac.uk/standard_name/"
TIME = "2024-05-14T08:15:02.334512998Z"


def lht65_uplink(dev_eui: str, device_id: str, decoded: dict[str, Any], when: str = TIME) -> Any:
    """A The Things Stack uplink as a Dragino LHT65's vendor decoder fills it (sample)."""
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"]["dev_eui"] = dev_eui
    message["end_device_ids"]["device_id"] = device_id
    message["uplink_message"]["decoded_payload"] = decoded
    message["uplink_message"]["received_at"] = when
    message["uplink_message"].pop("version_ids", None)
    return message


async def register(village: Village, device: str, profile: str = "room-climate") -> Any:
    answer = await village.client.post(
        "/admin/devices",
        json={"device": device, "dataset": "raumklima-dgh", "profile": profile},
        headers=admin_headers(village.node),
    )
    assert answer.status == 201, await answer.text()
    return await answer.json()


async def remap(village: Village, device: str, body: Any, status: int = 200) -> Any:
    answer = await village.client.post(
        f"/admin/devices/{device}/mapping", json=body, headers=admin_headers(village.node)
    )
    assert answer.status == status, await answer.text()
    return await answer.json()


async def detail(village: Village, device: str) -> Any:
    answer = await village.client.get(
        f"/admin/devices/{device}", headers=admin_headers(village.node)
    )
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def post(village: Village, path: str, body: Any) -> Any:
    return await village.client.post(path, json=body, headers=village.headers("ttn"))


def readings(node: Node, device: str) -> dict[str, tuple[str, str, str | None]]:
    """property -> (value, result time, unit) of the device's observations in the store."""
    rows = node.store.query(
        f"""PREFIX sosa: <http://www.w3.org/ns/sosa/> PREFIX qudt: <http://qudt.org/schema/qudt/>
        SELECT ?p ?v ?t ?u WHERE {{ GRAPH ?g {{
          ?o sosa:madeBySensor <{node.base_url.rstrip("/")}/sensors/{device}> ;
             sosa:observedProperty ?p ; sosa:hasSimpleResult ?v ; sosa:resultTime ?t .
          OPTIONAL {{ ?o sosa:hasResult/qudt:unit ?u }} }} }}"""
    )
    return {
        r["p"].value: (r["v"].value, r["t"].value, r["u"].value if r["u"] else None) for r in rows
    }


def test_ids_are_stored_as_network_servers_send_them() -> None:
    assert registry_id("70-B3-D5-7E-D0-00-0B-BB") == "70b3d57ed0000bbb"
    assert registry_id(" 70:b3:d5:7e:d0:00:0b:bb ") == "70b3d57ed0000bbb"
    assert registry_id("70B3D57ED0000BBB") == "70b3d57ed0000bbb"
    assert registry_id("Keller-Sensor") == "keller-sensor"
    assert registry_id("eui-70b3d57ed0000bbb") == "eui-70b3d57ed0000bbb"


async def test_ids_copied_from_labels_match_the_uplinks(village: Village) -> None:
    shown = await register(village, "70-B3-D5-7E-D0-00-0B-BB")
    assert shown["device"] == "70b3d57ed0000bbb"  # the stored form, shown back
    by_name = await register(village, "Keller-Sensor")
    assert by_name["device"] == "keller-sensor"

    by_eui = lht65_uplink("70B3D57ED0000BBB", "lht65-flur", {"temperature": 19.5})
    answer = await post(village, "/ingest/ttn/uplink", by_eui)
    assert answer.status == 202, await answer.text()
    # registered by its TTS device id; TTS also sends a DevEUI nobody registered
    by_id = lht65_uplink("A84041000181C0DE", "keller-sensor", {"temperature": 12.5})
    answer = await post(village, "/ingest/ttn/uplink", by_id)
    assert answer.status == 202, await answer.text()
    await village.node.projected()
    temperature = CF + "air_temperature/"
    assert readings(village.node, "70b3d57ed0000bbb")[temperature][0] == "19.5"
    assert readings(village.node, "keller-sensor")[temperature][0] == "12.5"
    assert (await detail(village, "KELLER-SENSOR"))["device"] == "keller-sensor"


@pytest.mark.parametrize("path", ["uplink", "join", "location", "service/data", "downlink/ack"])
async def test_the_things_stack_message_paths_are_answered(village: Village, path: str) -> None:
    uplink = payload("ttn-uplink-humidity.json")
    ids = uplink["end_device_ids"]
    other = {
        "join": {"end_device_ids": ids, "join_accept": {"session_key_id": "AY9S"}},
        "location": {"end_device_ids": ids, "location_solved": {"service": "frm-payload"}},
        "service/data": {"end_device_ids": ids, "service_data": {"service": "lora-cloud"}},
        "downlink/ack": {"end_device_ids": ids, "downlink_ack": {"f_port": 2, "f_cnt": 3}},
    }
    answer = await post(village, f"/ingest/ttn/{path}", other.get(path, uplink))
    if path == "uplink":
        assert answer.status == 202, await answer.text()
        assert (await answer.json())["accepted"] == 3
    else:
        assert answer.status == 200, await answer.text()
        assert "ignored" in await answer.json()
    unknown = await post(village, "/ingest/ttn/downlink/bogus", uplink)
    assert unknown.status == 404


async def test_unmapped_fields_are_shown_and_mapped_fields_become_observations(
    village: Village,
) -> None:
    await register(village, "A840414121826B3F")
    decoded = {"TempC_SHT": 2150, "Hum_SHT": 48.5, "BatV": 3.05, "Ext_sensor": "No connect"}
    first = await post(
        village, "/ingest/ttn/uplink", lht65_uplink("A840414121826B3F", "lht65", decoded)
    )
    assert first.status == 422  # none of the vendor's names is in the room-climate profile
    shown = await detail(village, "a840414121826b3f")
    assert shown["lastPayload"]["fields"] == decoded
    assert shown["lastPayload"]["unmapped"] == sorted(decoded)

    await remap(
        village,
        "a840414121826b3f",
        {
            "fields": {
                "TempC_SHT": {"property": "air_temperature", "unit": "DEG_C", "scale": 0.01},
                "Hum_SHT": {"property": "relative_humidity", "unit": "PERCENT_RH"},
                "BatV": {"property": "battery_voltage", "unit": "V"},
            }
        },
    )
    later = "2024-05-14T08:30:02Z"
    again = await post(
        village, "/ingest/ttn/uplink", lht65_uplink("A840414121826B3F", "lht65", decoded, later)
    )
    assert again.status == 202, await again.text()
    assert (await again.json())["accepted"] == 3
    await village.node.projected()
    found = readings(village.node, "a840414121826b3f")
    at = "2024-05-14T08:30:02Z"
    assert found[CF + "air_temperature/"] == ("21.5", at, UNIT + "DEG_C")
    assert found[CF + "relative_humidity/"] == ("48.5", at, UNIT + "PERCENT_RH")
    assert found["https://w3id.org/allmende/ns#batteryVoltage"] == ("3.05", at, UNIT + "V")
    assert (await detail(village, "a840414121826b3f"))["lastPayload"]["unmapped"] == ["Ext_sensor"]


async def test_a_battery_percentage_mapped_as_volts_is_flagged(village: Village) -> None:
    await register(village, "A840414121826B40")
    await remap(
        village,
        "a840414121826b40",
        {"fields": {"BatP": {"property": "battery_voltage", "unit": "V"}}},
    )
    uplink = lht65_uplink("A840414121826B40", "lht65-b", {"BatP": 87, "temperature": 20.1})
    answer = await post(village, "/ingest/ttn/uplink", uplink)
    assert answer.status == 202, await answer.text()
    await village.node.projected()
    flagged = list(
        village.node.store.query(
            f"""PREFIX dqv: <{DQV}> PREFIX oa: <http://www.w3.org/ns/oa#>
            PREFIX sosa: <http://www.w3.org/ns/sosa/>
            SELECT ?v ?body WHERE {{ GRAPH ?g {{ ?o dqv:hasQualityAnnotation ?q ;
              sosa:hasSimpleResult ?v . ?q a dqv:QualityAnnotation ; oa:hasTarget ?o ;
              oa:hasBody ?body }} }}"""
        )
    )
    assert [(r["v"].value, r["body"].value) for r in flagged] == [
        ("87", "https://w3id.org/allmende/ns#ImplausibleValue")
    ]
    listed = (await detail(village, "a840414121826b40"))["implausibleReadings"]
    assert [(r["field"], r["value"], r["refused"]) for r in listed] == [("BatP", "87", False)]
    assert "87 V is not plausible" in listed[0]["reason"]

    await remap(village, "a840414121826b40", {"implausible": "refuse"})
    later = lht65_uplink("A840414121826B40", "lht65-b", {"BatP": 88}, "2024-05-14T09:00:00Z")
    refused = await post(village, "/ingest/ttn/uplink", later)
    assert refused.status == 422
    assert (await refused.json())["errors"][0]["code"] == "implausible"
    listed = (await detail(village, "a840414121826b40"))["implausibleReadings"]
    assert [(r["value"], r["refused"]) for r in listed] == [("88", True), ("87", False)]


async def test_minus_300_degrees_is_not_a_temperature(village: Village) -> None:
    await register(village, "A840414121826B41")
    uplink = lht65_uplink("A840414121826B41", "lht65-c", {"temperature": -300, "humidity": 40})
    answer = await post(village, "/ingest/ttn/uplink", uplink)
    assert answer.status == 202
    listed = (await detail(village, "a840414121826b41"))["implausibleReadings"]
    assert [(r["field"], r["value"]) for r in listed] == [("temperature", "-300")]


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"property": "battery_voltage", "unit": "PERCENT"}, "fields/BatV/unit"),
        ({"property": "air_temperature", "unit": "DEG_C", "scale": 0}, "fields/BatV/scale"),
        ({"property": "air_temperature", "unit": "DEG_C", "min": 5, "max": 1}, "fields/BatV/min"),
        ({"property": "parking_space_occupied", "unit": "V"}, "fields/BatV/unit"),
        ({"unit": "V"}, "fields/BatV/property"),
        ({"property": "x", "unit": "V", "colour": "red"}, "fields/BatV/colour"),
    ],
)
async def test_a_wrong_mapping_is_refused_naming_the_field(
    village: Village, mapping: dict[str, Any], field: str
) -> None:
    await register(village, "A840414121826B42")
    problem = await remap(village, "a840414121826b42", {"fields": {"BatV": mapping}}, 400)
    assert problem["errors"][0]["field"] == field
    assert "BatV" not in (await detail(village, "a840414121826b42"))["mapping"]


async def test_mapping_an_unknown_device_is_404(village: Village) -> None:
    body = {"fields": {"x": {"property": "air_temperature"}}}
    await remap(village, "0000000000000000", body, 404)


async def test_reindex_after_a_mapping_change_gives_the_same_store(village: Village) -> None:
    await register(village, "A840414121826B43")
    await remap(
        village,
        "a840414121826b43",
        {"fields": {"TempC_SHT": {"property": "air_temperature", "unit": "DEG_C"}}},
    )
    await post(village, "/ingest/ttn", lht65_uplink("A840414121826B43", "d", {"TempC_SHT": 18.2}))
    await remap(
        village,
        "a840414121826b43",
        {"fields": {"temperature": None, "dist": {"property": "water_level", "unit": "MilliM"}}},
    )
    await village.node.projected()
    before = sorted(village.node.store.dump_nquads().splitlines())
    observed = village.node.store.query(
        f"""SELECT ?p WHERE {{ GRAPH ?g {{
          <{village.node.base_url.rstrip("/")}/sensors/a840414121826b43>
            <http://www.w3.org/ns/sosa/observes> ?p }} }}"""
    )
    # the sensor's description follows the last mapping: water level in, `temperature` out
    assert CF + "water_surface_height_above_reference_datum/" in {r["p"].value for r in observed}

    node = village.node
    fresh = Node(node.settings, node.key, store=OxigraphStore(node.settings.directory / "fresh"))
    try:
        fresh.project()
        assert sorted(fresh.store.dump_nquads().splitlines()) == before
    finally:
        fresh.close()


async def test_a_mapping_change_reaches_peers_like_other_sensor_events(village: Village) -> None:
    """Shared on the observations stream like a registration, and a peer's store takes
    the sensor's new description from it."""
    await register(village, "A840414121826B44")
    await remap(
        village,
        "a840414121826b44",
        {"fields": {"dist": {"property": "water_level", "unit": "CentiM"}}},
    )
    with Session(village.node.engine) as session:
        mapped = [s for s in EventLog.read(session, 0, 10_000) if s.event["type"] == MAPPED]
    assert len(mapped) == 1 and stream_of(MAPPED) == OBSERVATIONS
    assert mapped[0].event["data"]["fields"]["dist"]["unit"] == UNIT + "CentiM"
    peer = OxigraphStore(None)
    HANDLERS[MAPPED](peer, mapped)
    observes = list(
        peer.query(
            """SELECT ?p WHERE { GRAPH ?g { ?s <http://www.w3.org/ns/sosa/observes> ?p } }"""
        )
    )
    assert CF + "water_surface_height_above_reference_datum/" in {r["p"].value for r in observes}


async def test_the_node_setting_decides_for_devices_without_their_own(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    """`[ingest] implausible = "refuse"` refuses for every device that does not say
    otherwise; a device set to flag keeps flagging."""
    init_directory(tmp_path, name="Struckum", node_id="https://struckum.example/")
    with (tmp_path / "allmende.toml").open("a", encoding="utf-8") as config:
        config.write('\n[ingest]\nimplausible = "refuse"\n')
    node = Node.open(tmp_path)  # closed with the app, as in the village fixture
    secrets = await prepare_village(node)
    village = Village(node, await aiohttp_client(create_app(node)), secrets)
    for device in ("A840414121826B45", "A840414121826B46"):
        await register(village, device)
    shown = await remap(village, "a840414121826b46", {"implausible": "flag"})
    assert (shown["implausible"], shown["implausibleSetBy"]) == ("flag", "device")
    shown = await detail(village, "a840414121826b45")
    assert (shown["implausible"], shown["implausibleSetBy"]) == ("refuse", "node")
    for device, status in (("A840414121826B45", 422), ("A840414121826B46", 202)):
        cold = lht65_uplink(device, "cold", {"temperature": -300})
        answer = await post(village, "/ingest/ttn/uplink", cold)
        assert answer.status == status, await answer.text()
    back = await remap(village, "a840414121826b46", {"implausible": None})
    assert (back["implausible"], back["implausibleSetBy"]) == ("refuse", "node")
