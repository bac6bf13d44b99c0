"""Console page of the Dataspace Protocol: the negotiations and transfers the node takes
part in, as provider for its partners and as consumer of its neighbours' data."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from allmende.node.dsp.models import Negotiation, Transfer, recent
from allmende.node.http.openapi import describe
from allmende.node.runtime import Node
from allmende.node.web.console import signed_in


@describe("Console: Dataspace Protocol negotiations and transfers", tags=["console"])
@signed_in
@aiohttp_jinja2.template("admin/dataspace.html")
async def dataspace_page(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    negotiations, transfers = await asyncio.gather(
        asyncio.to_thread(recent, node.engine, Negotiation),
        asyncio.to_thread(recent, node.engine, Transfer),
    )
    return {"csrf": request["csrf"], "negotiations": negotiations, "transfers": transfers}


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/console/dataspace", dataspace_page)
