"""Every public GET route x every dataset class: restricted data shows only to its agreement.

The routes come from the app's own route table, so a new GET route is covered without
anyone remembering it: a route missing from `ROUTES` fails the test until someone decides
what it shows. `/admin/*` is left out on purpose: it needs a console session or an admin
token, and the operator sees everything of their own village there.

Dataset classes, each with unique markers (a sensor name, a reading, coordinates with five
decimals as the pages print them), so every check is a plain substring test:

- open: open licence, public; shows to anyone (proves the routes really show data);
- restricted: closed licence and a purpose-bound policy; only with its agreement token;
- federation-only: open licence but access rights for a defined group, not the public;
  only with its agreement token, and never in the public federation feed;
- peer-pooled: a peer village's dataset that it shared while open and then closed; no
  agreement of ours can open it, so it never shows here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from allmende.node.catalog import service
from allmende.node.events.log import EventLog
from allmende.node.federation.inbox import Inbox
from allmende.node.federation.trust import TrustList, add_peer, checked_peer
from allmende.node.http.app import create_app
from allmende.node.ingest.graphs import data_graph, sensor_graph
from allmende.node.ingest.sources import new_secret
from allmende.node.runtime import Node
from allmende.node.usage.agreements import access_token, grant
from allmende.node.web.data import Village
from allmende.policies.templates import template_document
from tests.ingest.conftest import dataset_body, payload
from tests.support import admin_headers, make_node

OPEN, RESTRICTED, FEDERATION, PEER = "open", "restricted", "federation-only", "peer-pooled"
PARTNER = "https://uni-kiel.example/"


@dataclass(frozen=True)
class Marked:
    """A dataset of one class with one sensor and one reading nobody else has."""

    dataset: str
    device: str
    label: str
    value: str
    lat: str
    lon: str

    @property
    def markers(self) -> tuple[str, ...]:
        """Not the device id: an answer may echo the id a caller put into the URL."""
        return (self.label, self.value, self.lat, self.lon)


DATA = {
    OPEN: Marked(
        "offen-matrix", "70b3d57eda000001", "Offensensor-Matrix", "1357.75", "50.13579", "7.24683"
    ),
    RESTRICTED: Marked(
        "geheim-matrix", "70b3d57eda000002", "Geheimsensor-Zweck", "4711.25", "47.11223", "11.44557"
    ),
    FEDERATION: Marked(
        "verbund-matrix",
        "70b3d57eda000003",
        "Geheimsensor-Verbund",
        "5822.5",
        "48.22334",
        "12.55667",
    ),
    PEER: Marked(
        "nachbar-matrix",
        "70b3d57eda000004",
        "Geheimsensor-Nachbar",
        "6933.75",
        "49.33445",
        "13.66779",
    ),
}
HIDDEN = (RESTRICTED, FEDERATION, PEER)
"""Classes an anonymous caller must never see."""
OPENABLE = (RESTRICTED, FEDERATION)
"""Classes an agreement token of this village opens."""


@dataclass
class World:
    node: Node
    client: Any
    peer: Node
    tokens: dict[str, str]
    """class -> a valid agreement token for that class's dataset."""


async def _village_data(node: Node, client: Any, marked: Marked, secret: str) -> None:
    """A sensor with a label and place, one reading through the TTN webhook."""
    device = {
        "device": marked.device,
        "dataset": marked.dataset,
        "profile": "room-climate",
        "label": marked.label,
        "lat": float(marked.lat),
        "lon": float(marked.lon),
    }
    answer = await client.post("/admin/devices", json=device, headers=admin_headers(node))
    assert answer.status in (200, 201), await answer.text()
    uplink = payload("ttn-uplink-humidity.json")
    uplink["end_device_ids"]["dev_eui"] = marked.device
    uplink["end_device_ids"]["device_id"] = marked.device
    uplink["uplink_message"]["decoded_payload"]["humidity"] = float(marked.value)
    answer = await client.post(
        "/ingest/ttn", json=uplink, headers={"X-Allmende-Webhook-Secret": secret}
    )
    assert answer.status == 202, await answer.text()


async def _upload(node: Node, client: Any, marked: Marked) -> None:
    answer = await client.post(
        f"/admin/datasets/{marked.dataset}/distributions?file_name=werte.csv",
        data=f"zeit,feuchte\n2024-05-14T08:15:00Z,{marked.value}\n".encode(),
        headers={**admin_headers(node), "Content-Type": "text/csv"},
    )
    assert answer.status == 201, await answer.text()


