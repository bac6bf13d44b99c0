"""The app directory: third-party apps register (OAuth 2.0 DCR), the village reviews and
approves them (signed agreements), residents sign in and consent, and revoke."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def setup(app: web.Application) -> None:
    """Routes (imported here: node.federation imports node.apps.federation at start-up)."""
    from allmende.node.apps.routes import setup as setup_routes

    setup_routes(app)


__all__ = ["setup"]
