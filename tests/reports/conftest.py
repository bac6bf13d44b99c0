"""A village serving its Mängelmelder on a loopback port, with categories, an app's API key
and its (sample) boundary, set up through the admin API as an operator would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from allmende.node.http.app import create_app
from allmende.node.reports.samples import sample_feature
from allmende.node.runtime import Node
from tests.services.ports import free_port
from tests.support import admin_headers, make_node

CATEGORIES: list[dict[str, Any]] = [
    {
        "code": "muell",
        "name": "Müll",
        "name_en": "Rubbish",
        "group": "Sauberkeit",
        "keywords": "Müll,Abfall,Sperrmüll",
        "department": "Bauhof",
        "contact": "bauhof@luetjenholm.example",
        "attributes": [
            {
                "code": "menge",
                "datatype": "singlevaluelist",
                "required": True,
                "description": "Wie viel liegt dort?",
                "values": [
                    {"key": "wenig", "name": "ein Beutel"},
                    {"key": "viel", "name": "mehr als ein Beutel"},
                ],
            }
        ],
    },
    {"code": "vandalismus", "name": "Vandalismus", "department": "Ordnungsamt"},
    {
        "code": "strassenlicht",
        "name": "Straßenbeleuchtung defekt",
        "department": "Bauhof",
        "link": "/actuation/segments",
    },
]
INSIDE = (54.6467, 8.9656)  # Lütjenholm's demo spot, inside its sample boundary
OUTSIDE = (54.30, 10.13)  # Kiel: no village of the federation


@dataclass
class Served:
    node: Node
    url: str
    api_key: str
    admin: dict[str, str]

    @property
    def open311(self) -> str:
        return f"{self.url}/open311/v2"


async def reporting_village(tmp_path: Path, aiohttp_client: Any) -> tuple[Node, Any]:
    """Lütjenholm with the categories and its sample boundary, behind a test client."""
    node = make_node(tmp_path / "luetjenholm", node_id="https://luetjenholm.example/")
    client = await aiohttp_client(create_app(node))
    admin = admin_headers(node)
    for category in CATEGORIES:
        created = await client.post("/admin/reports/categories", json=category, headers=admin)
        assert created.status == 201, await created.text()
    boundary = await client.put(
        "/admin/reports/boundary",
        params={"sample": "true"},
        json=sample_feature("luetjenholm", "Lütjenholm"),
        headers=admin,
    )
    assert boundary.status == 200, await boundary.text()
    return node, client


async def configure(session: aiohttp.ClientSession, url: str, admin: dict[str, str]) -> str:
    """Categories, the sample boundary and an app's key, as the operator sets them up."""
    for category in CATEGORIES:
        async with session.post(
            f"{url}/admin/reports/categories", json=category, headers=admin
        ) as r:
            assert r.status in (200, 201), await r.text()
    async with session.put(
        f"{url}/admin/reports/boundary",
        params={"sample": "true"},
        json=sample_feature("luetjenholm", "Lütjenholm"),
        headers=admin,
    ) as r:
        assert r.status == 200, await r.text()
    async with session.post(
        f"{url}/admin/reports/clients", json={"name": "Meldeapp"}, headers=admin
    ) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["api_key"])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    port = free_port()
    node = make_node(tmp_path / "luetjenholm", port=port)
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    admin = admin_headers(node)
    try:
        async with aiohttp.ClientSession() as session:
            key = await configure(session, url, admin)
        yield Served(node, url, key, admin)
    finally:
        await runner.cleanup()
