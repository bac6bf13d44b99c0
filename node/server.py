"""`allmende serve`: open the node, catch the store up with the log, serve until SIGTERM."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from node.http.app import create_app
from node.logs import configure
from node.runtime import Node

log = logging.getLogger("allmende")


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
    print(f"Allmende node {node.settings.node.name} on http://{host}:{port}", flush=True)
    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=node.settings.http.shutdown_timeout,
        print=None,
        access_log=None,
        handle_signals=True,
    )
