"""Every reader takes the whole body, however it arrives: in HTTP chunks, a byte at a time,
or larger than a megabyte; beyond its limit it refuses with 413 (server) or a clear error
(client). Over real loopback sockets: requests are written byte by byte with asyncio
streams, so chunking and pacing are ours; answers come from real aiohttp servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allmende.node.dsp.callbacks import CallbackFailed, Sender
from allmende.node.dsp.messages import MAX_MESSAGE_BYTES
from allmende.node.http.app import create_app
from allmende.node.keys import MAX_JWKS_BYTES, fetch_jwks, public_jwk_with_kid
from allmende.node.runtime import Node
from allmende.policies.terms import DSP_CONTEXT
from tests.federation.villages import eventually
from tests.support import make_node

TRICKLE = 0.01
"""Seconds between the bytes of a trickled body."""
Answer = tuple[int, dict[str, str], bytes]


async def send(
    address: tuple[str, int],
    method: str,
    path: str,
    headers: dict[str, str],
    pieces: Sequence[bytes],
    *,
    chunked: bool,
    pause: float = 0.0,
) -> Answer:
    """One HTTP/1.1 request written piece by piece (each piece one HTTP chunk when
    `chunked`, else the body under a Content-Length), `pause` seconds apart."""
    host, port = address
    reader, writer = await asyncio.open_connection(host, port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {sum(len(piece) for piece in pieces)}")
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for piece in pieces:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                await writer.drain()
                if pause:
                    await asyncio.sleep(pause)
            if chunked:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:  # the server answered (413) before the body was sent
            pass
        raw = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return _parse(raw)


def _parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        decoded = bytearray()
        while True:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded += body[:size]
            body = body[size + 2 :]
        body = bytes(decoded)
    return int(status_line.split()[1]), headers, body


def split(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def trickle(body: bytes) -> list[bytes]:
    return split(body, 1)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Any]:
    """Start a node on 127.0.0.1 (port 0) with settings from the environment; its address."""
    runners: list[web.AppRunner] = []

    async def start(environ: dict[str, str] | None = None) -> tuple[Node, tuple[str, int]]:
        node = make_node(tmp_path / f"node{len(runners)}", environ=environ)
        runner = web.AppRunner(create_app(node, close_node=True))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return node, ("127.0.0.1", int(runner.addresses[0][1]))

    yield start
    for runner in runners:
        await runner.cleanup()


# -- SPARQL endpoint --------------------------------------------------------------------------

ACCEPT = {"Accept": "application/sparql-results+json"}
FORM = {**ACCEPT, "Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {**ACCEPT, "Content-Type": "application/sparql-query"}


def counting_query(padding: int = 0) -> tuple[str, list[str]]:
    """A query whose answer names every value at its very end: a cut-off copy is either
    not SPARQL or answers something else. `padding` bytes of comment come first."""
    values = [str(n) for n in range(1, 31)]
    comment = f"# {'x' * padding}\n" if padding else ""
    query = f"{comment}SELECT ?v WHERE {{ VALUES ?v {{ {' '.join(values)} }} }} ORDER BY ?v"
    return query, values


def values_of(answer: Answer) -> list[str]:
    status, _headers, body = answer
    assert status == 200, body[:500]
    bindings = json.loads(body)["results"]["bindings"]
    return [row["v"]["value"] for row in bindings]


async def test_sparql_reads_a_trickled_query_whole(served: Any) -> None:
    _node, address = await served()
    query, values = counting_query()
    form = urlencode({"query": query}).encode()
    assert len(form) < 260  # a small body: byte by byte stays quick
    answer = await send(
        address, "POST", "/sparql", FORM, trickle(form), chunked=False, pause=TRICKLE
    )
    assert values_of(answer) == values
    direct = query.encode()
    answer = await send(
        address, "POST", "/sparql", DIRECT, trickle(direct), chunked=True, pause=TRICKLE
    )
    assert values_of(answer) == values


async def test_sparql_refuses_a_trickled_update_whole(served: Any) -> None:
    _node, address = await served()
    form = urlencode({"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}).encode()
    status, headers, body = await send(
        address, "POST", "/sparql", FORM, trickle(form), chunked=False, pause=TRICKLE
    )
    assert status == 403, body
    assert headers["content-type"].startswith("application/problem+json")
    assert "read-only" in json.loads(body)["detail"]


async def test_sparql_reads_a_chunked_query_over_a_megabyte(served: Any) -> None:
    _node, address = await served({"ALLMENDE_SPARQL_MAX_QUERY_BYTES": str(2 * 1024 * 1024)})
    query, values = counting_query(padding=1_200_000)
    direct = query.encode()
    answer = await send(address, "POST", "/sparql", DIRECT, split(direct, 4096), chunked=True)
    assert values_of(answer) == values
    form = urlencode({"query": query}).encode()
    answer = await send(address, "POST", "/sparql", FORM, split(form, 8192), chunked=True)
    assert values_of(answer) == values
    answer = await send(address, "POST", "/sparql", FORM, split(form, 65536), chunked=False)
    assert values_of(answer) == values


async def test_sparql_answers_413_past_its_limit_however_the_body_comes(served: Any) -> None:
    node, address = await served()
    limit = node.settings.sparql.max_query_bytes
    query, _values = counting_query(padding=1_100_000)
    for headers, body in ((DIRECT, query.encode()), (FORM, urlencode({"query": query}).encode())):
        for chunked in (True, False):
            status, answer_headers, answer = await send(
                address, "POST", "/sparql", headers, split(body, 16384), chunked=chunked
            )
            assert status == 413, answer[:300]
            assert answer_headers["content-type"].startswith("application/problem+json")
            problem = json.loads(answer)
            assert problem["limit"] == limit and str(limit) in problem["detail"]


async def requests_by_status(address: tuple[str, int], route: str) -> dict[str, float]:
    """The node's request counter for POSTs to `route`, by status class."""
    url = f"http://{address[0]}:{address[1]}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    prefix = f'allmende_http_requests_total{{method="POST",route="{route}",status="'
    return {
        line[len(prefix) : len(prefix) + 3]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }


