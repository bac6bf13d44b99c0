"""The console's device page: the newest payload with its unmapped fields, a form per field
filled with a suggestion, and what the forms change (the same signed mapping as the API)."""

from __future__ import annotations

import copy
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.ingest.conftest import Village, payload
from tests.web.test_sessions import csrf_of, sign_in

DEVICE = "a840414121826b3f"
UPLINKS = Path(__file__).resolve().parents[1] / "data" / "uplinks"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def uplink(decoded: dict[str, Any], when: str) -> Any:
    message = copy.deepcopy(payload("ttn-uplink-humidity.json"))
    message["end_device_ids"].update(dev_eui=DEVICE.upper(), device_id="lht65-saal")
    message["uplink_message"].pop("version_ids", None)
    message["uplink_message"]["decoded_payload"] = decoded
    message["uplink_message"]["received_at"] = when
    return message


async def test_the_device_page_shows_unmapped_fields_and_maps_them(village: Village) -> None:
    client = village.client
    await sign_in(client, village.node)
    await client.post(
        "/admin/console/devices",
        data={
            "csrf_token": csrf_of(await (await client.get("/admin/console/devices")).text()),
            "device": "A8-40-41-41-21-82-6B-3F",
            "dataset": "raumklima-dgh",
            "profile": "room-climate",
            "label": "Saal",
            "lat": "",
            "lon": "",
        },
        allow_redirects=False,
    )
    empty = await (await client.get(f"/admin/console/devices/{DEVICE}")).text()
    assert "Noch keine Nutzdaten empfangen." in html.unescape(empty)

    decoded = {"TempC_SHT": 2150, "BatV": 3.05, "BatP": 87}
    sent = await client.post(
        "/ingest/ttn/uplink",
        json=uplink(decoded, "2024-05-14T08:15:00Z"),
        headers=village.headers(),
    )
    assert sent.status == 422
    page = await client.get(f"/admin/console/devices/{DEVICE}?lang=en")
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    text = html.unescape(await page.text())
    assert text.count("unmapped – not stored") == 3
    # each unmapped field has a form, filled with a suggestion the operator confirms
    assert 'name="field" value="TempC_SHT"' in text
    assert 'name="property" list="property-names" maxlength="512" value="air_temperature"' in text
    assert 'name="unit" list="unit-codes" maxlength="512" value="PERCENT"' in text  # BatP 87

    csrf = csrf_of(text)
    form = {
        "csrf_token": csrf,
        "action": "map",
        "field": "TempC_SHT",
        "property": "air_temperature",
    }
    form.update(unit="DEG_C", datatype="decimal", feature="environment", scale="0,01")
    done = await client.post(f"/admin/console/devices/{DEVICE}", data=form, allow_redirects=False)
    assert done.status == 303, await done.text()
    wrong = {**form, "field": "BatP", "property": "battery_voltage", "unit": "PERCENT", "scale": ""}
    refused = await client.post(f"/admin/console/devices/{DEVICE}", data=wrong)
    assert refused.status == 422
    assert "battery voltage is measured in V, MilliV, not PERCENT" in html.unescape(
        await refused.text()
    )
    refuse = {"csrf_token": csrf, "action": "implausible", "implausible": "refuse"}
    assert (
        await client.post(f"/admin/console/devices/{DEVICE}", data=refuse, allow_redirects=False)
    ).status == 303

    again = await client.post(
        "/ingest/ttn/uplink",
        json=uplink({"TempC_SHT": 2150, "BatP": 87}, "2024-05-14T08:30:00Z"),
        headers=village.headers(),
    )
    assert again.status == 202, await again.text()
    shown = html.unescape(await (await client.get(f"/admin/console/devices/{DEVICE}")).text())
    # the property in words, its IRI beside it as code
    assert "Air temperature (°C) × 0.01" in shown
    assert "<code>http://vocab.nerc.ac.uk/standard_name/air_temperature/</code>" in shown
    assert 'value="refuse" checked' in shown
    # BatP, and BatV of the first message: listed until mapped, though not sent again
    assert shown.count("unmapped – not stored") == 2
    assert "<code>BatV</code></td><td><code>3.05</code>" in shown

    without = await client.post(
        f"/admin/console/devices/{DEVICE}", data={"action": "map", "field": "x"}
    )
    assert without.status in (400, 403)
    german = await (await client.get(f"/admin/console/devices/{DEVICE}?lang=de")).text()
    shown_de = visible_text(german)
    for words in ("Feld zuordnen", "Zuletzt empfangene Nutzdaten", "Unplausible Werte"):
        assert words in shown_de
    for english in ("Map a field", "Last payload received", "Save mapping", "unmapped"):
        assert english not in shown_de
    missing = await client.get("/admin/console/devices/0000000000000000")
    assert missing.status == 404


async def test_a_newcomer_registers_a_model_and_its_first_uplink_shows_right(
    village: Village,
) -> None:
    """Registered in the console by the DevEUI from the label and the model's name, a real
    LHT65 uplink (tests/data/uplinks) shows its values mapped on the device page, with no
    hand-written mapping; only the fields the model leaves out are offered for mapping."""
    capture = json.loads((UPLINKS / "01-tts-v3-decoded-lht65.json").read_text(encoding="utf-8"))
    client = village.client
    await sign_in(client, village.node)
    form = await (await client.get("/admin/console/devices")).text()
    registered = await client.post(
        "/admin/console/devices",
        data={
            "csrf_token": csrf_of(form),
            "device": "A8-40-41-00-00-5A-00-01",
            "dataset": "raumklima-dgh",
            "profile": "dragino-lht65",
            "label": "Keller",
            "lat": "",
            "lon": "",
        },
        allow_redirects=False,
    )
    assert registered.status == 303
    sent = await client.post(
        "/ingest/ttn/uplink", json=capture["message"], headers=village.headers()
    )
    assert sent.status == 202, await sent.text()
    assert (await sent.json())["accepted"] == 4
    page = html.unescape(
        await (await client.get("/admin/console/devices/a8404100005a0001?lang=en")).text()
    )
    for expected in capture["expected"]:
        start = page.index(f"<tr><td><code>{expected['field']}</code>")
        row = page[start : page.index("</tr>", start)]
        assert f"<code>{expected['value']}</code>" in row, row
        assert f"<code>{expected['property']}</code>" in row, row
    offered = set(re.findall(r'name="field" value="([^"]+)"', page))
    assert offered == {"Bat_status", "Ext_sensor", *(e["field"] for e in capture["expected"])}
    assert page.count("unmapped – not stored") == 2  # Bat_status, Ext_sensor
