"""What proving a partner with DCP costs per DSP request, next to a participant token.

A partner (issuer and holder from tests/identity, real HTTPS on loopback) sends N fresh
self-issued ID tokens; each is verified as a DSP request is: the token against the
partner's did:web key, then a presentation query to its credential service and the
presentation and membership credential checked. Once with DID documents and status lists
cached (dcp.cache_seconds 300, the default), once fetched every time (0). The partner's
server runs in the same process, so its signing is part of the time.

    python -m bench.dcp [--requests 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import trustme

from allmende.node.auth import mint_token
from allmende.node.dsp.http import _participant
from allmende.node.identity.did import own_did
from allmende.node.identity.verifier import Identity
from tests.identity.parties import Dataspace
from tests.services.ports import free_port
from tests.support import make_node


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def run(requests: int) -> None:
    ca = trustme.CA()
    folder = Path(tempfile.mkdtemp(prefix="allmende-bench-dcp-"))
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    space = Dataspace(free_port(), ca)
    await space.start()
    print("| check | p50 ms | p95 ms |\n|---|---|---|")
    try:
        for cache in ("300", "0"):
            node = make_node(
                folder / f"node-{cache}",
                environ={
                    "ALLMENDE_DCP_TRUSTED_ISSUERS": space.issuer.did,
                    "ALLMENDE_DCP_CA_FILE": str(ca_file),
                    "ALLMENDE_DCP_PRIVATE_ADDRESSES": "true",
                    "ALLMENDE_DCP_CACHE_SECONDS": cache,
                },
            )
            identity = Identity(node)
            did = own_did(node)
            times = []
            for _ in range(requests + 10):
                token = space.id_token(did)
                started = time.perf_counter()
                await identity.partner(token)
                times.append(time.perf_counter() - started)
            times = times[10:]  # the first ones open connections and fill the cache
            print(
                f"| DCP partner, cache_seconds {cache} | {statistics.median(times) * 1000:.1f} "
                f"| {quantile(times, 0.95):.1f} |"
            )
            await identity.fetcher.close()
            if cache == "0":
                bearer = mint_token(node.key, node.id, role="participant", subject="https://x/")
                checks = []
                for _ in range(requests):
                    started = time.perf_counter()
                    _participant(node, bearer)
                    checks.append(time.perf_counter() - started)
                print(
                    f"| participant bearer token | {statistics.median(checks) * 1000:.2f} "
                    f"| {quantile(checks, 0.95):.2f} |"
                )
            node.close()
    finally:
        await space.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    asyncio.run(run(parser.parse_args().requests))


if __name__ == "__main__":
    main()
