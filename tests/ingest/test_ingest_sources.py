"""Sample payloads of every source become the expected triples in the dataset's graph."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pyoxigraph as ox
import rdflib
from aiohttp import FormData
from rdflib.compare import isomorphic, to_isomorphic

from allmende.node.ingest.graphs import data_graph
from allmende.node.ingest.sources import HEADER
from tests.ingest.conftest import PAYLOADS, Village, payload

EXPECTED_HUMIDITY = """
@prefix sosa: <http://www.w3.org/ns/sosa/> .
@prefix qudt: <http://qudt.org/schema/qudt/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
<{obs}> a sosa:Observation ;
    sosa:madeBySensor <{base}/sensors/70b3d57ed00ab001> ;
    sosa:observedProperty <http://vocab.nerc.ac.uk/standard_name/relative_humidity/> ;
    sosa:hasFeatureOfInterest <{base}/features/70b3d57ed00ab001> ;
    sosa:hasSimpleResult "48.5"^^xsd:decimal ;
    sosa:hasResult <{obs}/result> ;
    sosa:resultTime "2024-05-14T08:15:02.334512Z"^^xsd:dateTime ;
    prov:wasDerivedFrom <{uplink}> .
<{obs}/result> a qudt:QuantityValue ;
    qudt:numericValue "48.5"^^xsd:decimal ;
    qudt:unit <http://qudt.org/vocab/unit/PERCENT_RH> .
"""


def graph_of(village: Village, dataset_id: str) -> rdflib.Graph:
    village.node.project()
    dump = village.node.store.raw.dump(
        format=ox.RdfFormat.N_TRIPLES,
        from_graph=ox.NamedNode(data_graph(village.node.base_url, dataset_id)),
    )
    return rdflib.Graph().parse(data=dump.decode(), format="nt")


async def post_csv(village: Village, table: str) -> Any:
    form = FormData()
    form.add_field(
        "mapping", (PAYLOADS / "pegel.mapping.json").read_text(), content_type="application/json"
    )
    form.add_field("file", table.encode(), filename="pegel.csv", content_type="text/csv")
    return await village.client.post(
        "/ingest/csv/pegel-dorfteich", data=form, headers={HEADER: village.secrets["csv"]}
    )


def observation_of(graph: rdflib.Graph, prop: str) -> rdflib.URIRef:
    sosa = rdflib.Namespace("http://www.w3.org/ns/sosa/")
    found = list(graph.subjects(sosa.observedProperty, rdflib.URIRef(prop)))
    assert len(found) == 1, found
    return found[0]  # type: ignore[return-value]


def described(graph: rdflib.Graph, subject: rdflib.URIRef) -> rdflib.Graph:
    """The observation's own triples plus its result's, without the uplink's provenance."""
    part = rdflib.Graph()
    for s in (subject, rdflib.URIRef(f"{subject}/result")):
        for triple in graph.triples((s, None, None)):
            part.add(triple)
    return part


async def post(village: Village, path: str, body: Any) -> Any:
    source = path.split("/")[2].split("?")[0]
    response = await village.client.post(
        path, data=json.dumps(body), headers=village.headers(source)
    )
    return response.status, await response.json(content_type=None)


async def test_ttn_uplink_becomes_the_expected_observation(village: Village) -> None:
    status, body = await post(village, "/ingest/ttn", payload("ttn-uplink-humidity.json"))
    assert status == 202, body
    assert body["accepted"] == 3
    assert [r["code"] for r in body["reported"]] == [
        "unmapped-field"
    ]  # firmware: reported, not guessed
    graph = graph_of(village, "raumklima-dgh")
    humidity = observation_of(graph, "http://vocab.nerc.ac.uk/standard_name/relative_humidity/")
    uplink = graph.value(humidity, rdflib.URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))
    expected = rdflib.Graph().parse(
        data=EXPECTED_HUMIDITY.format(obs=humidity, base=village.node.base_url, uplink=uplink),
        format="turtle",
    )
    assert isomorphic(described(graph, humidity), expected), to_isomorphic(
        described(graph, humidity)
    ).serialize()


