"""A provider that sends its agreement before the node has read its answer to the request.

Eclipse EDC does this when the machine is busy: its state machine agrees (and posts the
ContractAgreementMessage to the consumer's callback) while the HTTP answer to the
ContractRequestMessage, which names its providerPid, is still on its way. The stand-in
below is a DSP 2025-1 provider (negotiation endpoints as the specification's HTTPS binding
names them) that always does so: it posts the agreement first and answers the request only
once the node took it. It then posts its agreement once more, as EDC does when it missed
the node's answer to it: the node acknowledges it and verifies again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from allmende.policies.terms import DSP_CONTEXT
from tests.services.ports import free_port
from tests.support import admin_headers, make_node

PROVIDER = "urn:partner:wasserverband"
PROVIDER_PID = "urn:uuid:provider-early-1"
PERMISSION = [{"action": "use"}]


class EarlyProvider:
    """Answers a contract request only after its agreement reached the consumer."""

    def __init__(self) -> None:
        self.port = free_port()
        self.verified: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.verifications = 0
        self.agreement: dict[str, Any] = {}
        self._runner: web.AppRunner | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> EarlyProvider:
        app = web.Application()
        app.router.add_post("/negotiations/request", self._request)
        app.router.add_post("/negotiations/{pid}/agreement/verification", self._verification)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _request(self, request: web.Request) -> web.Response:
        body = await request.json()
        consumer_pid, callback = body["consumerPid"], body["callbackAddress"].rstrip("/")
        agreement = {
            "@context": [DSP_CONTEXT],
            "@type": "ContractAgreementMessage",
            "providerPid": PROVIDER_PID,
            "consumerPid": consumer_pid,
            "agreement": {
                "@id": "urn:uuid:agreement-early-1",
                "@type": "Agreement",
                "target": body["offer"]["target"],
                "assigner": PROVIDER,
                "assignee": "urn:node",
                "timestamp": "2026-12-07T08:00:00Z",
                "permission": PERMISSION,
            },
        }
        self.callback, self.consumer_pid, self.agreement = callback, consumer_pid, agreement
        await self._agree()
        return web.json_response(
            {
                "@context": [DSP_CONTEXT],
                "@type": "ContractNegotiation",
                "providerPid": PROVIDER_PID,
                "consumerPid": consumer_pid,
                "state": "REQUESTED",
            },
            status=201,
        )

    async def _agree(self) -> None:
        url = f"{self.callback}/negotiations/{self.consumer_pid}/agreement"
        async with aiohttp.ClientSession() as http, http.post(url, json=self.agreement) as r:
            assert r.status == 200, await r.text()

    async def _verification(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.verifications += 1
        if self.verifications == 1:  # as if the answer had been lost: the agreement again
            asyncio.get_running_loop().create_task(self._agree())
            return web.Response(status=200)
        if not self.verified.done():
            self.verified.set_result(f"{request.match_info['pid']} {body['providerPid']}")
        finalized = {
            "@context": [DSP_CONTEXT],
            "@type": "ContractNegotiationEventMessage",
            "providerPid": PROVIDER_PID,
            "consumerPid": self.consumer_pid,
            "eventType": "FINALIZED",
        }

        async def finalize() -> None:
            url = f"{self.callback}/negotiations/{self.consumer_pid}/events"
            async with aiohttp.ClientSession() as http, http.post(url, json=finalized) as r:
                assert r.status == 200, await r.text()

        asyncio.get_running_loop().create_task(finalize())
        return web.Response(status=200)


@pytest.fixture
async def provider_and_node(tmp_path: Path) -> AsyncIterator[tuple[EarlyProvider, Node]]:
    provider = await EarlyProvider().start()
    port = free_port()
    node = make_node(
        tmp_path / "node",
        port=port,
        environ={"ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{provider.port}"},
    )
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield provider, node
    await runner.cleanup()
    await provider.stop()


async def test_an_agreement_before_the_answer_is_verified_at_the_providers_process(
    provider_and_node: tuple[EarlyProvider, Node],
) -> None:
    provider, node = provider_and_node
    offer: dict[str, Any] = {
        "@id": "urn:offer:pegel",
        "@type": "Offer",
        "target": "pegel",
        "assigner": PROVIDER,
        "permission": PERMISSION,
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{node.base_url}/admin/dsp/negotiations",
            json={
                "providerId": PROVIDER,
                "connectorAddress": provider.address,
                "datasetId": "pegel",
                "offer": offer,
            },
            headers=admin_headers(node),
        ) as started:
            assert started.status == 201, await started.text()
        async with asyncio.timeout(20):
            # sent to the provider's process, naming it: not to /negotiations//...
            assert await provider.verified == f"{PROVIDER_PID} {PROVIDER_PID}"
            while True:
                async with http.get(
                    f"{node.base_url}/admin/dsp/negotiations", headers=admin_headers(node)
                ) as found:
                    [row] = (await found.json())["items"]
                if row["state"] in ("FINALIZED", "TERMINATED"):
                    break
                await asyncio.sleep(0.05)
    assert row["state"] == "FINALIZED", row
    assert row["provider_pid"] == PROVIDER_PID and row["agreement_id"], row
    assert provider.verifications == 2  # the repeated agreement was verified once more
