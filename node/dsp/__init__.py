"""The Dataspace Protocol 2025-1, provider side: catalog, contract negotiation and transfer
(HTTP pull) over the HTTPS binding, so that EDC connectors and other DSP clients negotiate
with the node and get exactly what the agreement allows.

`messages` reads and writes the protocol's JSON, `states` holds both state machines,
`plans` what the provider does on its own, `negotiations` and `transfers` the processes,
`catalog` the DSP view of the DCAT catalog, `routes` the HTTP side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def setup(app: web.Application) -> None:
    from allmende.node.dsp.routes import setup as setup_routes

    setup_routes(app)
