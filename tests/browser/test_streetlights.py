"""The street lights of `allmende demo` in Debian's chromium: a served Lütjenholm node on the
demo's winter-night clock, its sample controllers behind the demo's stand-in of The Things
Stack (node.demo.streetlights), seeded the way the demo seeds them."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import aiohttp
import pytest

from allmende.node.auth import mint_token
from allmende.node.demo import streetlights
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory
from tests.browser.test_browser import ARTIFACTS, _browser_missing, run_walk
from tests.browser.village import Village, free_port

NODE_ID = "https://luetjenholm.example/"


class Loop:
    """The demo's network stand-in on an event loop of its own thread, as in the demo."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: object) -> object:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(60)  # type: ignore[arg-type]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _seed(village: Village, network: streetlights.Network) -> None:
    admin = {"Authorization": f"Bearer {village.token}"}
    async with aiohttp.ClientSession() as session:
        await network.start()
        await streetlights.seed(session, village.url, admin, network.url)


@pytest.fixture(scope="module")
def lights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Village, str]]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    directory = tmp_path_factory.mktemp("luetjenholm")
    port = free_port()
    init_directory(directory, name="Lütjenholm", node_id=NODE_ID, port=port)
    village = Village(directory, port)
    village.token = mint_token(load_key(directory / "node-key.pem"), NODE_ID)
    os.environ[streetlights.ENVIRONMENT] = "night"  # read by the node process at start
    try:
        village.start()
    finally:
        del os.environ[streetlights.ENVIRONMENT]
    loop = Loop()
    try:
        secret = village.call("POST", "/admin/ingest/sources/ttn/secret")["secret"]
        network = streetlights.Network(village.url, secret)
        loop.run(_seed(village, network))
        yield village, network.url
        assert network.refused == [], "every downlink request was as The Things Stack takes it"
        loop.run(network.stop())
    finally:
        loop.close()
        village.stop()


def test_a_resident_switches_the_street_lights(lights: tuple[Village, str]) -> None:
    village, network = lights
    run_walk(
        "streetlights.test.mjs",
        village,
        {"ALLMENDE_NETWORK_URL": network, "ARTIFACTS": str(ARTIFACTS)},
    )
