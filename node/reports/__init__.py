"""Mängelmelder: residents' defect reports over Open311 GeoReport v2, routed to the village
whose boundary holds the spot, without the reporter's data ever leaving the village."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from allmende.node.events.projector import Projector


def setup(app: web.Application) -> None:
    """Routes (imported here: node.federation imports node.reports.events at start-up)."""
    from allmende.node.reports.admin import setup as setup_admin
    from allmende.node.reports.categories_console import setup as setup_categories
    from allmende.node.reports.console import setup as setup_console
    from allmende.node.reports.open311_routes import setup as setup_open311
    from allmende.node.reports.pages import setup as setup_pages
    from allmende.node.reports.peer_photos import setup as setup_peer_photos

    setup_open311(app)
    setup_admin(app)
    setup_peer_photos(app)
    setup_pages(app)
    setup_categories(app)  # before the reports' console: /reports/categories is no report
    setup_console(app)


def install(projector: Projector) -> None:
    """Each published report into its own graph, here and (pooled) from peers."""
    import pyoxigraph as ox

    from allmende.node.reports.rdf import PUBLISHED

    def own(store: Any, event: dict[str, Any]) -> None:
        data = event["data"]
        store.replace_graph(data["graph"], data["content"].encode(), ox.RdfFormat.N_TRIPLES)

    def foreign(store: Any, run: list[Any]) -> None:
        for signed in run:
            own(store, signed.event)

    projector.register(PUBLISHED, own)
    projector.register_foreign(PUBLISHED, foreign)
