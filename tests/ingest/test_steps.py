"""A batch bigger than one mapping step: the same triples, each uplink described once."""

from __future__ import annotations

import copy
from typing import Any

import pyoxigraph as ox
from sqlmodel import Session

from allmende.connectors import ttn
from allmende.node.events import EventLog
from allmende.node.ingest.graphs import data_graph
from allmende.node.ingest.intake import STEP, prepare
from allmende.node.ingest.projection import RECORDED
from tests.ingest.conftest import Village, payload
from tests.ingest.test_ingest_sources import post

UPLINKS = 45  # 138 readings: more than one step


def batch() -> list[dict[str, Any]]:
    """Distinct uplinks of the sample room-climate sensor. Three carry an unmapped field
    (firmware) and two an unknown device, in both steps; the first step ends inside an
    uplink unless the steps keep uplinks whole (4 + 4 + 3 * n readings never make 100)."""
    template = payload("ttn-uplink-humidity.json")
    uplinks = []
    for index in range(UPLINKS):
        uplink = copy.deepcopy(template)
        uplink["correlation_ids"][0] = f"as:up:01HXSTEP{index:018d}"
        uplink["uplink_message"]["f_cnt"] = index
        uplink["received_at"] = f"2024-05-14T08:{index // 60:02d}:{index % 60:02d}.000000Z"
        uplink["uplink_message"]["received_at"] = uplink["received_at"]
        if index not in (0, 1, 40):
            del uplink["uplink_message"]["decoded_payload"]["firmware"]
        if index in (2, 43):
            uplink["end_device_ids"]["dev_eui"] = "70B3D57ED0FFFFFF"
        uplinks.append(uplink)
    return uplinks


def triples(text: str) -> list[ox.Quad]:
    return list(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))


async def test_a_batch_mapped_in_steps_holds_what_one_go_would(village: Village) -> None:
    uplinks = batch()
    parsed = ttn.parse(uplinks)
    assert len(parsed.observations) > STEP
    registry = village.client.server.app["ingest"]["registry"]
    one_go, _accepted, _reported = prepare(village.node, registry, parsed, "ttn")

    status, body = await post(village, "/ingest/ttn", uplinks)

    assert status == 202, body
    assert body["accepted"] == 3 * (UPLINKS - 2)
    codes = sorted(r["code"] for r in body["reported"])
    assert codes == ["unknown-device", "unmapped-field"]  # once each, whichever step met them
    with Session(village.node.engine) as session:
        logged = [
            s.event
            for s in EventLog.read(session, after=0, limit=10_000)
            if s.event["type"] == RECORDED
        ]
    assert len(logged) == 1
    content = triples(logged[0]["data"]["content"])
    assert len(content) == len(set(content))  # no uplink described twice
    assert set(content) == set(triples(one_go[0]["data"]["content"]))
    village.node.project()
    graph = ox.NamedNode(data_graph(village.node.base_url, "raumklima-dgh"))
    expected = ox.Store()  # a store spells literals its own way: compare store with store
    expected.load(one_go[0]["data"]["content"].encode(), ox.RdfFormat.N_TRIPLES, to_graph=graph)
    assert set(village.node.store.raw.quads_for_pattern(None, None, None, graph)) == set(expected)
