"""The store is a projection of the log, and the CLI publishes the same way the API does."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from allmende.node.catalog.projection import PUBLISHED, project_description, project_retraction
from allmende.node.catalog.rdf import catalog_graph_iri, dataset_triples, to_quads
from allmende.node.cli import main
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from allmende.node.store import OxigraphStore
from tests.catalog.samples import air, budget, levels, publish, upload
from tests.support import admin_headers, make_node


async def test_reindex_rebuilds_exactly_the_same_catalog_graphs(client: Any, node: Node) -> None:
    for sample in (air, levels, budget):
        await publish(client, node, sample(node))
        await upload(client, node, sample(node)["id"])
    await client.delete("/admin/datasets/pegelstaende", headers=admin_headers(node))
    before = node.store.dump_nquads()
    assert catalog_graph_iri(node.base_url, "pegelstaende").encode() not in before

    fresh = Node(node.settings, node.key, store=OxigraphStore(node.settings.directory / "fresh"))
    try:
        fresh.project()
        after = fresh.store.dump_nquads()
        assert after.splitlines() == before.splitlines()
    finally:
        fresh.close()


async def test_handlers_are_idempotent_and_usable_for_a_peers_events(
    client: Any, node: Node
) -> None:
    published = await publish(client, node, budget(node))
    data = {**published, "base": "https://peer.example", "operator": "Nachbardorf"}
    store = OxigraphStore(None)
    event = {"type": PUBLISHED, "data": data}
    project_description(store, event)
    once = store.dump_nquads()
    project_description(store, event)
    assert store.dump_nquads() == once
    graph = "https://peer.example/graphs/catalog/haushalt-2024"
    assert store.graphs() == [graph]
    assert b"<https://peer.example/datasets/haushalt-2024>" in once
    # another graph name (a federation room's per-peer graph) from the same triples
    quads = to_quads(dataset_triples(data, complete=False), "https://here.example/peer-graph")
    assert {q.graph_name for q in quads} == {ox.NamedNode("https://here.example/peer-graph")}
    project_retraction(store, {"data": {"id": "haushalt-2024", "base": "https://peer.example"}})
    assert store.graphs() == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_cli_publishes_lists_and_retracts_on_a_stopped_node(tmp_path: Path) -> None:
    directory = tmp_path / "dorf"
    make_node(directory, port=free_port()).close()
    data_file = tmp_path / "messwerte.csv"
    data_file.write_bytes(b"zeit,wert\n2024-05-01,3\n")
    added = run(
        "dataset",
        "add",
        str(directory),
        "--title-de",
        "Bodenfeuchte Schulgarten",
        "--title-en",
        "Soil moisture",
        "--description-de",
        "Bodenfeuchte im Schulgarten, täglich.",
        "--keyword",
        "Boden",
        "--keyword",
        "en:soil",
        "--theme",
        "ENVI",
        "--theme",
        "EDUC",
        "--license",
        "dl-de/zero-2-0",
        "--frequency",
        "DAILY",
        "--contact-email",
        "schule@luetjenholm.example",
        "--temporal-start",
        "2024-04-01",
        "--bbox",
        "8.99,54.56,9.0,54.57",
        "--api",
        "sparql",
        "--policy-template",
        "open-data-attribution",
        "--file",
        str(data_file),
    )
    assert added.exit_code == 0, added.output
    assert "published bodenfeuchte-schulgarten" in added.output
    assert "file distribution messwerte" in added.output

    refused = run("dataset", "add", str(directory), "--title-de", "Ohne alles")
    assert refused.exit_code == 1
    assert "contact:" in refused.output and "license:" in refused.output

    updated = run(
        "dataset",
        "update",
        str(directory),
        "bodenfeuchte-schulgarten",
        "--frequency",
        "HOURLY",
        "--remove-distribution",
        "sparql",
        "--link",
        "https://schule.example/bodenfeuchte.csv",
    )
    assert updated.exit_code == 0, updated.output
    shown = run("dataset", "show", str(directory), "bodenfeuchte-schulgarten")
    description = json.loads(shown.output)["dataset"]
    assert description["frequency"].endswith("/HOURLY")
    assert [d["id"] for d in description["distributions"]] == ["messwerte", "csv"]
    assert description["policy"]["target"].endswith("/datasets/bodenfeuchte-schulgarten")

    listed = run("dataset", "list", str(directory), "--json")
    assert [item["id"] for item in json.loads(listed.output)] == ["bodenfeuchte-schulgarten"]
    assert run("dataset", "retract", str(directory), "bodenfeuchte-schulgarten").exit_code == 0
    assert "no datasets" in run("dataset", "list", str(directory)).output


async def test_cli_goes_through_the_api_of_a_running_node(tmp_path: Path) -> None:
    port = free_port()
    directory = tmp_path / "dorf"
    node = make_node(directory, port=port)
    server = TestServer(create_app(node), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        added = await asyncio.to_thread(
            run,
            "dataset",
            "add",
            str(directory),
            "--id",
            "laerm",
            "--title-de",
            "Lärm an der Hauptstraße",
            "--description-de",
            "Schallpegel",
            "--theme",
            "TRAN",
            "--license",
            "cc-by/4.0",
            "--frequency",
            "HOURLY",
            "--contact-url",
            "https://luetjenholm.example/laerm",
        )
        assert added.exit_code == 0, added.output
        listed = await asyncio.to_thread(run, "dataset", "list", str(directory))
        assert "laerm" in listed.output and "cc-by/4.0" in listed.output
        graphs = node.store.graphs()
        assert catalog_graph_iri(node.base_url, "laerm") in graphs
    finally:
        await server.close()
