"""The node's DCAT catalog as the Dataspace Protocol's catalog: every published dataset
with its offer and one distribution per transfer type it serves.

The offer is the plain ODRL policy: a consumer sends it back in its request and compares
the agreement with it, so nothing rides along inside it. What the node signs is the
agreement (`/dsp/agreements/{id}`).

A partner that speaks DCP knows the node by its DID: to it the catalog's participantId and
the offers' assigner are the DID (and its agreements name the DID as assigner), to anyone
else the node id."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.dsp.messages import PATH, message
from allmende.node.dsp.negotiations import embedded
from allmende.node.dsp.transfers import PULL_FORMAT
from allmende.node.identity.did import own_did
from allmende.node.runtime import Node
from allmende.node.usage.agreements import dataset_offer

MAX_DATASETS = 1000


def _service(node: Node) -> dict[str, Any]:
    return {
        "@id": f"{node.base_url}{PATH}#service",
        "@type": "DataService",
        "endpointURL": node.base_url + PATH,
    }


def _texts(value: Any) -> Any:
    """Our {"de": ..., "en": ...} texts as JSON-LD language maps' values."""
    if isinstance(value, dict):
        return [{"@value": text, "@language": lang} for lang, text in sorted(value.items())]
    return value


def participant_id(node: Node, by_did: bool) -> str:
    """How the node names itself: by its DID to a partner that speaks DCP (whose connector
    knows the node only by it, e.g. EDC compares it with the DID its tokens prove), else
    by its node id."""
    return own_did(node) if by_did else node.id


def dataset(node: Node, row: CatalogDataset, by_did: bool = False) -> dict[str, Any]:
    description = row.description()
    offer = dataset_offer(node, row.id)
    policy = embedded(offer)
    policy.pop("target", None)  # an offer inside its dataset names no target (DSP 2025-1)
    if by_did and "assigner" in policy:
        policy["assigner"] = own_did(node)
    body: dict[str, Any] = {
        "@id": row.id,
        "@type": "Dataset",
        "dct:title": _texts(description.get("title")),
        "dct:description": _texts(description.get("description")),
        "hasPolicy": [policy],
        "distribution": [
            {"@type": "Distribution", "format": PULL_FORMAT, "accessService": _service(node)}
        ],
    }
    return {key: value for key, value in body.items() if value is not None}


def published(node: Node) -> list[CatalogDataset]:
    with Session(node.engine) as session:
        query = (
            select(CatalogDataset)
            .where(CatalogDataset.status == PUBLISHED)
            .order_by(col(CatalogDataset.id))
            .limit(MAX_DATASETS)
        )
        return list(session.exec(query).all())


def catalog(node: Node, by_did: bool = False) -> dict[str, Any]:
    return message(
        "Catalog",
        **{"@id": f"{node.base_url}{PATH}/catalog"},
        participantId=participant_id(node, by_did),
        service=[_service(node)],
        dataset=[dataset(node, row, by_did) for row in published(node)] or None,
    )


def one_dataset(node: Node, dataset_id: str, by_did: bool = False) -> dict[str, Any] | None:
    with Session(node.engine) as session:
        row = session.get(CatalogDataset, dataset_id)
    if row is None or row.status != PUBLISHED:
        return None
    return {"@context": message("Dataset")["@context"], **dataset(node, row, by_did)}
