"""`python -m tests.services kafka|postgres|prepare`: the test services by hand."""

from __future__ import annotations

import signal
import sys

from tests.services import KafkaBroker, PostgresServer
from tests.services.kafka import prepare


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    if what == "prepare":
        print(f"Kafka jars ready in {prepare()}")
        return 0
    if what == "kafka":
        with KafkaBroker() as broker:
            print(
                f"Kafka on {broker.bootstrap} (started in {broker.startup_seconds:.1f} s); Ctrl-C stops"
            )
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    if what == "postgres":
        with PostgresServer() as server:
            print(f"PostgreSQL: {server.create_database('allmende')}; Ctrl-C stops")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    print("usage: python -m tests.services kafka|postgres|prepare", file=sys.stderr)
    return 2


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main(sys.argv[1:]))
