"""Apache Jena ARQ (from Maven Central) against a node on 127.0.0.1: remote SELECT, ASK,
CONSTRUCT and DESCRIBE, a SERVICE clause of a query Jena runs itself, and a SERVICE join
of thousands of bindings (one request each) that the node's rate limits let through."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from allmende.node.http.app import create_app
from tests.conftest import _missing
from tests.services import ServiceUnavailable
from tests.services.maven import CACHE, copy_dependencies
from tests.sparql.test_clients import served
from tests.support import admin_headers, make_node

HERE = Path(__file__).with_name("jena")
VERSION = "5.6.0"  # keep in step with jena/pom.xml


def _jars() -> Path:
    try:
        if shutil.which("java") is None:
            raise ServiceUnavailable("java not found: Apache Jena needs Java 17")
        return copy_dependencies(
            HERE / "pom.xml", CACHE / f"jena-{VERSION}" / "libs", "jena-arq-*.jar", "Apache Jena"
        )
    except ServiceUnavailable as exc:
        _missing(f"Apache Jena unavailable: {exc}")  # a skip here, a failure with CI=true
        raise


async def test_jena_queries_the_node_and_calls_it_from_service(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    libs = await asyncio.to_thread(_jars)
    endpoint = await served(tmp_path, aiohttp_server)
    returncode, out = await _jena(libs, endpoint)
    assert returncode == 0, out[-4000:]
    answers = _answers(out)
    assert answers["vars"] == "pond,label,depth", answers  # SELECT * in the query's order
    assert answers["rows"] == "Dorfteich=3,Brunnen=12", answers
    assert answers["ask"] == "true", answers
    assert answers["construct"] == (
        'brunnen depth "12"^^xsd:integer;teich depth "3"^^xsd:integer'
    ), answers
    assert answers["describe"] == ('brunnen depth "12"^^xsd:integer;brunnen label "Brunnen"@de'), (
        answers
    )
    assert answers["service"] == "Dorfteich=3,Brunnen=12", answers


async def _jena(libs: Path, *args: str) -> tuple[int, str]:
    """Run JenaClient.java; its exit code and what it wrote (stdout, then stderr)."""
    process = await asyncio.create_subprocess_exec(
        "java",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-cp",
        f"{libs}/*",
        str(HERE / "JenaClient.java"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


def _answers(out: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


JOINED = 5000


async def _numbers_node(
    tmp_path: Path, aiohttp_server: Any, **sparql: Any
) -> tuple[str, list[str]]:
    """A node on a real loopback port holding ex:n0 .. ex:n4999 with ex:v 0 .. 4999; its
    /sparql address, and a list that grows by one for every query the node is asked."""
    environ = {f"ALLMENDE_SPARQL_{k.upper()}": str(v) for k, v in sparql.items()}
    node = make_node(tmp_path / "node", environ=environ)
    app = create_app(node, close_node=True)
    asked: list[str] = []
    rule = app["sparql_scope"]

    async def counted(request: web.Request) -> Any:
        asked.append(request.path)
        return await rule(request)

    app["sparql_scope"] = counted
    server = await aiohttp_server(app, host="127.0.0.1")
    lines = "\n".join(
        f"<http://example.org/n{i}> <http://example.org/v> {i} ." for i in range(JOINED)
    )
    async with aiohttp.ClientSession() as session:
        response = await session.put(
            str(server.make_url("/rdf-graphs")),
            params={"graph": "http://example.org/numbers"},
            data=lines.encode(),
            headers={**admin_headers(node), "Content-Type": "text/turtle"},
        )
        assert response.status in (201, 204), await response.text()
    return str(server.make_url("/sparql")), asked


async def test_a_jena_service_join_of_5000_bindings_completes(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """Jena asks the node once per binding; lookups cost the node almost no query time,
    so its default limits let all of them through."""
    libs = await asyncio.to_thread(_jars)
    endpoint, asked = await _numbers_node(tmp_path, aiohttp_server)
    started = time.monotonic()
    returncode, out = await _jena(libs, endpoint, "join", str(JOINED))
    took = time.monotonic() - started
    assert returncode == 0, out[-4000:]
    answers = _answers(out)
    assert answers["joined"] == str(JOINED), answers
    assert answers["agreeing"] == str(JOINED), answers
    assert len(asked) >= JOINED / 10, f"Jena sent only {len(asked)} requests"
    print(f"{JOINED} bindings joined in {took:.1f} s over {len(asked)} requests")


async def test_a_request_count_limit_stops_the_same_join(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """What the join met before: a limit of 20 queries per second with bursts of 60
    refuses it part-way with 429, and Jena gives up."""
    libs = await asyncio.to_thread(_jars)
    endpoint, asked = await _numbers_node(
        tmp_path, aiohttp_server, rate_per_second=20, rate_burst=60
    )
    returncode, out = await _jena(libs, endpoint, "join", str(JOINED))
    assert returncode != 0, out[-4000:]
    assert "429" in out, out[-4000:]
    assert 60 <= len(asked) < JOINED, len(asked)
