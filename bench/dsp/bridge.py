"""The identity bridge of the EDC tests (tests/services/edc.py) in a process of its own, for
the benchmark: in the benchmark's own process it shared one event loop with the management
API polling of every running negotiation, so each protocol message to and from the node
waited behind it, a cost the EDC provider's messages never paid.

Run by bench/dsp/run.py: `python bench/dsp/bridge.py PORT EDC_ID EDC_PROTOCOL NODE_URL
NODE_ID TOKEN`; it serves until it is terminated.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.services.edc import IdentityBridge


async def serve(
    port: int, edc_id: str, protocol: str, node_url: str, node_id: str, token: str
) -> None:
    edc: Any = SimpleNamespace(participant_id=edc_id, protocol=protocol)
    bridge = await IdentityBridge(cast(Any, edc), node_url, node_id, lambda: token, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await bridge.stop()


if __name__ == "__main__":
    port, edc_id, protocol, node_url, node_id, token = sys.argv[1:7]
    asyncio.run(serve(int(port), edc_id, protocol, node_url, node_id, token))
