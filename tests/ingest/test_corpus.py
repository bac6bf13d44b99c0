"""The corpus of real uplinks (tests/data/uplinks/): every capture is posted to the
node's webhook as its network server would, and every reading lands with the property,
number, unit and time the vendor's documentation gives.

The devices are registered the way a newcomer does it: DevEUI and device model, no
hand-written mapping. Raw captures carry only the payload bytes, so they also prove the
model's codec; decoded ones carry what the vendor's decoder emits.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from allmende.connectors.model import parse_time
from allmende.node.catalog import service
from allmende.node.http.app import create_app
from allmende.node.ingest.graphs import data_graph
from allmende.node.ingest.registry import Registry, register
from allmende.node.ingest.sources import new_secret
from tests.ingest.conftest import dataset_body
from tests.support import make_node

CORPUS = Path(__file__).resolve().parents[1] / "data" / "uplinks"
CAPTURES = sorted(CORPUS.glob("*.json"))
DATASET = "corpus-sensoren"
SOSA = "http://www.w3.org/ns/sosa/"
QUDT = "http://qudt.org/schema/qudt/"
READINGS = f"""
SELECT ?sensor ?property ?value ?unit ?time WHERE {{
  ?obs <{SOSA}madeBySensor> ?sensor ;
       <{SOSA}observedProperty> ?property ;
       <{SOSA}resultTime> ?time ;
       <{SOSA}hasSimpleResult> ?value .
  OPTIONAL {{ ?obs <{SOSA}hasResult>/<{QUDT}unit> ?unit }}
}}"""


def reading(literal: Any) -> Decimal | str:
    """A stored result as it compares with the documented one: numbers as numbers."""
    numeric = literal.datatype.value.endswith(("#decimal", "#integer", "#double"))
    return Decimal(literal.value) if numeric else str(literal.value)


def load(path: Path) -> dict[str, Any]:
    capture: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return capture


def test_the_corpus_covers_network_servers_models_and_both_kinds() -> None:
    captures = [load(path) for path in CAPTURES]
    assert len(captures) >= 30
    kinds = Counter((c["network_server"], c["kind"]) for c in captures)
    for server in ("tts-v3", "chirpstack-v4", "chirpstack-v3"):
        for kind in ("decoded", "raw"):
            assert kinds[(server, kind)] >= 1, (server, kind)
    assert len({c["model"] for c in captures}) >= 6


def test_every_capture_names_its_sources_and_licence() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for path in CAPTURES:
        capture = load(path)
        assert path.name in readme, f"{path.name} is not listed in the README"
        assert capture["payload"]["source"].startswith("http")
        assert capture["envelope"]["source"].startswith("http")
        assert capture["licence"] and capture["sample"]
        assert all(e["derivation"] for e in capture["expected"])


async def test_every_capture_ingests_with_the_documented_readings(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    node = make_node(tmp_path, name="Lütjenholm", node_id="https://luetjenholm.example/")
    await service.create(node, dataset_body(DATASET))
    registry = Registry(node)
    captures = [(path.name, load(path)) for path in CAPTURES]
    for _, capture in captures:
        body = {"device": capture["device"], "dataset": DATASET, "profile": capture["model"]}
        await register(node, registry, body)
    secrets = {source: new_secret(node, source) for source in ("ttn", "chirpstack")}
    client = await aiohttp_client(create_app(node))

    posted: dict[str, Any] = {}
    for name, capture in captures:
        source = "ttn" if capture["network_server"] == "tts-v3" else "chirpstack"
        response = await client.post(
            capture["path"],
            data=json.dumps(capture["message"]),
            headers={
                "X-Allmende-Webhook-Secret": secrets[source],
                "Content-Type": "application/json",
            },
        )
        posted[name] = (response.status, await response.json(content_type=None))

    node.project()
    graph = ox.NamedNode(data_graph(node.base_url, DATASET))
    wrong: list[str] = []
    for name, capture in captures:
        status, answer = posted[name]
        if status != 202:
            wrong.append(f"{name}: {status} {answer}")
            continue
        sensor = ox.NamedNode(f"{node.base_url}/sensors/{capture['device']}")
        found = {
            (
                row["property"].value,
                reading(row["value"]),
                row["unit"].value if row["unit"] is not None else None,
                parse_time(row["time"].value),
            )
            for row in node.store.raw.query(
                READINGS, default_graph=graph, substitutions={ox.Variable("sensor"): sensor}
            )
        }
        expected = {
            (
                e["property"],
                e["value"] if isinstance(e["value"], str) else Decimal(str(e["value"])),
                e["unit"],
                parse_time(e["time"]),
            )
            for e in capture["expected"]
        }
        if found != expected:
            wrong.append(
                f"{name}: missing {sorted(expected - found)}, unexpected {sorted(found - expected)}"
            )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_expected_readings_name_fields_of_the_model(path: Path) -> None:
    from allmende.vocab.devices import field_specs

    capture = load(path)
    specs = field_specs(capture["model"])
    for entry in capture["expected"]:
        spec = specs[entry["field"]]
        assert (spec["observableProperty"], spec.get("unit")) == (entry["property"], entry["unit"])
