"""1,000 malformed or hostile payloads: each gets a 4xx, and the store and log stay as they were."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from allmende.node.events import EventLog
from tests.ingest.conftest import Village, payload

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

SOURCES = {
    "ttn": "ttn-uplink-humidity.json",
    "chirpstack": "chirpstack-up.json",
    "observations": "generic-batch.json",
}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from paths(inner, (*prefix, index))


def set_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copied


def drop_at(document: Any, path: tuple[Any, ...]) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return copied


def hostile_cases(rng: random.Random) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    """(source, description, body, extra headers); every one must be refused."""
    wrong_types = [None, True, "x", -1, 1.5e308, [], {}, "9" * 40]
    documents = {source: payload(name) for source, name in SOURCES.items()}
    # Structural attacks on the places a connector reads.
    essential = {
        "ttn": [
            ("end_device_ids",),
            ("end_device_ids", "dev_eui"),
            ("uplink_message",),
            ("uplink_message", "decoded_payload"),
            ("received_at",),
            ("uplink_message", "received_at"),
        ],
        "chirpstack": [("deviceInfo",), ("deviceInfo", "devEui"), ("time",), ("object",)],
        "observations": [("observations",)],
    }
    # Missing these leaves nothing to ingest (others have fallbacks: received_at, dev_eui ...).
    required = {
        "ttn": [("end_device_ids",), ("uplink_message", "decoded_payload")],
        "chirpstack": [("deviceInfo",), ("object",)],
        "observations": [("observations",)],
    }
    for source, document in documents.items():
        for path in essential[source]:
            if path in required[source]:
                yield (
                    source,
                    f"{source}: missing {path}",
                    json.dumps(drop_at(document, path)).encode(),
                    {},
                )
            for value in wrong_types:
                yield (
                    source,
                    f"{source}: {path} = {value!r}",
                    json.dumps(set_at(document, path, value)).encode(),
                    {},
                )
    # Random type confusion anywhere in the document.
    while True:
        source = rng.choice(list(documents))
        document = documents[source]
        candidates = [p for p in paths(document) if p and not isinstance(p[-1], int)]
        path = rng.choice(candidates)
        kind = rng.randrange(6)
        if kind == 0:
            body = json.dumps(
                set_at(document, path, "A" * rng.choice([5_000, 100_000, 2_000_000]))
            ).encode()
            label = f"{source}: huge string at {path}"
        elif kind == 1:
            depth = rng.choice([64, 500, 5_000])
            deep = '{"a":' * depth + "1" + "}" * depth
            body = (
                json.dumps(set_at(document, path, "__deep__")).replace('"__deep__"', deep).encode()
            )
            label = f"{source}: deep nesting at {path}"
        elif kind == 2:
            body = json.dumps(document).encode()[: rng.randrange(1, 200)]
            label = f"{source}: truncated JSON"
        elif kind == 3:
            yield (
                source,
                f"{source}: wrong secret",
                json.dumps(document).encode(),
                {"X-Allmende-Webhook-Secret": "guess"},
            )
            continue
        elif kind == 4:
            yield (
                source,
                f"{source}: wrong content type",
                json.dumps(document).encode(),
                {"Content-Type": "text/plain"},
            )
            continue
        else:
            body = b"[" * 100_000
            label = f"{source}: bracket bomb"
        yield source, label, body, {}


def snapshot(village: Village) -> tuple[int, bytes]:
    village.node.project()
    with Session(village.node.engine) as session:
        return EventLog.last_seq(session), village.node.store.dump_nquads()


async def test_thousand_hostile_payloads_change_nothing(village: Village) -> None:
    before = snapshot(village)
    rng = random.Random(20261122)
    refused = 0
    for source, label, body, extra in hostile_cases(rng):
        if refused == 1000:
            break
        headers = {**village.headers(source), **extra}
        path = "/ingest/chirpstack?event=up" if source == "chirpstack" else f"/ingest/{source}"
        response = await village.client.post(path, data=body, headers=headers)
        text = await response.text()
        assert 400 <= response.status < 500, (label, response.status, text[:300])
        assert response.content_type == "application/problem+json", label
        assert "Traceback" not in text and village.secrets[source] not in text
        refused += 1
    assert refused == 1000
    assert snapshot(village) == before
