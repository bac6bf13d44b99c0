"""Three villages federating over the embedded HTTP feed: catalog, pooled data, refusals."""

from __future__ import annotations

import copy
import html
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import Session

from allmende.node.events import new_event
from allmende.node.events.log import EventLog, SignedEvent
from allmende.node.events.signing import sign_event
from allmende.node.federation.inbox import Inbox
from allmende.node.keys import generate_key
from tests.federation.villages import (
    OBSERVATION,
    eventually,
    federated,
    federation,
    listed,
    seed,
    send_uplinks,
)

pytestmark = [
    pytest.mark.stores("embedded", "oxigraph", "fuseki"),
    pytest.mark.usefixtures("store_backend"),
]


async def test_villages_pool_open_data_and_keep_the_rest(tmp_path: Path) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await seed(session, running)
        assert (
            await send_uplinks(session, a, "raumklima", 6) == 6 * 3
        )  # temperature, humidity, battery
        assert await send_uplinks(session, a, "strassenlicht", 4) > 0
        open_graph, closed_graph = a.graph("raumklima"), a.graph("strassenlicht")
        expected = a.acknowledged["raumklima"]
        await a.node.projected()
        assert a.observations_in(open_graph) == expected

        everything = {(v.node.id, d["id"]) for v in villages for d in v.village.datasets()}
        for peer in (b, c):
            await eventually(
                lambda peer=peer: _catalog_is(session, peer, everything),
                what=f"every dataset of every village in {peer.village.name}'s catalog",
            )
            await eventually(
                lambda peer=peer: peer.observations_in(open_graph) == expected,
                what=f"Lütjenholm's open observations at {peer.village.name}",
            )
            assert peer.observations_in(closed_graph) == 0
            assert peer.events_from(a.node.id, "observations.recorded")[0] == a.events_from(
                a.node.id, "observations.recorded"
            )[0] - _recorded(a, "strassenlicht")

        # people see the region's datasets, with the village each comes from, and search them
        async with session.get(f"{b.url}/region", headers={"Accept": "text/html"}) as response:
            page = await response.text()
        for village in villages:
            assert village.village.name in page
            for dataset in village.village.datasets():
                assert html.escape(dataset["title"]["de"]) in page
        titles = [d["title"]["de"] for d in a.village.datasets()]
        async with session.get(f"{b.url}/region", params={"q": titles[0]}) as response:
            found = await response.text()
        assert html.escape(titles[0]) in found and found.count("<tr>") < page.count("<tr>")

        # one query spans the villages, and each reading names the village that signed it
        query = (
            "PREFIX prov: <http://www.w3.org/ns/prov#> "
            "SELECT ?origin (COUNT(DISTINCT ?o) AS ?n) WHERE { GRAPH ?g { "
            f"?o a <{OBSERVATION}> ; prov:wasDerivedFrom ?e . ?e prov:wasAttributedTo ?origin ; "
            "<https://w3id.org/allmende/ns#signature> ?sig } } GROUP BY ?origin"
        )
        async with session.get(
            f"{b.url}/sparql",
            params={"query": query},
            headers={"Accept": "application/sparql-results+json"},
        ) as response:
            rows = (await response.json())["results"]["bindings"]
        assert {(r["origin"]["value"], int(r["n"]["value"])) for r in rows} == {
            (a.node.id, expected)
        }

        # the console's numbers: when each peer was last heard of, and how far behind B reads
        await eventually(
            lambda: _caught_up(session, b, a.node.id), what="B has read all of A's feed"
        )

        hits = await federated(session, c, "Raumklima")
        assert {item["origin"] for item in hits["items"]} == {v.node.id for v in villages}

        # a retraction takes the dataset and its pooled readings out of every peer
        async with session.delete(f"{a.url}/admin/datasets/raumklima", headers=a.admin()) as r:
            assert r.status in (200, 204), await r.text()
        for peer in (b, c):
            await eventually(
                lambda peer=peer: _not_listed(session, peer, (a.node.id, "raumklima")),
                what="the retraction at the peers",
            )
            await eventually(
                lambda peer=peer: peer.observations_in(open_graph) == 0, what="pooled data dropped"
            )


def _recorded(running, dataset: str) -> int:  # type: ignore[no-untyped-def]
    with Session(running.node.engine) as session:
        return sum(
            1
            for s in EventLog.read(session, limit=100_000)
            if s.event["type"].endswith("observations.recorded") and s.event["subject"] == dataset
        )


