"""The linked-data catalog: the municipality's datasets as DCAT-AP.de.

Datasets live in the control plane (`models`), every change is a signed
`de.allmende.dataset.published|updated|retracted` event (`service`), projected into one
named graph per dataset (`projection`; `rdf.dataset_triples` turns an event's data into
RDF and is meant for peers' events too), served paged and negotiated with validators
(`routes`, `serving`) and searched (`search`). The entry points below import lazily, so
that `allmende --help` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web
    from rdflib import Graph

    from allmende.node.events.projector import Projector


def setup(app: web.Application) -> None:
    from allmende.node.catalog.routes import setup as setup_routes

    setup_routes(app)


def install(projector: Projector) -> None:
    from allmende.node.catalog.projection import install as install_projection

    install_projection(projector)


def dataset_graph(data: dict[str, Any], base: str | None = None) -> Graph:
    from allmende.node.catalog.rdf import dataset_graph as build

    return build(data, base)
