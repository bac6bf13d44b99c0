"""The node on a remote SPARQL store (Oxigraph server, Apache Jena Fuseki): a page of
events is stored with its checkpoint or not at all, so nothing is doubled when the store
went away or its answer was lost; `allmende reindex` rebuilds the store from the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pyoxigraph as ox
import pytest
from aiohttp import web

from allmende.node.http.app import create_app
from allmende.node.reindex import rebuild_store
from allmende.node.runtime import Node
from allmende.node.store.base import CHECKPOINT
from allmende.node.store.remote import CheckpointMoved, RemoteStore, split_credentials
from tests import support
from tests.catalog.samples import air, budget, publish, upload
from tests.services.sparql_stores import OxigraphServer
from tests.sparql.conftest import put_graph
from tests.support import make_node

G1 = "http://example.org/graphs/one"
G2 = "http://example.org/graphs/two"
WITH_BLANKS = """@prefix ex: <http://example.org/> .
ex:pond ex:measured [ ex:depth 3 ; ex:at "2024-05-01" ], [ ex:depth 4 ] ."""


def canonical(nquads: bytes) -> set[str]:
    """Quads with blank nodes labelled canonically (RDFC-1.0): two stores that hold the
    same data compare equal, whatever labels each server gave its blank nodes."""
    dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {str(quad) for quad in dataset}


def extended(node: Node, graph: str, turtle: str) -> dict[str, Any]:
    """A graph.extended event, as `allmende load` and the Graph Store Protocol's POST write."""
    triples = list(ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE))
    content = ox.serialize(
        [ox.Triple(q.subject, q.predicate, q.object) for q in triples],
        format=ox.RdfFormat.N_TRIPLES,
    )
    data = {"graph": graph, "format": "application/n-triples", "content": (content or b"").decode()}
    return node.event("graph.extended", data, subject=graph)


@pytest.mark.stores("oxigraph", "fuseki")
async def test_reindex_rebuilds_the_remote_store_from_the_event_log(
    tmp_path: Path, aiohttp_client: Any, store_backend: str
) -> None:
    node = make_node(tmp_path / "node")
    assert isinstance(node.store, RemoteStore)
    client = await aiohttp_client(create_app(node, close_node=True))
    for sample in (air, budget):
        await publish(client, node, sample(node))
    await upload(client, node, "luftqualitaet")
    await put_graph(client, node, G1, WITH_BLANKS)
    before = node.store.dump_nquads()
    assert b"_:" in before and G1.encode() in before
    graphs = node.store.graphs()
    await client.close()

    settings = node.settings
    spoiled = RemoteStore(settings.store.url)
    spoiled.update(f"DROP GRAPH <{G1}>; INSERT DATA {{ GRAPH <{G2}> {{ <urn:x> <urn:y> 1 }} }}")
    assert canonical(spoiled.dump_nquads()) != canonical(before)

    applied, count = await asyncio.to_thread(rebuild_store, settings)
    assert applied > 0 and count == len(graphs)
    after = spoiled.dump_nquads()
    assert canonical(after) == canonical(before)
    assert len(after.splitlines()) == len(before.splitlines())
    spoiled.close()


async def test_a_store_that_was_away_gets_each_event_once(tmp_path: Path) -> None:
    server = OxigraphServer(location=tmp_path / "oxigraph")
    server.start()
    try:
        node = make_node(tmp_path / "node", environ={"ALLMENDE_STORE_URL": server.url})
        node.commit([extended(node, G1, WITH_BLANKS)])
        first = node.store.dump_nquads()
        assert len(first.splitlines()) == 5

        server.stop()
        with pytest.raises(ConnectionError):
            node.commit([extended(node, G2, WITH_BLANKS)])  # logged, not yet stored
        server.start()  # the same store on the same port
        assert node.project() == 1
        assert node.project() == 0
        dump = node.store.dump_nquads()
        assert len(dump.splitlines()) == 10, dump.decode()
        node.close()

        again = make_node(tmp_path / "node", environ={"ALLMENDE_STORE_URL": server.url})
        assert again.project() == 0  # a restarted node reads the checkpoint from the store
        assert again.store.dump_nquads() == dump
        again.close()
    finally:
        server.stop()


