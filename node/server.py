"""`allmende serve`: open the node, catch the store up with the log, serve until SIGTERM."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from node.config import Settings
from node.http.app import create_app
from node.logs import configure
from node.runtime import Node

log = logging.getLogger("allmende")
YOUNG_OBJECTS = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700).

A batch of uplinks in flight is tens of thousands of short-lived objects; with the default,
they are promoted and trigger full collections that stop every request for 100-220 ms.
bench/ingest, batches, 12 s: full collections 12 (149 ms median) -> 1 (2 ms), time in the
collector 2.1 s -> 0.4 s, together with `gc.freeze` of what startup built."""


async def _quiet_collector(_app: web.Application) -> None:
    """Fewer, shorter garbage collections: the modules, routes and rooms built at startup
    live as long as the process and need not be traversed again (collected first, so no
    garbage is kept)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def connection_options(settings: Settings) -> dict[str, Any]:
    """Options of aiohttp's request handler that bound what one connection may hold.

    aiohttp has no separate header timeout, but its keep-alive timer is one: it runs from a
    connection's start and from each response's end, and closes the connection if by then
    no complete request head arrived, however many bytes did (a slowloris sender)."""
    return {"keepalive_timeout": settings.connections.header_timeout}


def run(directory: Path, *, host: str | None = None, port: int | None = None) -> None:
    configure()
    node = Node.open(directory)
    host = host or node.settings.http.host
    port = port or node.settings.http.port
    app = create_app(node)

    async def catch_up(_app: web.Application) -> None:
        applied = await node.write(node.project)
        log.info(
            "node ready",
            extra={"node": node.id, "url": f"http://{host}:{port}", "projected": applied},
        )

    app.on_startup.append(catch_up)
    app.on_startup.append(_quiet_collector)  # last: after every room has started
    print(f"Allmende node {node.settings.node.name} on http://{host}:{port}", flush=True)
    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=node.settings.http.shutdown_timeout,
        print=None,
        access_log=None,
        handle_signals=True,
        **connection_options(node.settings),
    )
