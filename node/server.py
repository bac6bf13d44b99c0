"""`allmende serve`: open the node, catch the store up with the log, serve until SIGTERM."""

from __future__ import annotations

import errno
import gc
import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from allmende.node import run_file
from allmende.node.config import Settings, load_settings, local_url
from allmende.node.http.app import create_app
from allmende.node.logs import configure
from allmende.node.runtime import Node

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


class StartError(Exception):
    """The node cannot start; the message is one line naming the fix."""


def _is_lock(exc: BaseException) -> bool:
    return "lock" in str(exc).lower()


def _base_url_environ(
    settings: Settings, host: str, port: int, environ: dict[str, str]
) -> dict[str, str]:
    """base_url follows where the node listens unless it was chosen: left empty, or written
    by `allmende init` as http://HOST:PORT of the [http] section, it is derived; a chosen one
    that differs from the listen address is kept, with a warning (links may point elsewhere)."""
    listening = local_url(host, port)
    configured = settings.node.base_url
    derived = {
        local_url(settings.http.host, settings.http.port),
        f"http://{settings.http.host}:{settings.http.port}",
    }
    overlay = {**environ, "ALLMENDE_HTTP_HOST": host, "ALLMENDE_HTTP_PORT": str(port)}
    if configured in derived and "ALLMENDE_NODE_BASE_URL" not in environ:
        overlay["ALLMENDE_NODE_BASE_URL"] = listening
    elif configured != listening:
        log.warning(
            "base_url differs from where the node listens",
            extra={"base_url": configured, "listening": listening},
        )
    return overlay


def _open(directory: Path, environ: dict[str, str]) -> Node:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StartError(
            f"cannot write to {directory}: run the node as the folder's owner "
            f"(or make it writable for this account)"
        )
    other = run_file.read(directory)
    if other is not None and other.pid != os.getpid():
        raise StartError(
            f"{directory} is already served by another node (pid {other.pid}, {other.url}); "
            "stop it first or serve another folder"
        )
    try:
        return Node.open(directory, environ)
    except PermissionError as exc:
        raise StartError(
            f"cannot open {exc.filename or directory}: permission denied; run the node as the "
            "folder's owner"
        ) from None
    except OSError as exc:
        if _is_lock(exc):
            raise StartError(
                f"{directory} is in use by another process (its store is locked): stop the "
                "other node or command on this folder first"
            ) from None
        raise StartError(f"cannot open {directory}: {exc}") from None


def run(directory: Path, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the folder; raise ConfigError or StartError (one line each) if it cannot start.

    "ready" is printed, and the run file written, only once the site listens."""
    configure()
    settings = load_settings(directory)
    host = host or settings.http.host
    port = port or settings.http.port
    url = local_url(host, port)
    node = _open(directory, _base_url_environ(settings, host, port, dict(os.environ)))
    app = create_app(node)
    projected: list[int] = []
    listening = False

    async def catch_up(_app: web.Application) -> None:
        projected.append(await node.write(node.project))

    def ready(_banner: str) -> None:
        nonlocal listening
        listening = True
        run_file.write(directory, url)
        log.info(
            "node ready",
            extra={"node": node.id, "url": url, "projected": sum(projected)},
        )
        print(f"Allmende node {node.settings.node.name} ready on {url}", flush=True)

    app.on_startup.append(catch_up)
    app.on_startup.append(_quiet_collector)  # last: after every room has started
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            shutdown_timeout=node.settings.http.shutdown_timeout,
            print=ready,
            access_log=None,
            handle_signals=True,
            **connection_options(node.settings),
        )
    except OSError as exc:
        if listening:
            raise
        if exc.errno == errno.EADDRINUSE:
            raise StartError(
                f"port {port} on {host} is busy: stop what listens there, or start with "
                "--port N (another free port)"
            ) from None
        raise StartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        if listening:
            run_file.remove(directory)
