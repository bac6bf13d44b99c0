"""A provider's reaction reaches a consumer that is not listening for it yet.

A consumer learns a process's next step from the provider's answer to its message, and may
still be taking that answer in when the provider's reaction arrives: it answers 404 for a
moment. The Eclipse DSP TCK does this in scenario CN_02_06 (it listens for the termination
only once the answer to its ACCEPTED event is back), which failed now and then on a busy
machine because the termination was refused once and dropped.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from allmende.node.auth import mint_token
from allmende.node.catalog import service
from allmende.node.http.app import create_app
from allmende.policies.terms import DSP_CONTEXT
from tests.ingest.conftest import dataset_body
from tests.services.ports import free_port
from tests.support import make_node

PARTNER = "https://kreis-nf.example/"
DATASET = "parken-dorfplatz"
CONSUMER_PID = "urn:uuid:consumer-1"


def _message(type_: str, **fields: Any) -> dict[str, Any]:
    return {"@context": [DSP_CONTEXT], "@type": type_, "consumerPid": CONSUMER_PID, **fields}


async def test_termination_after_accept_reaches_a_consumer_not_yet_listening(
    tmp_path: Path,
) -> None:
    consumer_port, port = free_port(), free_port()
    offers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    terminations: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    refused = asyncio.Event()
    listening = False

    async def offer(request: web.Request) -> web.Response:
        await offers.put(await request.json())
        return web.Response(status=200)

    async def termination(request: web.Request) -> web.Response:
        if not listening:  # as the TCK: no handler for the termination yet
            refused.set()
            return web.Response(status=404)
        await terminations.put(await request.json())
        return web.Response(status=200)

    consumer_app = web.Application()
    consumer_app.router.add_post("/callback/negotiations/{pid}/offers", offer)
    consumer_app.router.add_post("/callback/negotiations/{pid}/termination", termination)
    consumer_runner = web.AppRunner(consumer_app)
    await consumer_runner.setup()
    await web.TCPSite(consumer_runner, "127.0.0.1", consumer_port).start()

    directory = tmp_path / "node"
    node = make_node(
        directory,
        port=port,
        environ={
            "ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{consumer_port}",
            "ALLMENDE_DSP_PLANS": "plans.json",
        },
    )
    plan = {"requested": ["offer"], "accepted": ["terminate"]}  # the CN_02_06 script
    (directory / "plans.json").write_text(json.dumps({"negotiations": {DATASET: plan}}))
    await service.create(node, dataset_body(DATASET))
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    token = mint_token(node.key, node.id, role="participant", subject=PARTNER)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(base_url=node.base_url) as http:
            request = _message(
                "ContractRequestMessage",
                offer={"@id": f"{node.base_url}/datasets/{DATASET}#offer", "@type": "Offer"},
                callbackAddress=f"http://127.0.0.1:{consumer_port}/callback",
            )
            async with http.post("/dsp/negotiations/request", json=request, headers=headers) as r:
                assert r.status == 201, await r.text()
                pid = (await r.json())["providerPid"]
            await asyncio.wait_for(offers.get(), 10)
            accepted = _message(
                "ContractNegotiationEventMessage", providerPid=pid, eventType="ACCEPTED"
            )
            async with http.post(
                f"/dsp/negotiations/{pid}/events", json=accepted, headers=headers
            ) as r:
                assert r.status == 200, await r.text()
            await asyncio.wait_for(refused.wait(), 10)
            listening = True
            message = await asyncio.wait_for(terminations.get(), 10)
            assert message["@type"] == "ContractNegotiationTerminationMessage"
            assert message["providerPid"] == pid
            async with http.get(f"/dsp/negotiations/{pid}", headers=headers) as r:
                assert (await r.json())["state"] == "TERMINATED"
    finally:
        await runner.cleanup()
        await consumer_runner.cleanup()
