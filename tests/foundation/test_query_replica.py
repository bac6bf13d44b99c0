"""A read replica (`[node] role = "query"`) beside a main `allmende serve` process on one
PostgreSQL database: the main projects into an Oxigraph server, the replica into a store
folder of its own. A write through the main shows on the replica; a client that sends the
write's position reads it at once (read-your-writes); a position the replica does not reach
in time is a 504; a write to the replica is refused and leaves no event; the lag is reported.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg

from allmende.node.auth import mint_token
from allmende.node.config import load_settings
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory
from tests.foundation.test_leadership import (  # noqa: F401 (a fixture)
    health,
    oxigraph_server,
    serving,
    wait_for,
)
from tests.foundation.test_serve import free_port
from tests.services import PostgresServer
from tests.services.sparql_stores import OxigraphServer

GRAPH = "urn:test:replica"
COUNTER = "urn:test:n"
BIG_GRAPH = "urn:test:replica-big"
BIG = 100_000
"""Triples in one write: the replica takes a good part of a second to project them."""


def call(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            status, found = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        body, status, found = error.read(), error.code, dict(error.headers)
    return status, found, json.loads(body) if body else None


def write(url: str, token: str, n: int) -> tuple[int, dict[str, str], Any]:
    return call(
        f"{url}/rdf-graphs?graph={GRAPH}",
        data=f'_:reading <{COUNTER}> "{n}" .\n'.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/n-triples"},
    )


def count_on(
    url: str, headers: dict[str, str] | None = None, graph: str = GRAPH
) -> tuple[int, dict[str, str], Any]:
    query = f"SELECT (COUNT(*) AS ?c) WHERE {{ GRAPH <{graph}> {{ ?r <{COUNTER}> ?v }} }}"
    return call(
        f"{url}/sparql?query={urllib.parse.quote(query)}",
        headers={"Accept": "application/sparql-results+json", **(headers or {})},
    )


def counted(answer: tuple[int, dict[str, str], Any]) -> int:
    status, _headers, body = answer
    assert status == 200, body
    return int(body["results"]["bindings"][0]["c"]["value"])


def events_in(postgres_server: PostgresServer, database: str) -> int:
    with psycopg.connect(postgres_server.conninfo(database)) as connection:
        row = connection.execute("SELECT count(*) FROM event_log").fetchone()
    assert row is not None
    return int(row[0])


def test_a_query_replica_follows_the_log_waits_for_positions_and_refuses_writes(
    tmp_path: Path,
    postgres_server: PostgresServer,
    oxigraph_server: OxigraphServer,  # noqa: F811 (the fixture imported above)
) -> None:
    database = f"t_{uuid.uuid4().hex[:12]}"
    main_port, replica_port = free_port(), free_port()
    main_url = f"http://127.0.0.1:{main_port}"
    replica_url = f"http://127.0.0.1:{replica_port}"
    shared = {
        "ALLMENDE_DATABASE_URL": postgres_server.create_database(database),
        "ALLMENDE_NODE_BASE_URL": main_url,  # the public URL, where writes go
    }
    main, replica = tmp_path / "main", tmp_path / "replica"
    init_directory(main, name="Lütjenholm")
    shutil.copytree(main, replica)  # same node: id, key and settings
    settings = load_settings(main, shared)
    token = mint_token(load_key(settings.key_path), settings.node.id, ttl=600)

    with ExitStack() as stack:
        processes = [
            stack.enter_context(
                serving(main, main_port, {**shared, "ALLMENDE_STORE_URL": oxigraph_server.url})
            ),
            stack.enter_context(
                serving(replica, replica_port, {**shared, "ALLMENDE_NODE_ROLE": "query"})
            ),
        ]
        for url, process in zip((main_url, replica_url), processes, strict=True):
            wait_for(
                lambda url=url, process=process: process.poll() is None and health(url),
                60,
                f"{url} ready",
            )
        replica_health = health(replica_url)
        assert replica_health is not None
        assert replica_health["checks"]["projector"] == "replica"
        assert health(main_url)["checks"]["projector"] == "leading"  # type: ignore[index]

        # a write through the main names its position; the replica, asked to read at that
        # position, answers only once it shows the write
        for n in range(5):
            status, headers, body = write(main_url, token, n)
            assert status in {200, 201, 204}, body
        position = int(headers["Allmende-Position"])
        assert position >= 5
        answer = count_on(replica_url, {"Allmende-Position": str(position), "Prefer": "wait=20"})
        assert counted(answer) == 5
        assert int(answer[1]["Allmende-Position"]) >= position

        # without a position the replica follows on its own (commits are notified)
        for n in range(5, 10):
            write(main_url, token, n)
        wait_for(lambda: counted(count_on(replica_url)) == 10, 30, "10 on the replica")

        # the replica is held (SIGSTOP) while the main takes a write large enough that
        # projecting it keeps the replica busy for a while once it goes on: asked at the
        # write's position, it answers once it shows all of it, not before
        big = "".join(f'_:b{n} <{COUNTER}> "{n}" .\n' for n in range(BIG)).encode()
        os.kill(processes[1].pid, signal.SIGSTOP)
        status, headers, body = call(
            f"{main_url}/rdf-graphs?graph={BIG_GRAPH}",
            data=big,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/n-triples"},
        )
        assert status in {200, 201, 204}, body
        position = int(headers["Allmende-Position"])
        os.kill(processes[1].pid, signal.SIGCONT)
        answer = count_on(
            replica_url,
            {"Allmende-Position": str(position), "Prefer": "wait=30"},
            graph=BIG_GRAPH,
        )
        assert counted(answer) == BIG
        assert int(answer[1]["Allmende-Position"]) >= position

        # held again, then let go: while it projects the next large write, it says it is
        # behind, in events and seconds
        os.kill(processes[1].pid, signal.SIGSTOP)
        status, headers, body = call(
            f"{main_url}/rdf-graphs?graph={BIG_GRAPH}-2",
            data=big,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/n-triples"},
        )
        assert status in {200, 201, 204}, body
        os.kill(processes[1].pid, signal.SIGCONT)
        lagging = wait_for(
            lambda: (
                (h := health(replica_url)) is not None
                and h["checks"]["replica"]["behind"] > 0
                and h["checks"]["replica"]
            ),
            30,
            "the replica reports its lag",
        )
        assert lagging["head"] - lagging["position"] == lagging["behind"]
        assert lagging["seconds"] >= 0

        # a position it does not reach in time: 504 after the wait asked for
        started = time.monotonic()
        status, headers, body = count_on(
            replica_url, {"Allmende-Position": str(position + 10_000), "Prefer": "wait=1"}
        )
        waited = time.monotonic() - started
        assert status == 504, body
        assert headers["Content-Type"].startswith("application/problem+json")
        assert body["wanted"] == position + 10_000
        assert 1.0 <= waited < 10

        # a write to the replica is refused, names the main and writes nothing
        before = events_in(postgres_server, database)
        status, headers, body = write(replica_url, token, 99)
        assert status == 405, body
        assert headers["Content-Type"].startswith("application/problem+json")
        assert body["write_node"] == main_url
        assert main_url in body["detail"]
        assert events_in(postgres_server, database) == before
        assert counted(count_on(main_url)) == 10

        # the lag: none once caught up, and the same figures in the headers
        state = wait_for(
            lambda: (
                (h := health(replica_url)) is not None
                and h["checks"]["replica"]["behind"] == 0
                and h["checks"]["replica"]
            ),
            30,
            "the replica caught up",
        )
        assert state["position"] == state["head"] == before
        assert state["seconds"] == 0
        _status, headers, _body = count_on(replica_url)
        assert headers["Allmende-Lag"] == "0"
        assert headers["Allmende-Lag-Seconds"] == "0"
        assert int(headers["Allmende-Position"]) == before

        for process in processes:  # a clean stop: the replica's SPARQL workers end with it
            process.terminate()
        for process in processes:
            assert process.wait(timeout=60) == 0

    for folder in (main, replica):
        log = (folder / "serve.log").read_text(encoding="utf-8")
        assert '"level": "ERROR"' not in log, log[-3000:]  # no job tried to write on the replica