async def _caught_up(session: aiohttp.ClientSession, peer, source: str) -> bool:  # type: ignore[no-untyped-def]
    async with session.get(f"{peer.url}/admin/federation", headers=peer.admin()) as r:
        status = await r.json()
    entry = next(p for p in status["peers"] if p["id"] == source)
    return entry["feed_lag"] == 0 and entry["last_event"] is not None


async def _catalog_is(session: aiohttp.ClientSession, peer, expected: set) -> bool:  # type: ignore[no-untyped-def]
    return listed(await federated(session, peer)) == expected


async def _not_listed(session: aiohttp.ClientSession, peer, entry: tuple[str, str]) -> bool:  # type: ignore[no-untyped-def]
    return entry not in listed(await federated(session, peer))


async def test_the_inbox_refuses_and_counts_what_it_cannot_trust(tmp_path: Path) -> None:
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, _c = villages
        for running in villages:
            await seed(session, running)
        await send_uplinks(session, a, "raumklima", 2)
        await eventually(lambda: b.observations_in(a.graph("raumklima")) == 6, what="pooled data")
        inbox: Inbox = b.app["federation_inbox"]
        with Session(a.node.engine) as s:
            valid = next(
                e
                for e in EventLog.read(s, limit=10_000)
                if e.event["type"].endswith("observations.recorded")
            )
        # b holds all that a and c have sent so far (CI once saw c's catalog arrive between
        # the two looks at b's store), so what changes after this is the refused events' doing
        for source in (a, _c):
            await eventually(
                lambda source=source: _caught_up(session, b, source.node.id),
                what="b caught up with its peers",
            )
        await b.node.projected()
        before_log = b.events_from(a.node.id)
        before_store = b.node.store.dump_nquads()

        tampered = copy.deepcopy(valid.event)
        tampered["data"]["content"] = tampered["data"]["content"].replace("2", "3", 1)
        unsigned = SignedEvent(copy.deepcopy(valid.event))
        stranger = generate_key(tmp_path / "stranger.pem")
        strange = new_event(
            "https://husum.example/",
            "observations.recorded",
            valid.event["data"],
            subject="raumklima",
        )
        outside = new_event(
            a.node.id,
            "observations.recorded",
            {**valid.event["data"], "graph": b.graph("raumklima")},
            subject="raumklima",
        )
        attempts = [
            (SignedEvent(tampered, valid.signature, valid.batch), "bad-signature"),
            (unsigned, "unsigned"),
            (SignedEvent(strange, sign_event(strange, stranger)), "unknown-signer"),
            (SignedEvent(outside, sign_event(outside, a.node.key)), "out-of-namespace"),
            (valid, "duplicate"),  # a replay of an event B holds already
        ]
        for signed, outcome in attempts:
            receipt = await inbox.receive([signed])
            assert receipt.counts == {outcome: 1}, (outcome, receipt.counts)
        await b.node.projected()
        assert b.events_from(a.node.id) == before_log
        assert b.node.store.dump_nquads() == before_store
        async with session.get(f"{b.url}/admin/federation", headers=b.admin()) as r:
            status = await r.json()
        counts = next(p for p in status["peers"] if p["id"] == a.node.id)["events"]
        assert counts["bad-signature"] == 1 and counts["out-of-namespace"] == 1
        assert counts["duplicate"] >= 1
        assert status["refused_from_unknown"] == {"unknown-signer": 1}
        async with session.get(f"{b.url}/metrics") as r:
            metrics = await r.text()
        line = f'allmende_federation_events_total{{outcome="bad-signature",peer="{a.node.id}"}} 1.0'
        assert line in metrics

        # a redelivered bundle that holds an event twice, beside one B holds already:
        # stored once, the other two counted as duplicates
        fresh = new_event(
            a.node.id, "observations.recorded", valid.event["data"], subject="raumklima"
        )
        twice = SignedEvent(fresh, sign_event(fresh, a.node.key))
        receipt = await inbox.receive([valid, twice, twice])
        assert receipt.counts == {"duplicate": 2, "accepted": 1}, receipt.counts
        rows, distinct = before_log
        assert b.events_from(a.node.id) == (rows + 1, distinct + 1)
        assert (await inbox.receive([twice])).counts == {"duplicate": 1}


async def test_peers_pinned_by_jwks_url_are_verified_with_the_keys_they_publish(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path, pin="jwks_url") as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        await seed(session, a)
        await send_uplinks(session, a, "parken", 3)
        expected = a.acknowledged["parken"]
        assert expected > 0
        for peer in (b, c):
            await eventually(
                lambda peer=peer: peer.observations_in(a.graph("parken")) == expected,
                what="data verified with fetched keys",
            )
            assert not any(
                outcome == "bad-signature"
                for (_peer, outcome) in peer.app["federation_inbox"].totals
            )