async def test_a_lost_answer_does_not_store_a_page_twice(tmp_path: Path) -> None:
    """The store committed the page, but its answer never reached the node: the node asks
    the store how far it is instead of sending the page again (its blank nodes would
    be new ones, so nothing else would tell the copies apart)."""
    lose = {"next": False}
    with OxigraphServer() as server:
        async with aiohttp.ClientSession() as session:

            async def forward(request: web.Request) -> web.Response:
                async with session.request(
                    request.method,
                    f"{server.url}{request.path_qs}",
                    data=await request.read(),
                    headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                ) as answer:
                    body = await answer.read()
                    status, kind = answer.status, answer.content_type
                if request.path == "/update" and lose["next"]:
                    lose["next"] = False
                    raise web.HTTPBadGateway  # stored, yet the node hears a failure
                return web.Response(body=body, status=status, content_type=kind)

            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", forward)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            try:
                url = f"http://127.0.0.1:{port}"
                node = make_node(tmp_path / "node", environ={"ALLMENDE_STORE_URL": url})
                await asyncio.to_thread(node.commit, [extended(node, G1, WITH_BLANKS)])
                lose["next"] = True
                with pytest.raises(ConnectionError):
                    await asyncio.to_thread(node.commit, [extended(node, G2, WITH_BLANKS)])
                assert await asyncio.to_thread(node.project) == 0
                dump = await asyncio.to_thread(node.store.dump_nquads)
                assert len(dump.splitlines()) == 10, dump.decode()
                await asyncio.to_thread(node.close)
            finally:
                await runner.cleanup()


def test_credentials_in_the_url_go_to_basic_auth_and_nowhere_else() -> None:
    bare, auth = split_credentials("http://admin:s%40cret@127.0.0.1:3030/allmende/")
    assert bare == "http://127.0.0.1:3030/allmende"
    assert auth == ("admin", "s@cret")
    store = RemoteStore("http://admin:s%40cret@127.0.0.1:1/allmende")
    try:
        with pytest.raises(ConnectionError) as refused:
            store.graphs()
        assert "cret" not in str(refused.value) and "admin" not in str(refused.value)
        assert "cret" not in repr(store)
    finally:
        store.close()


@pytest.mark.stores("oxigraph", "fuseki")
def test_a_page_another_process_stored_already_changes_nothing(
    tmp_path: Path, store_backend: str
) -> None:
    """Two processes on one store (a new leader, or a node that did not hear the store's
    answer), each having read the same checkpoint: the second sending of a page finds the
    store moved on and adds nothing, blank nodes included; a page built on a checkpoint
    the store has left is refused whole."""
    url = support.REMOTE_STORE[-1](tmp_path / "shared")
    first, second = RemoteStore(url), RemoteStore(url)
    try:
        assert first.get_meta(CHECKPOINT) is None and second.get_meta(CHECKPOINT) is None
        page = list(ox.parse(WITH_BLANKS.encode(), format=ox.RdfFormat.TURTLE))
        for store in (first, second):
            store.drop_graph(G1)
            store.add_quads(
                ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(G1)) for q in page
            )
            store.set_meta(CHECKPOINT, "1")
        assert len(first.dump_nquads().splitlines()) == 5

        second.add_quads(
            [
                ox.Quad(
                    ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.BlankNode(), ox.NamedNode(G2)
                )
            ]
        )
        second.set_meta(CHECKPOINT, "2")
        first.add_quads(
            [
                ox.Quad(
                    ox.NamedNode("urn:c"), ox.NamedNode("urn:d"), ox.BlankNode(), ox.NamedNode(G2)
                )
            ]
        )
        with pytest.raises(CheckpointMoved):
            first.set_meta(CHECKPOINT, "3")  # events 2-3 read after "1": the store is at "2"
        dump = second.dump_nquads()
        assert len(dump.splitlines()) == 6 and b"urn:c" not in dump
        assert first.get_meta(CHECKPOINT) == "2"  # read back: the next catch-up starts there
    finally:
        first.close()
        second.close()
