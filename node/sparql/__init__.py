"""The SPARQL room: the SPARQL 1.1 Protocol at /sparql and the Graph Store Protocol at
/rdf-graphs, answered by Oxigraph in killable worker processes, scoped per request.

The package imports nothing on its own: a query worker is a fresh process that imports
`node.sparql.worker`, and it should load pyoxigraph alone, not the whole node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def setup(app: web.Application) -> None:
    from allmende.node.sparql.routes import setup as setup_routes

    setup_routes(app)


__all__ = ["setup"]
