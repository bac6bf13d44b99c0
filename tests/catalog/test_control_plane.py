"""The admin API and the tables behind it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from allmende.node.catalog.models import CatalogDataset, is_published, load_distributions
from allmende.node.http.app import create_app
from tests.catalog.samples import AIR_CSV, air, budget, sha256
from tests.support import admin_headers, make_node

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]


async def test_publish_update_retract_and_publish_again(
    aiohttp_client: Any, tmp_path: Path, database_url: str | None
) -> None:
    node = make_node(tmp_path / "node", database_url=database_url)
    client = await aiohttp_client(create_app(node))
    headers = admin_headers(node)

    assert (await client.post("/admin/datasets", json=air(node))).status == 401
    created = await client.post("/admin/datasets", json=air(node), headers=headers)
    assert created.status == 201, await created.text()
    assert created.headers["Location"] == f"{node.base_url}/datasets/luftqualitaet"
    twice = await client.post("/admin/datasets", json=air(node), headers=headers)
    assert twice.status == 409

    upload = await client.post(
        "/admin/datasets/luftqualitaet/distributions?file_name=messwerte.csv",
        data=AIR_CSV,
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert upload.status == 201
    patched = await client.patch(
        "/admin/datasets/luftqualitaet",
        json={"title": {"en": None}, "frequency": "DAILY"},
        headers=headers,
    )
    assert patched.status == 200, await patched.text()
    data = (await patched.json())["dataset"]
    assert data["title"] == {"de": "Luftqualität am Dorfplatz"}
    assert data["frequency"].endswith("/DAILY")
    assert [d["id"] for d in data["distributions"]] == [
        "sparql",
        "observations",
        "karte",
        "messwerte",
    ]

    current = await (await client.get("/admin/datasets/luftqualitaet", headers=headers)).json()
    assert current["status"] == "published"
    assert current["version"] == 3
    assert current["dataset"] == data

    with Session(node.engine) as session:
        row = session.get(CatalogDataset, "luftqualitaet")
        assert row is not None and row.title == "Luftqualität am Dorfplatz"
        files = [d for d in load_distributions(session, "luftqualitaet") if d.kind == "file"]
        assert [(d.file_sha256, d.byte_size) for d in files] == [(sha256(AIR_CSV), len(AIR_CSV))]
        assert is_published(session, "luftqualitaet")

    retracted = await client.delete("/admin/datasets/luftqualitaet", headers=headers)
    assert retracted.status == 200
    again = await client.delete("/admin/datasets/luftqualitaet", headers=headers)
    assert again.status == 410
    listing = await (await client.get("/admin/datasets?status=all", headers=headers)).json()
    assert [(i["id"], i["status"]) for i in listing["items"]] == [("luftqualitaet", "retracted")]
    assert (await client.get("/datasets/luftqualitaet")).status == 410

    republished = await client.post("/admin/datasets", json=air(node), headers=headers)
    assert republished.status == 201
    assert (await client.get("/datasets/luftqualitaet")).status == 200

    with node.engine.connect() as connection:
        types = [
            row[0]
            for row in connection.execute(
                text("SELECT type FROM event_log WHERE subject = 'luftqualitaet' ORDER BY seq")
            )
        ]
    assert types == [
        "de.allmende.dataset.published",
        "de.allmende.dataset.updated",
        "de.allmende.dataset.updated",
        "de.allmende.dataset.retracted",
        "de.allmende.dataset.published",
    ]


async def test_event_data_is_the_full_description(
    aiohttp_client: Any, tmp_path: Path, database_url: str | None
) -> None:
    node = make_node(tmp_path / "node", database_url=database_url)
    client = await aiohttp_client(create_app(node))
    created = await client.post("/admin/datasets", json=budget(node), headers=admin_headers(node))
    data = (await created.json())["dataset"]
    with node.engine.connect() as connection:
        envelope = connection.execute(
            text("SELECT envelope FROM event_log WHERE subject = 'haushalt-2024'")
        ).scalar_one()
    event = json.loads(envelope)
    assert event["data"] == data
    assert event["data"]["base"] == node.base_url
    assert event["data"]["policy"]["@type"] == "Offer"


async def test_concurrent_edits_do_not_undo_each_other(
    aiohttp_client: Any, tmp_path: Path, database_url: str | None
) -> None:
    import asyncio

    node = make_node(tmp_path / "node", database_url=database_url)
    client = await aiohttp_client(create_app(node))
    headers = admin_headers(node)
    await client.post("/admin/datasets", json=budget(node), headers=headers)
    answers = await asyncio.gather(
        *(
            client.patch(
                "/admin/datasets/haushalt-2024",
                json={"keywords": {"de": [f"Wort{n}"]}},
                headers=headers,
            )
            for n in range(4)
        )
    )
    statuses = sorted(answer.status for answer in answers)
    assert statuses[0] == 200 and set(statuses) <= {200, 409}
    current = await (await client.get("/admin/datasets/haushalt-2024", headers=headers)).json()
    assert current["version"] == 1 + statuses.count(200)
