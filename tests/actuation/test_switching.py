"""Pressing the button: the state machine, coalescing, proof, and the public record."""

from __future__ import annotations

import json

import pyoxigraph as ox
from sqlmodel import Session

from allmende.node.actuation.sosa import DATASET
from allmende.node.events.log import EventLog
from allmende.node.federation.sharing import shareable
from allmende.node.ingest.graphs import data_graph
from allmende.node.store import OxigraphStore
from tests.actuation.conftest import Lights


def dedup(states: list[str]) -> list[str]:
    """The states in the order first seen (a reason may change within one state)."""
    return list(dict.fromkeys(states))


async def test_a_press_goes_queued_sent_acked_confirmed_through_the_things_stack(
    lights: Lights,
) -> None:
    answer = await lights.press("dorfstrasse")
    assert answer.status == 202, await answer.text()
    body = await answer.json()
    assert body["message"]["de"] == "Licht wird eingeschaltet. Heute noch 1× möglich."
    states = await lights.states(body["id"])
    assert states[-1] == "confirmed"
    assert dedup(states) == ["requested", "queued", "sent", "acked", "confirmed"]
    await lights.settled()
    assert lights.tts.violations == []
    assert len(lights.tts.accepted) == 1
    downlink = lights.tts.accepted[0]["downlinks"][0]
    # on now, off after 900 s as delay task 1: the controller switches itself off
    assert downlink["frm_payload"] == "CAEB/zIBhAMBAA=="
    assert downlink["confirmed"] is True
    assert downlink["correlation_ids"] == [f"allmende:switching:{body['id']}"]
    assert lights.tts.requests[0]["path"].endswith("/devices/ws558-dorfstrasse/down/replace")
    assert lights.tts.requests[0]["headers"]["Authorization"] == f"Bearer {lights.tts.key}"
    segment = await (await lights.client.get("/actuation/segments/dorfstrasse")).json()
    assert segment["state"] == "on"


async def test_chirpstack_queue_txack_ack_and_status_uplink_confirm(lights: Lights) -> None:
    answer = await lights.press("kirchweg")
    assert answer.status == 202, await answer.text()
    switching = (await answer.json())["id"]
    states = await lights.states(switching)
    assert dedup(states) == ["requested", "queued", "sent", "acked", "confirmed"]
    await lights.settled()
    assert lights.chirpstack.violations == []
    [body] = lights.chirpstack.accepted
    assert body["flushQueue"] is True
    assert body["queueItem"]["fPort"] == 85
    assert body["queueItem"]["expiresAt"] == "2026-12-07T23:57:00Z"  # 00:45 CET + 12 min
    request = lights.chirpstack.requests[0]
    assert request["path"] == f"/api/devices/{lights.chirpstack.dev_eui}/queue"
    assert request["headers"]["Grpc-Metadata-Authorization"] == f"Bearer {lights.chirpstack.key}"
    row = lights.room.switching(switching)
    assert row is not None and row.reason == "Das Steuergerät meldet: Licht ist an."


async def test_second_press_extends_once_third_is_refused_with_the_reason(lights: Lights) -> None:
    first = await (await lights.press("dorfstrasse")).json()
    await lights.settled()
    second = await lights.press("dorfstrasse")
    assert second.status == 202
    body = await second.json()
    assert body["state"] == "coalesced"
    assert body["message"]["de"].startswith(
        "Das Licht ist schon an und bleibt 15 Minuten länger an."
    )
    await lights.settled()
    assert len(lights.tts.accepted) == 1  # no downlink for the second press
    third = await lights.press("dorfstrasse")
    assert third.status == 403
    problem = await third.json()
    assert problem["reason"]["de"] == "Heute nicht mehr möglich: höchstens 2× pro Nacht."
    # another resident's press in the same window only joins the pending extension
    other = await (await lights.press("dorfstrasse", "bernd")).json()
    assert other["state"] == "coalesced" and other["coalesced_into"] == first["id"]
    # shortly before the window ends, the one extension goes out: one downlink per window
    lights.clock.advance(900 - 30)
    await lights.room.sweep()
    await lights.settled()
    assert len(lights.tts.accepted) == 2
    segment = await (await lights.client.get("/actuation/segments/dorfstrasse")).json()
    assert segment["state"] == "on" and segment["extension_pending"] is False


async def test_every_switching_is_a_logged_event_with_a_pseudonym_and_a_public_actuation(
    lights: Lights,
) -> None:
    body = await (await lights.press("dorfstrasse", "anna")).json()
    await lights.states(body["id"])
    await lights.settled()
    events = [e for e in lights.events() if e["type"] == "de.allmende.actuation.switching"]
    assert [e["data"]["state"] for e in events][:1] == ["requested"]
    assert {e["data"]["state"] for e in events} >= {"requested", "queued", "sent", "acked"}
    people = {e["data"]["person"] for e in events}
    assert len(people) == 1 and "anna" not in json.dumps(events)
    lights.node.project()
    graph = data_graph(lights.node.base_url, DATASET)
    query = f"""PREFIX sosa: <http://www.w3.org/ns/sosa/>
        SELECT ?a ?actuator ?p WHERE {{ GRAPH <{graph}> {{
          ?a a sosa:Actuation ; sosa:madeByActuator ?actuator ; sosa:actsOnProperty ?p .
          ?actuator a sosa:Actuator }} }}"""
    store = lights.node.store
    assert isinstance(store, OxigraphStore)
    solutions = store.raw.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    rows = list(solutions)
    assert len(rows) == 1
    assert rows[0]["actuator"] == ox.NamedNode(
        f"{lights.node.base_url}/actuators/ws558-dorfstrasse"
    )
    dump = store.raw.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph)) or b""
    assert b"anna" not in dump and events[0]["data"]["person"].encode() not in dump
    catalog = await lights.client.get(f"/datasets/{DATASET}", headers={"Accept": "text/turtle"})
    assert catalog.status == 200
    assert "Straßenbeleuchtung nach Bedarf" in await catalog.text()
    # poolable: the actuations leave with the federation like observations; the
    # switching events with their pseudonyms never do
    with Session(lights.node.engine) as session:
        shared = shareable(session, EventLog.read(session, 0, 10_000))
    kinds = {(s.event["type"], s.event.get("subject")) for s in shared}
    assert ("de.allmende.observations.recorded", DATASET) in kinds
    assert not any(kind.startswith("de.allmende.actuation") for kind, _ in kinds)
    energy = await (await lights.client.get("/actuation/energy")).json()
    [month] = energy["months"]
    assert month["month"] == "2026-12" and month["on_demand_wh"] == 120.0  # 480 W for 15 min
    assert month["all_night_wh"] > 100 * month["on_demand_wh"]


async def test_confirmation_needs_the_relay_on(lights: Lights) -> None:
    lights.tts.behaviour.uplink = False
    body = await (await lights.press("dorfstrasse")).json()
    await lights.settled()
    assert await lights.state(body["id"]) == "acked"
    off = lights.tts.uplink(bytes.fromhex("08310100"))
    answer = await lights.client.post(
        "/actuation/ttn/uplink", json=off, headers=lights.tts.headers()
    )
    assert answer.status == 200
    assert await lights.state(body["id"]) == "acked"
    on = lights.tts.uplink(bytes.fromhex("08310101"))
    await lights.client.post("/actuation/ttn/uplink", json=on, headers=lights.tts.headers())
    assert await lights.state(body["id"]) == "confirmed"
