"""Fixtures of the catalog tests: a real node and its HTTP app, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from tests.federation.villages import JSON_ACCEPT, Running, eventually, federation, seed
from tests.support import make_node


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path / "node")


@pytest.fixture
async def client(aiohttp_client: Any, node: Node) -> Any:
    return await aiohttp_client(create_app(node, close_node=True))


@pytest.fixture
async def villages(tmp_path: Path) -> AsyncIterator[list[Running]]:
    """Three seeded demo villages; every village's federated catalog lists all nine datasets."""
    async with federation(tmp_path) as placed, aiohttp.ClientSession() as session:
        for running in placed:
            await seed(session, running)

        async def pooled() -> bool:
            totals = []
            for running in placed:
                url = f"{running.url}/federation/catalog"
                async with session.get(url, headers=JSON_ACCEPT) as response:
                    totals.append((await response.json())["total"])
            return totals == [9] * len(placed)

        await eventually(pooled, 60, "nine datasets in every village's federated catalog")
        yield placed
