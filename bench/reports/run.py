"""Mängelmelder: reports accepted per second with photos, and submit -> neighbour's console.

    python bench/reports/run.py [--reports 200] [--forwarded 100] [--concurrency 8]
                                [--kafka BOOTSTRAP | --kafka local]

Three demo villages in this process on loopback ports, federating over the HTTP feed (or
over a Kafka broker: one given with --kafka, or with `--kafka local` a single-node broker
on 127.0.0.1 that tests/services starts for the run and stops after it, as the tests do),
with their sample boundaries and categories.

1. Throughput: `--reports` reports, each with a 1600 x 1200 phone photo carrying GPS EXIF
   (re-encoded on arrival), posted over Open311 to Lütjenholm for spots in Lütjenholm,
   `--concurrency` at a time: reports accepted per second.
2. Latency: `--forwarded` reports posted to Lütjenholm for spots in Bredstedt: p50/p99
   from sending the report to its appearing in Bredstedt's console (its table there,
   watched every 5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, col, select  # noqa: E402

from allmende.node.reports.models import Report  # noqa: E402
from tests.federation.villages import Running, eventually, federation  # noqa: E402
from tests.reports.test_villages import configure, knows_all_villages  # noqa: E402
from tests.services.kafka import KafkaBroker  # noqa: E402


def photo() -> bytes:
    image = Image.effect_mandelbrot((1600, 1200), (-2.0, -1.2, 1.0, 1.2), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (54.0, 38.0, 48.0), 3: "E", 4: (8.0, 57.0, 56.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def form(key: str, lat: float, long: float, picture: bytes | None) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in (
        ("api_key", key),
        ("service_code", "muell"),
        ("attribute[menge]", "viel"),
        ("lat", f"{lat:.6f}"),
        ("long", f"{long:.6f}"),
        ("description", "Sperrmüll am Wegesrand"),
        ("email", "bench@example.org"),
        ("acknowledge_duplicate", "true"),
    ):
        data.add_field(name, value)
    if picture is not None:
        data.add_field("media", picture, filename="IMG.jpg", content_type="image/jpeg")
    return data


async def throughput(
    session: aiohttp.ClientSession, a: Running, key: str, count: int, concurrency: int
) -> float:
    picture = photo()
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            lat, long = 54.66 + (n % 50) * 0.0004, 8.94 + (n // 50) * 0.0005
            async with session.post(
                f"{a.url}/open311/v2/requests.json", data=form(key, lat, long, picture)
            ) as r:
                assert r.status == 201, await r.text()

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return count / (time.perf_counter() - started)


async def latency(
    session: aiohttp.ClientSession, a: Running, b: Running, key: str, count: int, concurrency: int
) -> list[float]:
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            with Session(b.node.engine) as db:
                ids = db.exec(select(Report.id).where(col(Report.routing) == "received")).all()
            moment = time.perf_counter()
            for found in ids:
                seen.setdefault(found, moment)
            await asyncio.sleep(0.005)

    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            lat, long = 54.605 + (n % 40) * 0.0006, 8.93 + (n // 40) * 0.001
            started = time.perf_counter()
            async with session.post(
                f"{a.url}/open311/v2/requests.json", data=form(key, lat, long, None)
            ) as r:
                assert r.status == 201, await r.text()
                sent[(await r.json())[0]["service_request_id"]] = started

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(one(n) for n in range(count)))
    await eventually(lambda: set(sent) <= set(seen), 120, "every report at B")
    done.set()
    await watcher
    return sorted(seen[i] - sent[i] for i in sent)


async def run(args: argparse.Namespace) -> None:
    if args.kafka != "local":
        await measure(args, args.kafka)
        return
    with KafkaBroker() as broker:  # stopped however the run ends
        print(f"Kafka broker on {broker.bootstrap}, started in {broker.startup_seconds:.1f} s")
        await measure(args, broker.bootstrap)


async def measure(args: argparse.Namespace, kafka: str) -> None:
    environ = {}
    if kafka:
        suffix = str(int(time.time()))
        environ = {
            "ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": kafka,
            "ALLMENDE_FEDERATION_CATALOG_TOPIC": f"allmende.catalog.v1.bench{suffix}",
            "ALLMENDE_FEDERATION_OBSERVATIONS_TOPIC": f"allmende.observations.v1.bench{suffix}",
        }
    with tempfile.TemporaryDirectory() as root:
        async with federation(Path(root), environ) as villages, aiohttp.ClientSession() as session:
            a, b, _ = villages
            for running in villages:
                await configure(session, running)
            async with session.put(
                f"{a.url}/admin/reports/settings",
                json={"rate_per_hour": 100_000},
                headers=a.admin(),
            ) as r:
                assert r.status == 200
            async with session.post(
                f"{a.url}/admin/reports/clients", json={"name": "bench"}, headers=a.admin()
            ) as r:
                key = (await r.json())["api_key"]
            await eventually(lambda: knows_all_villages(session, a), 60, "boundaries")
            rate = await throughput(session, a, key, args.reports, args.concurrency)
            delays = await latency(session, a, b, key, args.forwarded, args.concurrency)
    transport = f"Kafka {kafka}" if kafka else "HTTP feed"
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(f"reports with a 1600x1200 photo, {args.concurrency} at a time: {rate:.1f} reports/s")
    print(
        f"submit at Lütjenholm -> Bredstedt's console over the {transport}, "
        f"{len(delays)} reports: p50 {statistics.median(delays) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--forwarded", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--kafka",
        default="",
        help="bootstrap servers, or 'local' for a broker started for the run; "
        "default: the HTTP feed",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
