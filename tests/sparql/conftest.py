"""A node with the SPARQL room on loopback, and helpers to load graphs and ask it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from tests.support import admin_headers, make_node

Client = Callable[..., Awaitable[tuple[Node, TestClient]]]


@pytest.fixture
def sparql_node(tmp_path: Path, aiohttp_client: Any, store_backend: str) -> Client:
    """Start a node app; keyword arguments become ALLMENDE_SPARQL_* settings. It runs on
    the stores its module's `stores` mark names (tests/conftest.py), else embedded."""

    async def start(**sparql: Any) -> tuple[Node, TestClient]:
        environ = {f"ALLMENDE_SPARQL_{k.upper()}": str(v) for k, v in sparql.items()}
        node = make_node(tmp_path / "node", environ=environ)
        client = await aiohttp_client(create_app(node, close_node=True))
        return node, client

    return start


async def put_graph(
    client: TestClient, node: Node, graph: str, turtle: str, media: str = "text/turtle"
) -> None:
    response = await client.put(
        "/rdf-graphs",
        params={"graph": graph} if graph else {"default": ""},
        data=turtle.encode(),
        headers={**admin_headers(node), "Content-Type": media},
    )
    assert response.status in (201, 204), await response.text()


async def select(client: TestClient, query: str, **params: str) -> list[dict[str, Any]]:
    response = await client.post(
        "/sparql",
        data={"query": query, **params},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    return [{k: v["value"] for k, v in row.items()} for row in body["results"]["bindings"]]


async def until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for a condition of the running node (a worker started, a query leased)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "the condition was not reached"
        await asyncio.sleep(0.01)
