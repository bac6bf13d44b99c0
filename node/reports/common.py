"""Helpers of the Mängelmelder's HTTP modules: the node of a request, a read in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlmodel import Session

from allmende.node.runtime import Node

PROBLEM = {"$ref": "#/components/responses/Problem"}


def node_of(request: web.Request) -> Node:
    node: Node = request.app["node"]
    return node


def read(request: web.Request, work: Callable[[Session], Any]) -> Awaitable[Any]:
    engine = node_of(request).engine

    def run() -> Any:
        with Session(engine) as session:
            return work(session)

    return asyncio.to_thread(run)
