"""Where each room of the node plugs in: its HTTP routes and its event projections.

A room (catalog, ingest, SPARQL, ...) offers `setup(app)` for routes and
`install(projector)` for the event types it projects; adding a room is one line here.
Imports happen inside the functions so that rooms may import the runtime freely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from allmende.node.events.projector import Projector


def route_setups() -> list[Callable[[web.Application], None]]:
    from allmende.node import (
        actuation,
        apps,
        catalog,
        dsp,
        federation,
        identity,
        ingest,
        reports,
        sparql,
        usage,
    )
    from allmende.node import web as web_room
    from allmende.node.http import admin, foundation

    return [
        foundation.setup,
        admin.setup,
        web_room.setup,
        catalog.setup,
        ingest.setup,
        actuation.setup,
        reports.setup,
        sparql.setup,
        usage.setup,
        apps.setup,
        dsp.setup,
        identity.setup,
        federation.setup,
    ]


def projection_setups() -> list[Callable[[Projector], None]]:
    from allmende.node import catalog, federation, ingest, reports

    return [catalog.install, ingest.install, federation.install, reports.install]
