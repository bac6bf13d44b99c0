"""The device library against the vendors' own decoders: the uplink examples each vendor
published with its decoder in The Things Stack's device repository
(github.com/TheThingsNetwork/lorawan-devices, `vendor/<brand>/<model>-codec.yaml`; bytes
and decoded values cited as facts). A device that The Things Stack decodes with that
decoder sends these field names, so every reading among them must be a field of the
model, and the node must store it as sent; where our codec emits the same name, it must
decode the vendor's bytes to the vendor's value.

Fields checked this way: Dragino LHT65, LSE01, LGT-92; Browan TBHV110, TBMS100; Milesight
EM300-TH, AM103, EM300-DI, EM400-MUD, VS121, WS558, WS101, WS301; Elsys ERS CO2; Netvox
R718AB, R311A; Decentlab DL-SHT35, DL-MBX; Nwave NPS405; Tektelic COMFORT; Adeunis
COMFORT 2.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from allmende.connectors.codecs import Codec, CodecRunner
from allmende.connectors.model import parse_time
from allmende.node.ingest.registry import Registry, register
from allmende.vocab.devices import codec_source, field_specs
from tests.ingest.conftest import Village, dataset_body, payload
from tests.ingest.test_raw_payloads import latest

REPO = "https://github.com/TheThingsNetwork/lorawan-devices/blob/master/vendor/"
RUNNER = CodecRunner()

# model, fPort, bytes (hex), the vendor decoder's output, the readings among it
CASES: list[tuple[str, int, str, dict[str, Any], list[str]]] = [
    (  # dragino/lht65-codec.yaml
        "dragino-lht65",
        2,
        "CBF60B0D0376010ADD7FFF",
        {
            "BatV": 3.062,
            "Bat_status": 3,
            "Ext_sensor": "Temperature Sensor",
            "Hum_SHT": 88.6,
            "TempC_DS": 27.81,
            "TempC_SHT": 28.29,
        },
        ["BatV", "Hum_SHT", "TempC_DS", "TempC_SHT"],
    ),
    (  # dragino/lse01-codec.yaml: three readings as text, as the decoder sends them
        "dragino-lse01",
        2,
        "CE2900F107A5099B6E2890",
        {
            "Bat": 3.625,
            "TempC_DS18B20": "24.1",
            "conduct_SOIL": 28200,
            "temp_SOIL": "24.59",
            "water_SOIL": "19.57",
        },
        ["Bat", "TempC_DS18B20", "conduct_SOIL", "temp_SOIL", "water_SOIL"],
    ),
    (  # dragino/lgt92-codec.yaml
        "dragino-lgt92",
        2,
        "015A785406CF33D80D2060004B019000",
        {
            "ALARM_status": "FALSE",
            "altitude": 0,
            "BatV": 3.36,
            "FW": 160,
            "LON": "ON",
            "latitude": 22.70626,
            "longitude": 114.24252,
            "MD": "Disable",
            "Pitch": 4,
            "Roll": 0.75,
            "hdop": 0,
        },
        ["ALARM_status", "BatV", "latitude", "longitude"],
    ),
    (  # browan/tbhv110-codec.yaml
        "browan-tbhv110",
        103,
        "610B351EBF030100510036",
        {
            "battery": 3.6,
            "eco2": 959,
            "humidity": 30,
            "iaq": 81,
            "iaqChanged": 1,
            "status": 1,
            "tempHumidChanged": 0,
            "temperature": 22,
            "temperatureBoard": 21,
            "voc": 1,
        },
        ["battery", "eco2", "humidity", "iaq", "temperature", "temperatureBoard", "voc"],
    ),
    (  # browan/tbms100-codec.yaml
        "browan-tbms100",
        102,
        "01BB340400DC7801",
        {"battery": 3.6, "count": 96476, "status": 1, "temperatureBoard": 20, "time": 4},
        ["battery", "count", "status", "temperatureBoard", "time"],
    ),
    (  # milesight-iot/em300-th-codec.yaml
        "milesight-em300-th",
        1,
        "01753203 67C800 04683C".replace(" ", ""),
        {"battery": 50, "temperature": 20.0, "humidity": 30.0},
        ["battery", "temperature", "humidity"],
    ),
    (  # milesight-iot/am103-codec.yaml
        "milesight-am103",
        85,
        "01755C036734010468650 77DE704".replace(" ", ""),
        {"battery": 92, "temperature": 30.8, "humidity": 50.5, "co2": 1255},
        ["battery", "temperature", "humidity", "co2"],
    ),
    (  # milesight-iot/em300-di-codec.yaml
        "milesight-em300-di",
        85,
        "01755C05C800010000",
        {"battery": 92, "pulse": 256},
        ["battery", "pulse"],
    ),
    (  # milesight-iot/em400-mud-codec.yaml
        "milesight-em400-mud",
        85,
        "01755C0367010104824408050001",
        {"battery": 92, "temperature": 25.7, "distance": 2116, "position": "tilt"},
        ["battery", "temperature", "distance", "position"],
    ),
    (  # milesight-iot/vs121-codec.yaml: `regions` is a list, reported, not stored
        "milesight-vs121",
        85,
        "04C903030002",
        {
            "people_counter_all": 3,
            "region_count": 3,
            "regions": [
                {"count": 1, "index": 0},
                {"count": 1, "index": 1},
                {"count": 0, "index": 2},
            ],
        },
        ["people_counter_all"],
    ),
    (  # milesight-iot/ws558-codec.yaml (its decoder ws558.js names the power active_power)
        "milesight-ws558",
        85,
        "0374B208",
        {"voltage": 222.6},
        ["voltage"],
    ),
    (  # milesight-iot/ws101-codec.yaml
        "milesight-ws101",
        85,
        "FF2E01",
        {"button": "short"},
        ["button"],
    ),
    (  # milesight-iot/ws301-codec.yaml, both examples
        "milesight-ws301",
        85,
        "030001",
        {"door": "open"},
        ["door"],
    ),
    ("milesight-ws301", 85, "040001", {"install": "no"}, ["install"]),
    (  # elsys/ers-co2-codec.yaml
        "elsys-ers-co2",
        1,
        "0100E20229040027050606030 8".replace(" ", ""),
        {"temperature": 22.6, "humidity": 41, "light": 39, "motion": 6, "co2": 776},
        ["temperature", "humidity", "light", "motion", "co2"],
    ),
    (  # netvox/r718ab-codec.yaml, status report
        "netvox-r718ab",
        6,
        "01130124 09EA1A90000000".replace(" ", ""),
        {"Device": "R718AB", "Volt": 3.6, "Temp": 25.38, "Humi": 68},
        ["Volt", "Temp", "Humi"],
    ),
    (  # netvox/r311a-codec.yaml, status report
        "netvox-r311a",
        6,
        "0102011E010000000000 00".replace(" ", ""),
        {"Device": "R311A", "Volt": 3, "OnOff": 1},
        ["Volt", "OnOff"],
    ),
    (  # decentlab/dl-sht35-codec.yaml
        "decentlab-dl-sht35",
        1,
        "02030E000364A079B10C60",
        {
            "air_humidity": {
                "displayName": "Air humidity",
                "unit": "%",
                "value": 47.536430914778364,
            },
            "air_temperature": {
                "displayName": "Air temperature",
                "unit": "°C",
                "value": 23.787670710307466,
            },
            "battery_voltage": {"displayName": "Battery voltage", "unit": "V", "value": 3.168},
            "device_id": 782,
            "protocol_version": 2,
        },
        ["air_humidity.value", "air_temperature.value", "battery_voltage.value"],
    ),
    (  # nwave/nps405-codec.yaml, heartbeat
        "nwave-nps405",
        2,
        "00D3D800590B",
        {
            "type": "heartbeat",
            "occupied": False,
            "battery_voltage": 3.344,
            "temperature": -10,
            "battery_health": "normal",
            "hw_health_status": 0,
        },
        ["occupied", "battery_voltage", "temperature"],
    ),
    (  # tektelic/t00061xx-codec.yaml, temperature and humidity
        "tektelic-comfort",
        10,
        "0367012604683300BA0BD1",
        {
            "ambient_temperature": 29.4,
            "battery_voltage": 3.025,
            "port": "10",
            "raw": "[03, 67, 01, 26, 04, 68, 33, 00, BA, 0B, D1]",
            "relative_humidity": 25.5,
        },
        ["ambient_temperature", "battery_voltage", "relative_humidity"],
    ),
    (  # adeunis/comfort-codec.yaml: readings are lists of samples, newest first
        "adeunis-comfort2",
        1,
        "4C9600C51F00C72000C82100CA2200CC2300CD2414ABA3E9",
        {
            "bytes": {
                "type": "0x4c Comfort 2 data",
                "status": {
                    "frameCounter": 4,
                    "hardwareError": False,
                    "lowBattery": True,
                    "configurationDone": False,
                    "configurationInconsistency": False,
                    "timestamp": True,
                },
                "timestamp": "2023-12-28T19:22:17.000",
                "decodingInfo": "values: [t=0, t-1, t-2, ...]",
                "temperature": {"unit": "°C", "values": [19.7, 19.9, 20, 20.2, 20.4, 20.5]},
                "humidity": {"unit": "%", "values": [31, 32, 33, 34, 35, 36]},
            }
        },
        ["bytes.temperature.values", "bytes.humidity.values"],
    ),
]
IDS = [f"{c[0]}-{c[2][:8]}" for c in CASES]


def member(data: dict[str, Any], path: str) -> Any:
    """The reading at a dotted path; of a list of samples (newest first, as the decoders
    that send them say) the newest, which is the one stored."""
    for part in path.split("."):
        data = data[part]
    return data[0] if isinstance(data, list) else data


def same(stored: Any, sent: Any) -> bool:
    """A stored or decoded value against the vendor's: numbers as numbers."""
    if isinstance(sent, bool) or isinstance(stored, bool):
        return str(stored) == str(sent)
    try:
        return Decimal(str(stored)) == Decimal(str(sent))
    except ArithmeticError:
        return str(stored) == str(sent)