async def test_every_source_lands_in_its_dataset_graph(village: Village) -> None:
    assert (await post(village, "/ingest/ttn", payload("ttn-batch.json")))[0] == 202
    status, body = await post(village, "/ingest/chirpstack?event=up", payload("chirpstack-up.json"))
    assert status == 202, body
    status, body = await post(
        village, "/ingest/chirpstack?event=join", payload("chirpstack-join.json")
    )
    assert status == 200 and "ignored" in body
    status, body = await post(village, "/ingest/observations", payload("generic-batch.json"))
    assert status == 202, body
    lines = (PAYLOADS / "pegel.csv").read_text().splitlines()
    broken = await post_csv(village, "\n".join(lines))  # rows 5 and 6 are faulty on purpose
    assert broken.status == 422
    assert [e["path"] for e in (await broken.json(content_type=None))["errors"]] == [
        "/rows/5",
        "/rows/6/Zeitpunkt",
    ]
    assert graph_of(village, "pegel-dorfteich").__len__() == 0  # all rows or none
    good = "\n".join(lines[:4])
    response = await post_csv(village, good)
    assert response.status == 202, await response.text()
    csv_observations = 5  # three rows of two readings, one cell empty (a missing reading)

    sosa = rdflib.Namespace("http://www.w3.org/ns/sosa/")
    counts = {
        dataset: len(set(graph_of(village, dataset).subjects(rdflib.RDF.type, sosa.Observation)))
        for dataset in (
            "raumklima-dgh",
            "parken-dorfplatz",
            "bodenfeuchte",
            "strassenlicht",
            "pegel-dorfteich",
        )
    }
    generic = len(payload("generic-batch.json")["observations"])
    assert counts == {
        "raumklima-dgh": 3,
        "parken-dorfplatz": 2,
        "bodenfeuchte": 3,
        "strassenlicht": generic,
        "pegel-dorfteich": csv_observations,
    }


async def test_reingesting_the_same_uplink_changes_nothing(village: Village) -> None:
    await post(village, "/ingest/ttn", payload("ttn-uplink-humidity.json"))
    before = graph_of(village, "raumklima-dgh")
    await post(village, "/ingest/ttn", payload("ttn-uplink-humidity.json"))
    assert isomorphic(before, graph_of(village, "raumklima-dgh"))


async def test_time_series_and_latest_values_follow_the_payloads(village: Village) -> None:
    uplinks = []
    for minute in range(5):
        uplink = payload("ttn-uplink-humidity.json")
        uplink["received_at"] = f"2024-05-14T08:{15 + minute:02d}:00Z"
        uplink["uplink_message"]["received_at"] = uplink["received_at"]
        uplink["uplink_message"]["decoded_payload"]["humidity"] = 40 + minute
        uplinks.append(uplink)
    status, body = await post(village, "/ingest/ttn", uplinks)
    assert status == 202, body
    await asyncio.to_thread(village.node.project)
    response = await village.client.get(
        "/datasets/raumklima-dgh/observations",
        params={
            "sensor": "70b3d57ed00ab001",
            "from": "2024-05-14T00:00:00Z",
            "to": "2024-05-15T00:00:00Z",
        },
    )
    assert response.status == 200
    series = {
        s["property"].rstrip("/").rsplit("/", 1)[-1]: s for s in (await response.json())["series"]
    }
    assert [p["value"] for p in series["relative_humidity"]["points"]] == [40, 41, 42, 43, 44]
    latest = (await (await village.client.get("/sensors/latest")).json())["items"]
    humidity = [row for row in latest if row["field"] == "humidity"]
    assert humidity[0]["value"] == "44"


async def test_time_series_parameters_are_checked(village: Village) -> None:
    for params in (
        {},
        {"sensor": "x", "from": "yesterday"},
        {"sensor": "x", "limit": "0"},
        {"sensor": "x", "from": "2024-05-15T00:00:00Z", "to": "2024-05-14T00:00:00Z"},
    ):
        response = await village.client.get("/datasets/raumklima-dgh/observations", params=params)
        assert response.status == 400, params
        assert response.content_type == "application/problem+json"
    missing = await village.client.get("/datasets/nope/observations", params={"sensor": "x"})
    assert missing.status == 404


async def test_webhook_json_is_read_exactly_and_strictly(village: Village) -> None:
    """Integers keep every digit, also beyond 64 bits (where a plain orjson read gives a
    float): such a reading is out of range and refused, never stored rounded. What RFC
    8259 does not allow (NaN, Infinity, a lone surrogate) or a double cannot hold is a 400."""
    reading = {
        "sensor": "sample-luetjenholm-leuchte-12",
        "property": "energy",
        "value": 2**64 + 1,
        "time": "2024-05-14T20:45:00Z",
    }
    status, answer = await post(village, "/ingest/observations", {"observations": [reading]})
    assert status == 422, answer
    assert "integer out of range" in answer["detail"]
    for text in ("NaN", '{"observations": Infinity}', '"\\ud800"', "[1e400]"):
        response = await village.client.post(
            "/ingest/observations", data=text, headers=village.headers("observations")
        )
        problem = await response.json(content_type=None)
        assert response.status == 400, (text, problem)
        assert "not valid JSON" in problem["detail"]