async def test_a_body_cut_off_by_the_client_is_its_error_not_a_crash(served: Any) -> None:
    """The client promises 500 bytes, sends 10 and hangs up: a 4xx in the books, no 5xx."""
    _node, address = await served()
    for path in ("/sparql", CATALOG_REQUEST):
        _reader, writer = await asyncio.open_connection(*address)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            "Content-Length: 500\r\n\r\nSELECT * {".encode()
        )
        await writer.drain()
        await asyncio.sleep(0.05)  # pacing: the rest of the body never comes
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

        async def counted(path: str = path) -> dict[str, float] | None:
            counts = await requests_by_status(address, path)
            return counts if counts else None

        counts = await eventually(counted, what=f"the cut-off request to {path} counted")
        assert counts == {"4xx": 1.0}, counts


# -- DSP message intake -----------------------------------------------------------------------

CATALOG_REQUEST = "/dsp/catalog/request"
JSON = {"Content-Type": "application/json"}


def catalog_request(filter_bytes: int = 0) -> bytes:
    """A CatalogRequestMessage; its `filter` carries `filter_bytes` in up to 20 strings."""
    message: dict[str, Any] = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage"}
    if filter_bytes:
        message["filter"] = ["f" * (filter_bytes // 20)] * 20
    return json.dumps(message).encode()


def is_catalog(answer: Answer) -> bool:
    status, _headers, body = answer
    assert status == 200, body[:500]
    return bool(json.loads(body)["@type"] == "Catalog")


async def test_dsp_reads_trickled_chunked_and_large_messages_whole(served: Any) -> None:
    _node, address = await served()
    small = catalog_request()
    assert len(small) < 200
    for chunked in (False, True):
        answer = await send(
            address, "POST", CATALOG_REQUEST, JSON, trickle(small), chunked=chunked, pause=TRICKLE
        )
        assert is_catalog(answer)
    large = catalog_request(MAX_MESSAGE_BYTES - 1000)
    assert 200_000 < len(large) <= MAX_MESSAGE_BYTES
    for size in (1000, 16384):
        answer = await send(
            address, "POST", CATALOG_REQUEST, JSON, split(large, size), chunked=True
        )
        assert is_catalog(answer)


async def test_dsp_refuses_a_message_past_its_limit(served: Any) -> None:
    _node, address = await served()
    huge = catalog_request(1_100_000)
    for chunked in (True, False):
        status, _headers, body = await send(
            address, "POST", CATALOG_REQUEST, JSON, split(huge, 16384), chunked=chunked
        )
        assert status == 413, body[:300]
        error = json.loads(body)
        assert error["@type"] == "CatalogError"
        assert str(MAX_MESSAGE_BYTES) in " ".join(error["reason"])


# -- the key fetch (a client) -----------------------------------------------------------------


@pytest.fixture
async def paced_server() -> AsyncIterator[Any]:
    """Serves a body at /body (GET or POST) in pieces of `size` bytes (chunked), `pause` seconds apart."""
    runners: list[web.AppRunner] = []

    async def start(body: bytes, size: int, pause: float = 0.0) -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for piece in split(body, size):
                await response.write(piece)
                if pause:
                    await asyncio.sleep(pause)
            await response.write_eof()
            return response

        app = web.Application()
        app.router.add_get("/body", handler)
        app.router.add_post("/body", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/body"

    yield start
    for runner in runners:
        await runner.cleanup()


def jwks(count: int) -> tuple[bytes, set[str]]:
    keys = [public_jwk_with_kid(Ed25519PrivateKey.generate().public_key()) for _ in range(count)]
    return json.dumps({"keys": keys}).encode(), {key["kid"] for key in keys}


async def test_key_fetch_reads_a_trickled_jwks(paced_server: Any) -> None:
    body, kids = jwks(1)
    assert len(body) < 200
    url = await paced_server(body, 1, TRICKLE)
    async with aiohttp.ClientSession() as session:
        assert set(await fetch_jwks(session, url)) == kids


async def test_key_fetch_reads_a_chunked_jwks_near_its_limit(paced_server: Any) -> None:
    body, kids = jwks(350)
    assert 40_000 < len(body) <= MAX_JWKS_BYTES
    url = await paced_server(body, 1024, 0.001)
    async with aiohttp.ClientSession() as session:
        assert set(await fetch_jwks(session, url)) == kids


async def test_key_fetch_refuses_a_jwks_past_its_limit(paced_server: Any) -> None:
    body, _kids = jwks(10)
    huge = body[:-1] + b', "padding": "' + b"p" * 1_100_000 + b'"}'
    url = await paced_server(huge, 16384)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match=str(MAX_JWKS_BYTES)):
            await fetch_jwks(session, url)


# -- the DSP client: a counterpart's answer ---------------------------------------------------


async def test_dsp_client_reads_a_trickled_answer_and_refuses_one_past_the_limit(
    paced_server: Any,
) -> None:
    answer = {"@type": "ContractNegotiation", "state": "REQUESTED"}
    sender = Sender()
    try:
        url = await paced_server(json.dumps(answer).encode(), 1, TRICKLE)
        assert await sender.post(url, {"@type": "ContractRequestMessage"}) == answer
        huge = json.dumps({**answer, "padding": "p" * 1_100_000}).encode()
        url = await paced_server(huge, 16384)
        with pytest.raises(CallbackFailed, match=str(MAX_MESSAGE_BYTES)):
            await sender.post(url, {"@type": "ContractRequestMessage"})
    finally:
        await sender.close()
