"""Mängelmelder: residents' defect reports over Open311 GeoReport v2, routed to the village
whose boundary holds the spot, without the reporter's data ever leaving the village."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def setup(app: web.Application) -> None:
    """Routes (imported here: node.federation imports node.reports.events at start-up)."""
    from node.reports.pages import setup as setup_pages
    from node.reports.routes import setup as setup_routes

    setup_routes(app)
    setup_pages(app)
