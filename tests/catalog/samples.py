"""Three village datasets that use every field of the catalog, and helpers to publish them."""

from __future__ import annotations

import hashlib
from typing import Any

from allmende.node.runtime import Node
from allmende.policies.templates import template_document
from tests.support import admin_headers

AIR_CSV = b"time,pm10,no2\n2024-05-01T10:00:00Z,12.5,18.1\n2024-05-01T11:00:00Z,13.0,17.4\n"
LEVELS_JSON = b'{"station": "Muehlenau", "levels": [{"time": "2024-05-01T10:00:00Z", "cm": 87}]}'
BUDGET_CSV = "Produkt;Ansatz 2024\nStraßenreinigung;120000\nSpielplätze;35000\n".encode()


def air(node: Node) -> dict[str, Any]:
    return {
        "id": "luftqualitaet",
        "title": {"de": "Luftqualität am Dorfplatz", "en": "Air quality at the village square"},
        "description": {
            "de": "Feinstaub (PM10) und Stickstoffdioxid, stündlich gemessen am Dorfplatz.",
            "en": "Particulate matter (PM10) and nitrogen dioxide, measured hourly.",
        },
        "keywords": {"de": ["Luft", "Feinstaub", "Umweltmessnetz"], "en": ["air quality"]},
        "themes": ["ENVI", "HEAL"],
        "publisher": {
            "name": "Gemeinde Lütjenholm",
            "type": "LocalAuthority",
            "homepage": "https://luetjenholm.example/",
            "email": "gemeinde@luetjenholm.example",
        },
        "contact": {
            "name": "Bürgerbüro Lütjenholm",
            "email": "daten@luetjenholm.example",
            "url": "https://luetjenholm.example/kontakt",
            "phone": "+49 4841 1234",
        },
        "license": "dl-de/by-2-0",
        "license_attribution": "Gemeinde Lütjenholm",
        "temporal": {"start": "2024-01-01", "end": "2024-12-31"},
        "spatial": {"bbox": [8.98, 54.55, 9.02, 54.58]},
        "frequency": "HOURLY",
        "languages": ["de", "en"],
        "landing_page": "https://luetjenholm.example/luft",
        "policy": template_document("open-data-attribution", assigner=node.id),
        "distributions": [
            {"kind": "api", "service": "sparql"},
            {"kind": "api", "service": "observations"},
            {
                "id": "karte",
                "kind": "link",
                "url": "https://luetjenholm.example/luft/stationen.geojson",
                "format": "GEOJSON",
                "title": {"de": "Messstationen", "en": "Stations"},
            },
        ],
    }


def levels(node: Node) -> dict[str, Any]:
    return {
        "id": "pegelstaende",
        "title": {"de": "Pegelstände der Mühlenau", "en": "Water levels of the Mühlenau"},
        "description": {
            "de": "Wasserstand der Mühlenau alle 15 Minuten, für Hochwasserschutz und Forschung.",
            "en": "Water level of the Mühlenau every 15 minutes.",
        },
        "keywords": {"de": ["Pegel", "Hochwasser"], "en": ["water level", "flood"]},
        "themes": ["ENVI", "REGI"],
        "publisher": {
            "name": "Wasser- und Bodenverband Mühlenau",
            "type": "NonProfitOrganisation",
            "uri": "https://wbv-muehlenau.example/",
        },
        "contact": {"name": "Verbandsingenieur", "email": "pegel@wbv-muehlenau.example"},
        "license": "cc-by/4.0",
        "license_attribution": "WBV Mühlenau",
        "access_rights": "RESTRICTED",
        "temporal": {"start": "2023-06-01T00:00:00Z"},
        "spatial": {"geometry": "POINT(9.0012 54.5634)"},
        "frequency": "15MIN",
        "languages": ["de"],
        "landing_page": "https://wbv-muehlenau.example/pegel",
        "policy": template_document("non-commercial", assigner=node.id),
        "distributions": [{"kind": "api", "service": "observations"}],
    }


def budget(node: Node) -> dict[str, Any]:
    return {
        "id": "haushalt-2024",
        "title": {"de": "Haushaltsplan 2024", "en": "Budget 2024"},
        "description": {
            "de": "Die Ansätze des Haushaltsplans 2024 der Gemeinde nach Produkten.",
            "en": "The municipality's budget 2024 by product.",
        },
        "keywords": {"de": ["Haushalt", "Finanzen"], "en": ["budget"]},
        "themes": ["GOVE", "ECON"],
        "contact": {"url": "https://luetjenholm.example/haushalt"},
        "license": "dl-de/zero-2-0",
        "license_attribution": "Gemeinde Lütjenholm",
        "access_rights": "PUBLIC",
        "temporal": {"start": "2024-01-01", "end": "2024-12-31"},
        "spatial": {
            "geometry": "POLYGON((8.98 54.55, 9.02 54.55, 9.02 54.58, 8.98 54.58, 8.98 54.55))",
            "uri": "http://sws.geonames.org/2878000/",
        },
        "frequency": "ANNUAL",
        "languages": ["de"],
        "landing_page": "https://luetjenholm.example/haushalt",
        "policy": template_document(
            "open-data-attribution", assigner=node.id, attribution="Gemeinde Lütjenholm"
        ),
        "distributions": [
            {
                "kind": "link",
                "url": "https://luetjenholm.example/haushalt-2024.pdf",
                "format": "PDF",
                "title": {"de": "Haushaltsplan (PDF)"},
            },
        ],
    }


SAMPLES = (air, levels, budget)
FILES = {
    "luftqualitaet": ("messwerte-2024.csv", "text/csv", AIR_CSV),
    "pegelstaende": ("pegel.json", "application/json", LEVELS_JSON),
    "haushalt-2024": ("haushalt-2024.csv", "text/csv", BUDGET_CSV),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def publish(client: Any, node: Node, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/admin/datasets", json=body, headers=admin_headers(node))
    assert response.status == 201, await response.text()
    return dict((await response.json())["dataset"])


async def upload(client: Any, node: Node, dataset_id: str) -> dict[str, Any]:
    """Upload the dataset's sample file as raw body with its Content-Type."""
    name, media_type, content = FILES[dataset_id]
    response = await client.post(
        f"/admin/datasets/{dataset_id}/distributions?file_name={name}",
        data=content,
        headers={**admin_headers(node), "Content-Type": media_type},
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def publish_all(client: Any, node: Node) -> dict[str, dict[str, Any]]:
    """The three samples, each with an uploaded file; returns the final descriptions."""
    published = {}
    for sample in SAMPLES:
        body = sample(node)
        await publish(client, node, body)
        result = await upload(client, node, body["id"])
        published[body["id"]] = result["dataset"]
    return published
