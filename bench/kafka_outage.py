"""Kafka outage benchmark: how many log lines a node writes while its broker is away.

    python bench/kafka_outage.py [--seconds 33]

Starts a real broker (tests/services, as the suite does) and `allmende serve` federating over
it, waits until relay and consumer are connected, stops the broker for `--seconds` while a
dataset is published every second (so the relay has something to send), starts it again and
prints the log lines written from the stop until 10 s after the restart, counted by logger
and message, plus the node's `allmende_retries` counters. Lines of the access log are
counted apart (one per publish request).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import KafkaBroker

PORT = 18744
URL = f"http://127.0.0.1:{PORT}"


def wait_ready(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(URL + "/health", timeout=2) as response:
                if json.loads(response.read()).get("status") == "ready":
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the node did not become ready")


def publish(token: str, number: int) -> None:
    body = {
        "id": f"outage-{number}",
        "title": {"de": "Ausfall", "en": "Outage"},
        "description": {"de": "Während des Ausfalls.", "en": "Published during the outage."},
        "license": "dl-de/by-2-0",
        "frequency": "15MIN",
        "themes": ["ENVI"],
        "contact": {"email": "daten@example.org"},
    }
    request = urllib.request.Request(
        URL + "/admin/datasets",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=33.0)
    args = parser.parse_args()
    broker = KafkaBroker()
    broker.start()
    folder = Path(tempfile.mkdtemp(prefix="allmende-outage-"))
    village = folder / "village"
    node = [sys.executable, "-m", "allmende.node"]
    subprocess.run(
        [*node, "init", str(village), "--name", "Outage"], check=True, capture_output=True
    )
    env = dict(os.environ, ALLMENDE_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap)
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen(
            [*node, "serve", str(village), "--port", str(PORT)], stdout=log, stderr=log, env=env
        )
    try:
        wait_ready(time.monotonic() + 60)
        time.sleep(5)  # relay and consumer connect and join the group
        token = subprocess.run(
            [*node, "token", str(village)], capture_output=True, text=True, check=True
        ).stdout.strip()
        before = len(log_path.read_bytes().splitlines())
        stopped = time.monotonic()
        broker.stop_broker()
        for number in range(int(args.seconds)):
            publish(token, number)
            time.sleep(1)
        broker.restart()
        outage = time.monotonic() - stopped
        time.sleep(10)
        lines = log_path.read_bytes().splitlines()[before:]
        with urllib.request.urlopen(URL + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
    finally:
        serve.terminate()
        serve.wait(30)
        broker.stop()
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            counts[("(not JSON)", line.decode(errors="replace")[:100])] += 1
            continue
        counts[(record.get("logger", ""), str(record.get("message", ""))[:100])] += 1
    access = sum(n for (logger, _), n in counts.items() if logger == "allmende.access")
    print(f"broker away {outage:.0f} s (stop to restarted); {len(lines)} log lines from the stop")
    print(f"until 10 s after the restart, {access} of them access-log lines of the publishes")
    print(f"{'lines':>6}  logger: message")
    for (logger, message), number in counts.most_common():
        if logger != "allmende.access":
            print(f"{number:>6}  {logger}: {message}")
    for family in ("allmende_retries_total", "allmende_log_repeats_held_total"):
        found = [m for m in metrics.splitlines() if m.startswith(family)]
        print(f"{family}:", ", ".join(found) or "none")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