@pytest.mark.parametrize(("model", "port", "hexs", "vendor", "readings"), CASES, ids=IDS)
def test_the_vendors_field_names_are_fields_of_the_model(
    model: str, port: int, hexs: str, vendor: dict[str, Any], readings: list[str]
) -> None:
    missing = sorted(set(readings) - set(field_specs(model)))
    assert not missing, f"{model}: the vendor's decoder sends {missing}, the model lacks them"


@pytest.mark.parametrize(("model", "port", "hexs", "vendor", "readings"), CASES, ids=IDS)
def test_our_codec_decodes_the_vendors_example_alike(
    model: str, port: int, hexs: str, vendor: dict[str, Any], readings: list[str]
) -> None:
    source = codec_source(model)
    assert source is not None
    decoded = RUNNER.decode(
        Codec(model, source), bytes.fromhex(hexs), port, parse_time("2024-05-14T08:00:00Z")
    ).data
    shared = [r for r in readings if r.split(".")[0] in decoded]
    wrong = [
        (r, member(decoded, r), member(vendor, r))
        for r in shared
        if not same(member(decoded, r), member(vendor, r))
    ]
    assert not wrong, wrong


async def test_the_vendors_decoder_output_is_stored_as_sent(village: Village) -> None:
    """What The Things Stack posts when it decodes with the vendor's decoder."""
    from allmende.node.catalog import service

    await service.create(village.node, dataset_body("herstellerbeispiele"))
    registry = Registry(village.node)
    wrong = []
    for number, (model, port, _hexs, vendor, readings) in enumerate(CASES):
        device = f"a0b1c2d3e4f5{number:04x}"
        body = {"device": device, "dataset": "herstellerbeispiele", "profile": model}
        await register(village.node, registry, body)
        message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
        message["end_device_ids"]["dev_eui"] = device.upper()
        message["end_device_ids"]["device_id"] = f"vendor-example-{number}"
        message["uplink_message"]["f_port"] = port
        message["uplink_message"]["decoded_payload"] = vendor
        response = await village.client.post(
            "/ingest/ttn/uplink", json=message, headers=village.headers()
        )
        answer = await response.json(content_type=None)
        if response.status != 202:
            wrong.append(f"{model}: {response.status} {answer}")
            continue
        stored = latest(village, device)
        for reading in readings:
            if reading not in stored or not same(stored[reading], member(vendor, reading)):
                wrong.append(
                    f"{model} {reading}: {stored.get(reading)!r} != {member(vendor, reading)!r}"
                )
    assert not wrong, "\n".join(wrong)
