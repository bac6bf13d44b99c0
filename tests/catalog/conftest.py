"""Fixtures of the catalog tests: a real node and its HTTP app, on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.http.app import create_app
from node.runtime import Node
from tests.support import make_node


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path / "node")


@pytest.fixture
async def client(aiohttp_client: Any, node: Node) -> Any:
    return await aiohttp_client(create_app(node, close_node=True))
