"""`python -m tests.services kafka|postgres|prepare`: the test services by hand.

kafka     start a broker in the foreground, print its bootstrap address, stop on Ctrl-C
postgres  start a server in the foreground, print a database URL, stop on Ctrl-C
prepare   resolve the Kafka broker, DSP TCK, Eclipse EDC and Fuseki jars from Maven Central
          (CI runs this first)
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

from tests.services import (
    KafkaBroker,
    PostgresServer,
    ServiceUnavailable,
    dsp_tck,
    edc,
    sparql_stores,
)
from tests.services.kafka import prepare

USAGE = "usage: python -m tests.services kafka|postgres|prepare"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _wait(alive: object) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while getattr(alive, "running", True):
            time.sleep(0.5)
        print("the service ended by itself", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)


def main(argv: list[str]) -> int:
    what = argv[0] if len(argv) == 1 else ""
    try:
        if what == "prepare":
            started = time.monotonic()
            for name, resolve in (
                ("Kafka", prepare),
                ("DSP TCK", dsp_tck.prepare),
                ("Eclipse EDC", edc.prepare),
                ("Apache Jena Fuseki", sparql_stores.prepare),
            ):
                libs = resolve()
                count = len(list(libs.glob("*.jar")))
                print(f"{name} jars ready: {count} in {libs} ({time.monotonic() - started:.1f} s)")
            return 0
        if what == "kafka":
            with KafkaBroker() as broker:
                print(f"Kafka bootstrap: {broker.bootstrap}", flush=True)
                print(
                    f"(started in {broker.startup_seconds:.1f} s; log {broker.log_file}; Ctrl-C stops)"
                )
                _wait(broker)
            return 0
        if what == "postgres":
            with PostgresServer() as server:
                print(f"PostgreSQL: {server.create_database('allmende')}", flush=True)
                print(
                    f"(started in {server.startup_seconds:.1f} s; log {server.log_file}; Ctrl-C stops)"
                )
                _wait(server)
            return 0
    except ServiceUnavailable as exc:
        print(f"unavailable: {exc}", file=sys.stderr)
        return 1
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
