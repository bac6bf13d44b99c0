"""Refusing what the DCAT-AP.de profile forbids: every violation named, nothing half-written."""

from __future__ import annotations

import time
from typing import Any

from rdflib import Graph

from allmende.node.catalog.rdf import dataset_graph
from allmende.node.catalog.validation import validate
from allmende.node.runtime import Node
from tests.catalog.samples import air, publish
from tests.support import admin_headers


async def count_events(client: Any, node: Node) -> int:
    page = await (await client.get("/admin/events", headers=admin_headers(node))).json()
    return len(page["items"])


async def test_missing_mandatory_properties_are_each_listed(client: Any, node: Node) -> None:
    body = air(node)
    for name in ("title", "contact", "themes", "frequency", "license"):
        body.pop(name)
    body["description"] = {"en": "only English"}
    response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    assert response.status == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = await response.json()
    fields = {error["field"] for error in problem["errors"]}
    assert {"title", "description", "contact", "themes", "frequency", "license"} <= fields
    assert all(error["severity"] == "Violation" for error in problem["errors"])
    assert all(error["message"] and error["message_de"] for error in problem["errors"])
    assert await count_events(client, node) == 0
    assert (await client.get("/datasets/luftqualitaet")).status == 404


async def test_malformed_values_are_refused_before_anything_else(client: Any, node: Node) -> None:
    body = air(node)
    body.update(
        id="Not A Slug",
        themes=["WEATHER"],
        license="all rights reserved",
        contact={"email": "not-an-address"},
        temporal={"start": "yesterday"},
    )
    body["distributions"] = [{"kind": "link", "format": "CSV"}, {"kind": "api"}]
    response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    assert response.status == 400
    fields = {error["field"] for error in (await response.json())["errors"]}
    assert {"id", "themes", "license", "contact.email", "temporal.start"} <= fields
    unknown = await client.post(
        "/admin/datasets", json={**air(node), "colour": "green"}, headers=admin_headers(node)
    )
    assert unknown.status == 400
    assert "colour" in {e["field"] for e in (await unknown.json())["errors"]}
    links = await client.post(
        "/admin/datasets",
        json={**air(node), "distributions": [{"kind": "link"}, {"kind": "api"}]},
        headers=admin_headers(node),
    )
    assert {e["field"] for e in (await links.json())["errors"]} == {
        "distributions[0].url",
        "distributions[1].service",
    }
    assert await count_events(client, node) == 0


async def test_a_policy_must_be_an_offer_for_this_dataset(client: Any, node: Node) -> None:
    body = air(node)
    body["policy"] = {**body["policy"], "target": "https://elsewhere.example/datasets/x"}
    response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    assert response.status == 400
    assert [e["field"] for e in (await response.json())["errors"]] == ["policy.target"]
    body["policy"] = {"@context": "https://example.org/unknown-context.jsonld", "@type": "Offer"}
    response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    assert response.status == 400
    assert "never fetched" in (await response.json())["errors"][0]["message"]


async def test_a_policy_naming_a_malformed_iri_is_refused(client: Any, node: Node) -> None:
    """Such an IRI was once taken, and then broke the federated catalog for everyone (500)."""
    for bad in ("https://x.example/a^b", "https://x.example/a`b", "not-absolute"):
        # relative references are DSP's business (its partners name targets so); a catalog
        # publishes IRIs
        body = air(node)
        body["policy"] = {**body["policy"], "assigner": bad}
        response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
        assert response.status == 400, bad
        (error,) = (await response.json())["errors"]
        assert error["field"].startswith("policy") and "IRI" in error["message"], error
    assert await count_events(client, node) == 0
    assert (await client.get("/federation/catalog")).status == 200


async def test_a_contact_address_that_is_no_iri_is_refused(client: Any, node: Node) -> None:
    """Published as a mailto: IRI: an address with a backtick was taken and stopped the projector."""
    for bad in ("a`b@x.example", "a^b@x.example"):
        body = air(node)
        body["contact"] = {**body["contact"], "email": bad}
        response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
        assert response.status == 400, bad
        assert [e["field"] for e in (await response.json())["errors"]] == ["contact.email"]
        mine = await client.post(
            "/admin/reports/dataset", json={"contact": bad}, headers=admin_headers(node)
        )
        assert mine.status == 400, bad
    assert await count_events(client, node) == 0
    assert (await client.get("/federation/catalog")).status == 200


async def test_start_after_end_and_missing_temporal_warning(client: Any, node: Node) -> None:
    body = air(node)
    body["temporal"] = {"start": "2025-01-01", "end": "2024-01-01"}
    response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    assert response.status == 422
    assert {e["field"] for e in (await response.json())["errors"]} == {"temporal.start"}
    body.pop("temporal")
    data = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    assert data.status == 201
    warnings = (await data.json())["warnings"]
    assert [w["field"] for w in warnings] == ["temporal"]


async def test_profile_check_is_fast_enough_for_an_interactive_publish(
    client: Any, node: Node
) -> None:
    data = await publish(client, node, air(node))
    graph: Graph = dataset_graph(data)
    started = time.perf_counter()
    for _ in range(5):
        assert [f for f in validate(graph, data) if f.severity == "Violation"] == []
    assert (time.perf_counter() - started) / 5 < 1.0
