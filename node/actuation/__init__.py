"""Street lights on demand: controllers, segments, switching under a signed policy, proof."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """The API and webhooks, then the operator's console page (which reads the room)."""
    from allmende.node.actuation.console import setup as setup_console
    from allmende.node.actuation.routes import setup as setup_routes

    setup_routes(app)
    setup_console(app)


__all__ = ["setup"]
