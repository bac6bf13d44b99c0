"""A neighbour's pooled sensors have pages of their own and are counted apart.

Two villages: Lütjenholm with two sensors of its own, and its trusted neighbour
Nachbarsdorf, whose events (an open dataset with one sensor, a closed one with another)
reach Lütjenholm through the inbox as the feed would bring them. The open neighbour's
sensor gets a page here that names the village and its terms, the map links it there,
the home page counts it apart; the closed one shows nowhere.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from allmende.node.catalog import service
from allmende.node.events.log import EventLog
from allmende.node.federation.inbox import Inbox
from allmende.node.federation.trust import TrustList, add_peer, checked_peer
from allmende.node.http.app import create_app
from allmende.node.ingest.sources import new_secret
from allmende.node.runtime import Node
from tests.ingest.conftest import dataset_body, payload
from tests.support import admin_headers, make_node

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

NEIGHBOUR = "Nachbarsdorf"


@dataclass(frozen=True)
class Device:
    dataset: str
    device: str
    label: str
    value: str
    lat: float
    lon: float


OWN = [
    Device("raumklima-hier", "70b3d57eda00a001", "Raumklima Rathaus", "41.25", 54.64611, 8.96561),
    Device("raumklima-hier", "70b3d57eda00a002", "Raumklima Schule", "42.75", 54.64722, 8.96833),
]
POOLED = Device("pegel-nachbar", "70b3d57eda00b001", "Feuchte Nachbarteich", "87.5", 54.7, 9.1)
CLOSED = Device("geheim-nachbar", "70b3d57eda00b002", "Geheimfeuchte Nachbar", "66.25", 54.8, 9.2)


async def _sensor(node: Node, client: Any, device: Device, secret: str) -> None:
    """Register a device with a name and place, and send one reading from now."""
    body = {
        "device": device.device,
        "dataset": device.dataset,
        "profile": "room-climate",
        "label": device.label,
        "lat": device.lat,
        "lon": device.lon,
    }
    answer = await client.post("/admin/devices", json=body, headers=admin_headers(node))
    assert answer.status in (200, 201), await answer.text()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    uplink = json.loads(
        json.dumps(payload("ttn-uplink-humidity.json")).replace("2024-05-14T08:15", now)
    )
    uplink["end_device_ids"]["dev_eui"] = device.device
    uplink["end_device_ids"]["device_id"] = device.device
    uplink["uplink_message"]["decoded_payload"]["humidity"] = float(device.value)
    answer = await client.post(
        "/ingest/ttn", json=uplink, headers={"X-Allmende-Webhook-Secret": secret}
    )
    assert answer.status == 202, await answer.text()


async def two_villages(tmp_path: Path, aiohttp_client: Any) -> Any:
    """Lütjenholm's client, after Nachbarsdorf's events went through its inbox."""
    node = make_node(tmp_path / "here", node_id="https://luetjenholm.example/")
    await service.create(node, dataset_body("raumklima-hier"))
    secret = new_secret(node, "ttn")
    client = await aiohttp_client(create_app(node))
    for device in OWN:
        await _sensor(node, client, device, secret)

    peer = make_node(
        tmp_path / "peer", name=NEIGHBOUR, node_id="https://nachbarsdorf.example/", port=8719
    )
    await service.create(peer, dataset_body(POOLED.dataset))
    await service.create(peer, {**dataset_body(CLOSED.dataset), "license": "other-closed"})
    peer_secret = new_secret(peer, "ttn")
    peer_client = await aiohttp_client(create_app(peer))
    for device in (POOLED, CLOSED):
        await _sensor(peer, peer_client, device, peer_secret)
    await asyncio.to_thread(peer.project)
    with Session(peer.engine) as session:
        events = EventLog.read(session, after=0, limit=1000, local_only=True)
    body = {"id": peer.id, "name": NEIGHBOUR, "base_url": peer.base_url, "jwk": peer.key.jwk()}
    add_peer(node.engine, checked_peer(body, node.id))
    inbox = Inbox(node, TrustList(node))
    passed, receipt = inbox.check(events)
    assert len(passed) == len(events), receipt.counts
    await asyncio.to_thread(inbox.store, passed, receipt)
    await asyncio.to_thread(node.project)
    # the closed dataset's reading did arrive: hiding it is the pages' doing
    held = node.store.query(
        "ASK { GRAPH ?g { ?o <http://www.w3.org/ns/sosa/hasSimpleResult> ?v "
        f'FILTER(STR(?v) = "{CLOSED.value}") }} }}'
    )
    assert bool(held)
    return client


async def test_pooled_sensor_has_its_own_page_linked_from_the_map(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    client = await two_villages(tmp_path, aiohttp_client)
    collection = await (await client.get("/map/sensors.geojson")).json()
    features = {f["properties"]["name"]: f["properties"] for f in collection["features"]}
    assert set(features) == {d.label for d in OWN} | {POOLED.label}
    pooled = features[POOLED.label]
    assert pooled["village"] == NEIGHBOUR
    assert pooled["url"].startswith("/villages/") and pooled["url"].endswith(POOLED.device)
    for device in OWN:
        assert features[device.label]["village"] is None
        assert features[device.label]["url"] == f"/sensors/{device.device}"

    for language, words, place in (
        ("de", "Alle: offene Daten", "54,70000° N"),  # German decimal comma
        ("en", "Anyone: open data", "54.70000° N"),
    ):
        page = await client.get(pooled["url"], headers={"Accept-Language": language})
        text = await page.text()
        assert page.status == 200, text
        for expected in (POOLED.label, NEIGHBOUR, POOLED.value, words, place):
            assert expected in text, f"{expected!r} missing ({language})"
    chart = re.search(r'<script type="application/json" id="chart-points">(.*?)</script>', text)
    assert chart, "the page carries its chart's points"
    points = [p for s in json.loads(chart.group(1))["series"] for p in s["points"]]
    assert POOLED.value in [p["value"] for p in points]  # with the payload's other readings

    # the closed neighbour's sensor has no page, and every sensor link on the map answers
    closed = await client.get(pooled["url"].replace(POOLED.device, CLOSED.device))
    text = await closed.text()
    assert closed.status == 404 and CLOSED.label not in text and CLOSED.value not in text
    page = await (await client.get("/map")).text()
    assert CLOSED.label not in page
    links = set(re.findall(r'href="(/(?:sensors|villages)/[^"]+)"', page))
    assert pooled["url"] in links and len(links) == 3
    for link in links:
        assert (await client.get(link)).status == 200, link
    assert "Sensoren aus Nachbargemeinden" in page and "Sensoren von Lütjenholm" in page


async def test_home_counts_own_sensors_apart_from_the_neighbours(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    client = await two_villages(tmp_path, aiohttp_client)
    german = await (await client.get("/", headers={"Accept-Language": "de"})).text()
    assert "2 eigene Sensoren, 1 aus einer Nachbargemeinde" in german  # plural forms
    assert f"aus {NEIGHBOUR}" in german  # the neighbour's reading says whose it is
    english = await (await client.get("/", headers={"Accept-Language": "en"})).text()
    assert "2 own sensors, 1 from a neighbouring village" in english
    links = set(re.findall(r'href="(/(?:sensors|villages)/[^"]+)"', german))
    assert any(link.startswith("/villages/") for link in links)
    for link in links:
        assert (await client.get(link)).status == 200, link
    assert CLOSED.label not in german and CLOSED.value not in german
