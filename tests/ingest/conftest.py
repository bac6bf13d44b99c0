"""A village node with datasets and registered sample devices, served in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from allmende.node.catalog import service
from allmende.node.http.app import create_app
from allmende.node.ingest.registry import Registry, register
from allmende.node.ingest.sources import new_secret
from allmende.node.runtime import Node
from tests.support import make_node

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
DEVICES = [
    ("70B3D57ED00AB001", "raumklima-dgh", "room-climate", 54.6461, 8.9656),
    ("70B3D57ED00AB103", "parken-dorfplatz", "parking-occupancy", 54.6458, 8.9661),
    ("0004a30b00e1c0de", "bodenfeuchte", "soil-moisture", 54.6470, 8.9602),
    ("sample-luetjenholm-leuchte-12", "strassenlicht", "street-light", 54.6450, 8.9640),
    ("sample-luetjenholm-pegel-01", "pegel-dorfteich", "water-level", 54.6440, 8.9630),
]


def dataset_body(dataset_id: str) -> dict[str, Any]:
    return {
        "id": dataset_id,
        "title": {"de": f"{dataset_id} (Beispieldaten)", "en": f"{dataset_id} (sample data)"},
        "description": {"de": "Beispieldaten für Tests.", "en": "Sample data for tests."},
        "license": "dl-de/by-2-0",
        "frequency": "15MIN",
        "themes": ["ENVI"],
        "contact": {"email": "daten@luetjenholm.example"},
    }


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


@dataclass
class Village:
    node: Node
    client: Any
    secrets: dict[str, str]

    def headers(self, source: str = "ttn") -> dict[str, str]:
        return {
            "X-Allmende-Webhook-Secret": self.secrets[source],
            "Content-Type": "application/json",
        }


async def prepare_village(node: Node) -> dict[str, str]:
    registry = Registry(node)
    for dataset_id in sorted({d[1] for d in DEVICES}):
        await service.create(node, dataset_body(dataset_id))
    for device, dataset_id, profile, lat, lon in DEVICES:
        await register(
            node,
            registry,
            {
                "device": device,
                "dataset": dataset_id,
                "profile": profile,
                "lat": lat,
                "lon": lon,
                "label": f"{device} (Beispiel)",
            },
        )
    return {
        source: new_secret(node, source) for source in ("ttn", "chirpstack", "observations", "csv")
    }


@pytest.fixture
async def village(tmp_path: Path, aiohttp_client: Any) -> Village:
    node = make_node(tmp_path, name="Lütjenholm", node_id="https://luetjenholm.example/")
    secrets = await prepare_village(node)
    client = await aiohttp_client(create_app(node))
    return Village(node, client, secrets)