async def build(tmp_path: Path, aiohttp_client: Any) -> World:
    node = make_node(tmp_path / "here", node_id="https://luetjenholm.example/")
    bodies = {
        OPEN: dataset_body(DATA[OPEN].dataset),
        RESTRICTED: {
            **dataset_body(DATA[RESTRICTED].dataset),
            "license": "other-closed",
            "policy": template_document("research-only", assigner=node.id),
        },
        FEDERATION: {**dataset_body(DATA[FEDERATION].dataset), "access_rights": "RESTRICTED"},
    }
    for body in bodies.values():
        await service.create(node, body)
    secret = new_secret(node, "ttn")  # before the app starts, which reads the secrets
    client = await aiohttp_client(create_app(node))
    for kind in (OPEN, RESTRICTED, FEDERATION):
        await _village_data(node, client, DATA[kind], secret)
        await _upload(node, client, DATA[kind])

    # A peer village shares an open dataset with a sensor and a reading, then closes it.
    peer = make_node(tmp_path / "peer", node_id="https://nachbar.example/", port=8719)
    await service.create(peer, dataset_body(DATA[PEER].dataset))
    peer_secret = new_secret(peer, "ttn")
    peer_client = await aiohttp_client(create_app(peer))
    await _village_data(peer, peer_client, DATA[PEER], peer_secret)
    closed = await service.update(peer, DATA[PEER].dataset, {"license": "other-closed"}, patch=True)
    assert closed.data["license"].endswith("other-closed"), closed.data
    await asyncio.to_thread(peer.project)
    with Session(peer.engine) as session:
        events = EventLog.read(session, after=0, limit=1000, local_only=True)
    body = {"id": peer.id, "name": "Nachbar", "base_url": peer.base_url, "jwk": peer.key.jwk()}
    add_peer(node.engine, checked_peer(body, node.id))
    inbox = Inbox(node, TrustList(node))
    passed, receipt = inbox.check(events)
    assert len(passed) == len(events), receipt.counts
    await asyncio.to_thread(inbox.store, passed, receipt)
    await asyncio.to_thread(node.project)

    def token(kind: str) -> str:
        purpose = "research" if kind == RESTRICTED else None
        return access_token(node, grant(node, DATA[kind].dataset, PARTNER, purpose=purpose))

    tokens = {kind: await asyncio.to_thread(token, kind) for kind in OPENABLE}
    return World(node, client, peer, tokens)


# -- the route table: what each public GET route shows, and how to fill its path -----------

SHOWS, NEVER, STATIC = "shows values", "never values", "static files"
"""SHOWS: readings, sensor names or places; hidden without the matching token, shown with
it. NEVER: descriptions only; no class's markers with or without a token. STATIC: files
shipped with the node."""

Filler = Callable[[World, str], list[str]]


def same(path: str) -> Filler:
    """A route whose URL does not depend on the class."""
    return lambda world, kind: [path]


def own(make: Callable[[World, Marked], list[str]]) -> Filler:
    """A route about one of this village's datasets (the peer's has no such route here)."""
    return lambda world, kind: [] if kind == PEER else make(world, DATA[kind])


def rdf_graphs(world: World, kind: str) -> list[str]:
    marked = DATA[kind]
    base = world.peer.base_url if kind == PEER else world.node.base_url
    graphs = [data_graph(base, marked.dataset), sensor_graph(base, marked.dataset, marked.device)]
    return [f"/rdf-graphs?graph={quote(g, safe='')}" for g in graphs]


def pooled_sensor(world: World, kind: str) -> list[str]:
    """A neighbour's sensor page: only the peer's sensor lives at the peer's address."""
    if kind != PEER:
        return []
    village = Village(world.peer.id, world.peer.base_url.rstrip("/"), "Nachbar")
    return [village.sensor_url(DATA[PEER].device)]


