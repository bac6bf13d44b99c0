"""Example queries for the query page and the dataset pages, made from the node's own data."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlmodel import Session, col, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.ingest.graphs import data_graph
from allmende.node.runtime import Node

PREFIXES = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX sosa: <http://www.w3.org/ns/sosa/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


@dataclass(frozen=True)
class Example:
    title: str
    query: str


def dataset_examples(node: Node, dataset_id: str) -> list[Example]:
    """Queries that show a dataset's description and, for sensor data, its readings."""
    dataset = f"{node.base_url}/datasets/{dataset_id}"
    graph = data_graph(node.base_url, dataset_id)
    return [
        Example(
            "Description of the dataset",
            PREFIXES + f"SELECT ?property ?value WHERE {{\n  <{dataset}> ?property ?value .\n}}",
        ),
        Example(
            "Latest reading per sensor and property",
            PREFIXES
            + f"""SELECT ?sensor ?property (MAX(?time) AS ?latest) WHERE {{
  GRAPH <{graph}> {{
    ?observation sosa:madeBySensor ?sensor ;
                 sosa:observedProperty ?property ;
                 sosa:resultTime ?time .
  }}
}}
GROUP BY ?sensor ?property
ORDER BY ?sensor ?property""",
        ),
        Example(
            "Daily averages",
            PREFIXES
            + f"""SELECT ?property ?day (AVG(?value) AS ?average) (COUNT(*) AS ?readings) WHERE {{
  GRAPH <{graph}> {{
    ?observation sosa:observedProperty ?property ;
                 sosa:hasSimpleResult ?value ;
                 sosa:resultTime ?time .
  }}
  FILTER(isNumeric(?value))
  BIND(SUBSTR(STR(?time), 1, 10) AS ?day)
}}
GROUP BY ?property ?day
ORDER BY DESC(?day)
LIMIT 100""",
        ),
    ]


def _first_dataset(node: Node) -> str | None:
    with Session(node.engine) as session:
        return session.exec(
            select(CatalogDataset.id)
            .where(CatalogDataset.status == PUBLISHED)
            .order_by(col(CatalogDataset.id))
        ).first()


async def examples(node: Node) -> list[Example]:
    general = [
        Example(
            "Datasets of the catalog",
            PREFIXES
            + """SELECT ?dataset ?title ?modified WHERE {
  ?dataset a dcat:Dataset ;
           dcterms:title ?title .
  OPTIONAL { ?dataset dcterms:modified ?modified }
  FILTER(LANG(?title) = "de" || LANG(?title) = "")
}
ORDER BY ?title""",
        ),
        Example(
            "Triples per graph",
            "SELECT ?graph (COUNT(*) AS ?triples) WHERE {\n  GRAPH ?graph { ?s ?p ?o }\n}\n"
            "GROUP BY ?graph\nORDER BY DESC(?triples)",
        ),
    ]
    first = await asyncio.to_thread(_first_dataset, node)
    return general + (dataset_examples(node, first)[1:] if first else [])
