"""The demo village as a visitor meets it: the street lights stay the municipality's.

One demo village (its datasets, sensors and simulated uplinks, seeded as `allmende demo`
seeds them) is asked anonymously on every public GET route without path parameters, and
on the street-light sensor's and dataset's own routes. The street light's name, place and
device id must appear nowhere; its dataset page states the real terms in German and English.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from allmende.node.demo.command import seed
from allmende.node.demo.simulator import uplink
from allmende.node.demo.villages import VILLAGES
from allmende.node.http.app import create_app
from tests.support import make_node

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

VILLAGE = VILLAGES[0]
LIGHT = next(s for s in VILLAGE.sensors() if s.dataset == "strassenlicht")
OPEN_SENSOR = next(s for s in VILLAGE.sensors() if s.dataset == "raumklima")
EVERYTHING = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"


def markers(sensor: Any) -> list[str]:
    """Name, device id and place, as pages print it (five decimals); the latitude alone, as
    the demo's street light shares its longitude with the village hall."""
    return [sensor.label, sensor.device_id, f"{sensor.lat:.5f}"]


async def demo_village(tmp_path: Path, aiohttp_client: Any) -> Any:
    node = make_node(tmp_path, name=VILLAGE.name, node_id=VILLAGE.node_id)
    client = await aiohttp_client(create_app(node))
    url = str(client.make_url("")).rstrip("/")
    secret = await seed(client.session, VILLAGE, tmp_path, url)
    rng = random.Random(7)
    for counter in range(3):
        for sensor in VILLAGE.sensors():
            answer = await client.post(
                "/ingest/ttn",
                json=uplink(sensor, counter, rng),
                headers={"X-Allmende-Webhook-Secret": secret},
            )
            assert answer.status == 202, await answer.text()
    await asyncio.to_thread(node.project)
    return client


async def test_anonymous_visitors_see_no_street_light(tmp_path: Path, aiohttp_client: Any) -> None:
    client = await demo_village(tmp_path, aiohttp_client)
    plain = [
        r.resource.canonical
        for r in client.server.app.router.routes()
        if r.method == "GET"
        and r.resource is not None
        and "{" not in r.resource.canonical
        and not r.resource.canonical.startswith(("/admin", "/static"))
    ]
    urls = [path for path in plain if path != "/sparql"] + [
        "/sparql?query=" + quote(EVERYTHING),
        f"/sensors/{LIGHT.device_id}",
        f"/datasets/strassenlicht/observations?sensor={LIGHT.device_id}",
        "/datasets/strassenlicht",
        "/federation/events?after=0",
    ]
    leaks = []
    for url in urls:
        response = await client.get(url)
        text = await response.text()
        assert response.status < 500, f"GET {url}: {text[:300]}"
        # the sensor's own routes echo the id they were asked for; nothing else may name it
        echoed = LIGHT.device_id in url
        for marker in markers(LIGHT):
            if marker in text and not (echoed and marker == LIGHT.device_id):
                leaks.append(f"GET {url}: {marker!r}")
    assert leaks == [], "the street light showed to an anonymous visitor:\n" + "\n".join(leaks)
    # the test sees what is there: the open room-climate sensor is on the map
    geojson = await (await client.get("/map/sensors.geojson")).text()
    assert OPEN_SENSOR.label in geojson and LIGHT.label not in geojson


async def test_the_street_light_page_states_its_terms(tmp_path: Path, aiohttp_client: Any) -> None:
    client = await demo_village(tmp_path, aiohttp_client)
    pages = {}
    for language in ("de", "en"):
        response = await client.get(
            "/datasets/strassenlicht", headers={"Accept": "text/html", "Accept-Language": language}
        )
        assert response.status == 200
        pages[language] = await response.text()
    for text in pages.values():
        assert "Keine besonderen Bedingungen" not in text and "No special conditions" not in text
    assert "Nur wer eine Vereinbarung mit" in pages["de"]
    assert "nur für: öffentliche Aufgabe" in pages["de"]
    assert "Verboten: weitergeben" in pages["de"]
    assert "Only holders of an agreement with" in pages["en"]
    assert "only for: public task" in pages["en"]
    assert "as long as the agreement holds" in pages["en"]
    open_page = await client.get(
        "/datasets/raumklima", headers={"Accept": "text/html", "Accept-Language": "en"}
    )
    assert "Anyone: open data" in await open_page.text()