EVERYTHING = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"
ROUTES: dict[str, tuple[str, Filler]] = {
    "/": (SHOWS, same("/")),
    "/map": (SHOWS, same("/map")),
    "/map/sensors.geojson": (SHOWS, same("/map/sensors.geojson")),
    "/sensors/{device}": (SHOWS, lambda world, kind: [f"/sensors/{DATA[kind].device}"]),
    "/sensors/latest": (SHOWS, same("/sensors/latest")),
    "/villages/{village}/sensors/{device}": (SHOWS, pooled_sensor),
    "/datasets/{dataset}/observations": (
        SHOWS,
        own(
            lambda world, m: [
                f"/datasets/{m.dataset}/observations?sensor={m.device}"
                "&from=2000-01-01T00:00:00Z&limit=100"
            ]
        ),
    ),
    "/datasets/{dataset}/distributions/{distribution}/download": (
        SHOWS,
        own(lambda world, m: [f"/datasets/{m.dataset}/distributions/werte/download"]),
    ),
    "/sparql": (SHOWS, same("/sparql?query=" + quote(EVERYTHING))),
    "/rdf-graphs": (SHOWS, rdf_graphs),
    "/data": (NEVER, same("/data")),
    "/health": (NEVER, same("/health")),
    "/metrics": (NEVER, same("/metrics")),
    "/.well-known/jwks.json": (NEVER, same("/.well-known/jwks.json")),
    "/openapi.json": (NEVER, same("/openapi.json")),
    "/catalog": (NEVER, same("/catalog")),
    "/catalog/search": (NEVER, same("/catalog/search?q=matrix")),
    "/datasets/{dataset}": (NEVER, own(lambda world, m: [f"/datasets/{m.dataset}"])),
    "/datasets/{dataset}/distributions/{distribution}": (
        NEVER,
        own(lambda world, m: [f"/datasets/{m.dataset}/distributions/werte"]),
    ),
    "/services/{name}": (
        NEVER,
        own(lambda world, m: ["/services/sparql", f"/services/observations/{m.dataset}"]),
    ),
    "/usage": (NEVER, same("/usage?format=json")),
    "/.well-known/dspace-version": (NEVER, same("/.well-known/dspace-version")),
    "/.well-known/did.json": (NEVER, same("/.well-known/did.json")),
    "/.well-known/oauth-authorization-server": (
        NEVER,
        same("/.well-known/oauth-authorization-server"),
    ),
    "/oauth/authorize": (NEVER, same("/oauth/authorize?client_id=x")),
    "/oauth/register/{client_id}": (NEVER, same("/oauth/register/x")),
    "/apps": (NEVER, same("/apps")),
    "/apps/mine": (NEVER, same("/apps/mine")),
    "/dsp/catalog/datasets/{id}": (
        NEVER,
        own(lambda world, m: [f"/dsp/catalog/datasets/{m.dataset}"]),
    ),
    "/dsp/negotiations/{pid}": (NEVER, same("/dsp/negotiations/urn:uuid:0")),
    "/dsp/transfers/{pid}": (NEVER, same("/dsp/transfers/urn:uuid:0")),
    "/dsp/agreements/{id}": (NEVER, same("/dsp/agreements/urn:uuid:0")),
    "/dsp/consumer/negotiations/{pid}": (NEVER, same("/dsp/consumer/negotiations/urn:uuid:0")),
    "/dsp/consumer/transfers/{pid}": (NEVER, same("/dsp/consumer/transfers/urn:uuid:0")),
    "/federation/events": (NEVER, same("/federation/events?after=0")),
    "/federation/catalog": (NEVER, same("/federation/catalog")),
    "/federation/catalog/search": (NEVER, same("/federation/catalog/search?q=matrix")),
    "/region": (NEVER, same("/region")),
    "/open311/v2/discovery.{format}": (NEVER, same("/open311/v2/discovery.json")),
    "/open311/v2/services.{format}": (NEVER, same("/open311/v2/services.json")),
    "/open311/v2/services/{service_code}.{format}": (NEVER, same("/open311/v2/services/muell.xml")),
    "/open311/v2/requests.{format}": (NEVER, same("/open311/v2/requests.json")),
    "/open311/v2/requests/{service_request_id}.{format}": (
        NEVER,
        same("/open311/v2/requests/0.json"),
    ),
    "/open311/v2/tokens/{token}.{format}": (NEVER, same("/open311/v2/tokens/0.json")),
    "/open311/v2/servicerequestupdates.{format}": (
        NEVER,
        same("/open311/v2/servicerequestupdates.xml"),
    ),
    "/open311/v2/areas.{format}": (NEVER, same("/open311/v2/areas.json")),
    "/open311/v2/coverage.{format}": (NEVER, same("/open311/v2/coverage.json?lat=54.6&long=8.9")),
    "/reports/photos/{report}.jpg": (NEVER, same("/reports/photos/0.jpg")),
    "/federation/reports/{report}/photo": (NEVER, same("/federation/reports/0/photo")),
    "/melden": (NEVER, same("/melden")),
    "/meldungen": (NEVER, same("/meldungen")),
    "/meldungen/karte.geojson": (NEVER, same("/meldungen/karte.geojson")),
    "/meldungen/status/{token}": (NEVER, same("/meldungen/status/0")),
    "/actuation/segments": (NEVER, same("/actuation/segments")),
    "/actuation/segments/{segment}": (NEVER, same("/actuation/segments/dorfstrasse")),
    "/actuation/switchings/{switching}": (NEVER, same("/actuation/switchings/0")),
    "/actuation/switchings/{switching}/events": (NEVER, same("/actuation/switchings/0/events")),
    "/actuation/policy": (NEVER, same("/actuation/policy")),
    "/actuation/energy": (NEVER, same("/actuation/energy")),
    "/licht": (NEVER, same("/licht")),
    "/licht/schaltungen/{switching}": (NEVER, same("/licht/schaltungen/0")),
    "/static": (STATIC, same("")),
}


