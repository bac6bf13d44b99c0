"""Backup and restore of a demo-sized node: the store rebuilt from the log, or copied?

Builds a node with the sample village's datasets and N observations (default 40,000, about
an hour of `allmende demo`'s three villages), then measures `node.backup.backup`, the
restore with the store rebuilt from the event log, and the alternative left out: the store
copied (an Oxigraph checkpoint of the stopped node, tar.gz'd and unpacked).

    python -m bench.backup [--observations 40000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
from aiohttp.test_utils import TestClient, TestServer

from allmende.node.backup import backup, restore
from allmende.node.http.app import create_app
from tests.ingest.conftest import prepare_village
from tests.support import make_node


async def build(directory: Path, observations: int) -> None:
    node = make_node(directory, node_id="https://luetjenholm.example/")
    secrets = await prepare_village(node)
    client = TestClient(TestServer(create_app(node)))
    await client.start_server()
    try:
        sensor = "sample-luetjenholm-leuchte-12"
        for start in range(0, observations, 1000):
            batch = [
                {
                    "sensor": sensor,
                    "property": "power",
                    "value": round(random.uniform(10, 60), 2),
                    "time": f"2024-05-{1 + (start + i) // 86400 % 28:02d}T"
                    f"{(start + i) // 3600 % 24:02d}:{(start + i) // 60 % 60:02d}:"
                    f"{(start + i) % 60:02d}Z",
                }
                for i in range(min(1000, observations - start))
            ]
            response = await client.post(
                "/ingest/observations",
                json={"observations": batch},
                headers={"X-Allmende-Webhook-Secret": secrets["observations"]},
            )
            assert response.status == 202, await response.text()
        await node.projected()
    finally:
        await client.close()  # the app's cleanup closes the node


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=40_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        village = root / "village"
        asyncio.run(build(village, args.observations))
        started = time.perf_counter()
        backup(village, root / "node.backup", environ={})
        took_backup = time.perf_counter() - started
        started = time.perf_counter()
        restore(root / "node.backup", root / "restored", environ={})
        took_restore = time.perf_counter() - started
        print(f"{args.observations} observations; store {size(village / 'data/store')} bytes")
        print(f"backup: {took_backup:.2f} s, {(root / 'node.backup').stat().st_size} bytes")
        print(f"restore with the store rebuilt from the log: {took_restore:.2f} s")

        started = time.perf_counter()
        ox.Store(str(village / "data/store")).backup(str(root / "checkpoint"))
        with tarfile.open(root / "store.tar.gz", "w:gz") as tar:
            tar.add(root / "checkpoint", "store")
        took_copy = time.perf_counter() - started
        shutil.rmtree(root / "checkpoint")
        started = time.perf_counter()
        with tarfile.open(root / "store.tar.gz") as tar:
            tar.extractall(root / "unpacked", filter="data")
        took_unpack = time.perf_counter() - started
        print(
            f"store copied instead: +{took_copy:.2f} s and "
            f"+{(root / 'store.tar.gz').stat().st_size} bytes in the backup, "
            f"{took_unpack:.2f} s to unpack on restore"
        )


if __name__ == "__main__":
    main()
