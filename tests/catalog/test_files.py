"""Uploaded files: streamed to the node with checksum and size, downloadable if open data."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rdflib import Graph, URIRef

from allmende.node.catalog.files import files_directory
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from allmende.vocab.namespaces import DCAT, SPDX
from tests.catalog.samples import AIR_CSV, air, budget, levels, publish, sha256
from tests.support import admin_headers, make_node

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]


async def test_multipart_upload_is_stored_by_its_checksum_and_downloadable(
    client: Any, node: Node
) -> None:
    await publish(client, node, budget(node))
    form = aiohttp.FormData()
    form.add_field("title", '{"de": "Ansätze je Produkt", "en": "Budget by product"}')
    form.add_field("format", "CSV")
    form.add_field("file", AIR_CSV, filename="ansaetze.csv", content_type="text/csv")
    response = await client.post(
        "/admin/datasets/haushalt-2024/distributions", data=form, headers=admin_headers(node)
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["distribution"] == "ansaetze"
    assert response.headers["Location"].endswith("/datasets/haushalt-2024/distributions/ansaetze")
    item = next(d for d in body["dataset"]["distributions"] if d["id"] == "ansaetze")
    assert item["checksum"] == sha256(AIR_CSV)
    assert item["byte_size"] == len(AIR_CSV)
    assert item["title"] == {"de": "Ansätze je Produkt", "en": "Budget by product"}
    stored = files_directory(node.settings.directory) / sha256(AIR_CSV)
    assert stored.read_bytes() == AIR_CSV
    assert list((files_directory(node.settings.directory) / "incoming").iterdir()) == []

    download = await client.get("/datasets/haushalt-2024/distributions/ansaetze/download")
    assert download.status == 200
    assert await download.read() == AIR_CSV
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "ansaetze.csv" in download.headers["Content-Disposition"]

    graph = Graph()
    graph.parse(data=await (await client.get("/datasets/haushalt-2024")).read(), format="turtle")
    distribution = URIRef(f"{node.base_url}/datasets/haushalt-2024/distributions/ansaetze")
    checksum = graph.value(distribution, SPDX.checksum)
    assert str(graph.value(checksum, SPDX.checksumValue)) == hashlib.sha256(AIR_CSV).hexdigest()
    assert int(graph.value(distribution, DCAT.byteSize)) == len(AIR_CSV)

    # uploading again under the same id replaces the file; removing drops the distribution
    replaced = await client.post(
        "/admin/datasets/haushalt-2024/distributions?id=ansaetze&file_name=ansaetze.csv",
        data=b"a;b\n1;2\n",
        headers={**admin_headers(node), "Content-Type": "text/csv"},
    )
    assert replaced.status == 201
    again = await client.get("/datasets/haushalt-2024/distributions/ansaetze/download")
    assert await again.read() == b"a;b\n1;2\n"
    removed = await client.delete(
        "/admin/datasets/haushalt-2024/distributions/ansaetze", headers=admin_headers(node)
    )
    assert removed.status == 200
    gone = await client.get("/datasets/haushalt-2024/distributions/ansaetze/download")
    assert gone.status == 404


async def test_files_larger_than_the_limit_are_refused_and_leave_nothing(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    node = make_node(tmp_path / "small", environ={"ALLMENDE_HTTP_MAX_BODY_BYTES": "4096"})
    client = await aiohttp_client(create_app(node))
    await publish(client, node, budget(node))

    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 1000

    response = await client.post(
        "/admin/datasets/haushalt-2024/distributions?file_name=big.csv",
        data=chunks(),
        headers={**admin_headers(node), "Content-Type": "text/csv"},
    )
    assert response.status == 413
    assert response.headers["Content-Type"].startswith("application/problem+json")
    directory = files_directory(node.settings.directory)
    assert [p.name for p in directory.iterdir() if p.is_file()] == []
    assert list((directory / "incoming").iterdir()) == []
    declared = await client.post(
        "/admin/datasets/haushalt-2024/distributions?file_name=big.csv",
        data=b"y" * 5000,
        headers={**admin_headers(node), "Content-Type": "text/csv"},
    )
    assert declared.status == 413


async def test_restricted_files_need_an_agreement_and_uploads_need_a_token(
    client: Any, node: Node
) -> None:
    await publish(client, node, levels(node))
    upload = await client.post(
        "/admin/datasets/pegelstaende/distributions?file_name=pegel.csv",
        data=b"t,cm\n",
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status == 401
    response = await client.post(
        "/admin/datasets/pegelstaende/distributions?file_name=pegel.csv",
        data=b"t,cm\n",
        headers={**admin_headers(node), "Content-Type": "text/csv"},
    )
    assert response.status == 201
    download = await client.get("/datasets/pegelstaende/distributions/pegel/download")
    assert download.status == 401 and "agreement" in (await download.json())["detail"]
    assert download.headers["Content-Type"].startswith("application/problem+json")


async def test_open_data_with_an_attribution_policy_stays_open(client: Any, node: Node) -> None:
    data = await publish(client, node, air(node))
    assert data["access_rights"].endswith("/PUBLIC")
    link = await client.get(
        "/datasets/luftqualitaet/distributions/karte/download", allow_redirects=False
    )
    assert link.status == 302
    assert link.headers["Location"] == "https://luetjenholm.example/luft/stationen.geojson"
    api = await client.get("/datasets/luftqualitaet/distributions/sparql/download")
    assert api.status == 404