def public_get_routes(world: World) -> set[str]:
    found = set()
    for route in world.client.server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "GET" and not path.startswith("/admin"):
            found.add(path)
    return found


def test_every_public_get_route_is_classified(tmp_path: Path) -> None:
    """A new public GET route fails here until its row in ROUTES says what it shows."""
    node = make_node(tmp_path)
    app = create_app(node)
    paths = {
        r.resource.canonical
        for r in app.router.routes()
        if r.method == "GET"
        and r.resource is not None
        and not r.resource.canonical.startswith("/admin")
    }
    assert paths - ROUTES.keys() == set(), "decide what these routes show in ROUTES"
    assert ROUTES.keys() - paths == set(), "these ROUTES rows name routes that are gone"


def _found(text: str, kind: str) -> list[str]:
    return [marker for marker in DATA[kind].markers if marker in text]


async def test_restricted_data_shows_only_with_its_agreement(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    world = await build(tmp_path, aiohttp_client)
    # the peer's reading did arrive here: hiding it is the routes' doing
    held = world.node.store.query(
        "ASK { GRAPH ?g { ?o <http://www.w3.org/ns/sosa/hasSimpleResult> ?v "
        f'FILTER(STR(?v) = "{DATA[PEER].value}") }} }}'
    )
    assert bool(held)
    callers: dict[str, str | None] = {"anonymous": None, **world.tokens}
    leaks: list[str] = []
    missing: list[str] = []
    unfilled: list[str] = []
    for path in sorted(public_get_routes(world)):
        route_kind, fill = ROUTES[path]
        if route_kind == STATIC:
            continue
        urls: dict[str, set[str]] = {}  # url -> the classes it is about
        for kind in DATA:
            for url in fill(world, kind):
                urls.setdefault(url, set()).add(kind)
        if not urls:
            unfilled.append(path)
            continue
        for caller, token in callers.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            shown: set[str] = set()  # classes whose data showed at a URL about them
            for url, about in urls.items():
                response = await world.client.get(url, headers=headers)
                text = await response.text()
                assert response.status < 500, f"GET {url} as {caller}: {text[:300]}"
                for kind in DATA:
                    hit = _found(text, kind)
                    if hit and kind in about:
                        shown.add(kind)
                    closed = kind != caller or route_kind == NEVER
                    if hit and kind in HIDDEN and closed:
                        leaks.append(f"GET {url} as {caller}: {kind} data {hit}")
            if route_kind != SHOWS:
                continue
            expected = {OPEN, caller} if caller in OPENABLE else {OPEN}
            for kind in expected - shown:
                if any(kind in about for about in urls.values()):
                    missing.append(f"{path} as {caller}: {kind} data not shown")
    assert unfilled == [], f"no URL to try for {unfilled}"
    assert leaks == [], "restricted data left the node:\n" + "\n".join(leaks)
    assert missing == [], "\n".join(missing)
