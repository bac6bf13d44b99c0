"""The aiohttp application: middlewares, then each room's routes."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from sqlmodel import Session

from allmende.node import query_role, rooms
from allmende.node.events import EventLog
from allmende.node.http import cors
from allmende.node.http.problems import Handler, problem_middleware
from allmende.node.http.proxies import forwarded_for
from allmende.node.metrics import Metrics
from allmende.node.runtime import Node

access = logging.getLogger("allmende.access")


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count, time and log every request; the query string is never logged (it may hold tokens)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status_code
        raise
    finally:
        elapsed = time.perf_counter() - started
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics: Metrics = request.app["metrics"]
        metrics.requests.labels(request.method, route, f"{status // 100}xx").inc()
        metrics.latency.labels(route).observe(elapsed)
        access.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "ms": round(elapsed * 1000, 2),
                "remote": request.remote,
            },
        )


def create_app(node: Node, *, close_node: bool = True) -> web.Application:
    max_body = node.settings.http.max_body_bytes
    proxied = forwarded_for(node.settings.http.trusted_proxies)
    first = [proxied] if proxied else []
    app = web.Application(
        client_max_size=max_body, middlewares=[*first, observe, problem_middleware]
    )
    app["node"] = node
    app["max_body"] = max_body
    cors.setup(app)

    def last_seq() -> float:
        with Session(node.engine) as session:
            return float(EventLog.last_seq(session))

    app["metrics"] = Metrics(last_seq)
    for setup in rooms.route_setups():
        setup(app)
    query_role.setup(app)  # read replicas: refuse writes, positions for read-your-writes
    if close_node:

        async def close(_app: web.Application) -> None:
            node.close()

        app.on_cleanup.append(close)
    return app
