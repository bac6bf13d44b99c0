"""Malformed bodies and headers get a 400 problem naming what is wrong, never a 500.

The first four tests are the 500s seen on main: a broken multipart body on the console's
sign-in and sign-out and on CSV ingest, and a part with undecodable bytes in its name on a
distribution upload. All go over a real loopback socket.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from allmende.node.auth import mint_token
from allmende.node.http.app import create_app
from allmende.node.http.problems import PROBLEM_TYPE, problem_middleware
from allmende.node.runtime import Node
from tests.ingest.conftest import dataset_body
from tests.support import admin_headers, make_node

BOUNDARY = "XyZ"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
BROKEN_MULTIPARTS = {
    "no closing boundary": (
        MULTIPART,
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nv',
    ),
    "no starting boundary": (MULTIPART, b"just some bytes"),
    "no boundary parameter": ("multipart/form-data", b"--XyZ\r\n\r\n--XyZ--\r\n"),
    "a NUL in a part header": (
        MULTIPART,
        b'--XyZ\r\nContent-Disposition: form-data; name="a\x00"\r\n\r\nv\r\n--XyZ--\r\n',
    ),
    "an unknown charset": (
        "application/x-www-form-urlencoded; charset=no-such-charset",
        b"a=b",
    ),
    "undecodable urlencoded bytes": ("application/x-www-form-urlencoded", b"\xff\xfe=%%"),
}


def multipart(disposition: bytes, content: bytes = b"a,b\n1,2\n") -> bytes:
    return (
        b"--XyZ\r\nContent-Disposition: form-data; "
        + disposition
        + b"\r\nContent-Type: text/csv\r\n\r\n"
        + content
        + b"\r\n--XyZ--\r\n"
    )


async def assert_problem(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == PROBLEM_TYPE
    body: dict[str, Any] = json.loads(await response.read())
    assert body["status"] == status and body["title"]
    return body


async def sign_in(client: Any, node: Node) -> None:
    form = await (await client.get("/admin/login")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf, "the sign-in form carries a CSRF token"
    response = await client.post(
        "/admin/login",
        data={"csrf_token": csrf.group(1), "token": mint_token(node.key, node.id)},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/admin/"


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path / "village")


@pytest.mark.parametrize("path", ["/admin/login", "/admin/logout"])
@pytest.mark.parametrize("case", sorted(BROKEN_MULTIPARTS))
async def test_console_sign_in_and_out_refuse_broken_forms(
    aiohttp_client: Any, node: Node, path: str, case: str
) -> None:
    client = await aiohttp_client(create_app(node))
    if path == "/admin/logout":  # only a live session reads the sign-out form
        await sign_in(client, node)
    content_type, body = BROKEN_MULTIPARTS[case]
    response = await client.post(
        path, data=body, headers={"Content-Type": content_type}, allow_redirects=False
    )
    if "charset=" in content_type:  # refused before the body is read
        assert "charset" in (await assert_problem(response, 415))["detail"]
        return
    problem = await assert_problem(response)
    assert "form" in problem["detail"] or "body" in problem["detail"]


@pytest.mark.parametrize("case", sorted(BROKEN_MULTIPARTS))
async def test_csv_ingest_refuses_broken_multipart(
    aiohttp_client: Any, node: Node, case: str
) -> None:
    client = await aiohttp_client(create_app(node))
    headers = admin_headers(node)
    assert (await client.post("/admin/datasets", json=dataset_body("air"), headers=headers)).ok
    content_type, body = BROKEN_MULTIPARTS[case]
    response = await client.post(
        "/ingest/csv/air", data=body, headers={**headers, "Content-Type": content_type}
    )
    await assert_problem(response, 415 if content_type.startswith("application/") else 400)


async def test_distribution_upload_refuses_undecodable_names(
    aiohttp_client: Any, node: Node
) -> None:
    client = await aiohttp_client(create_app(node))
    headers = {**admin_headers(node), "Content-Type": MULTIPART}
    assert (
        await client.post("/admin/datasets", json=dataset_body("air"), headers=admin_headers(node))
    ).ok
    url = "/admin/datasets/air/distributions"

    bad_file_name = await client.post(
        url, data=multipart(b'name="file"; filename="\xff.csv"'), headers=headers
    )
    assert "file name" in (await assert_problem(bad_file_name))["detail"]
    bad_part_name = await client.post(url, data=multipart(b'name="fi\xffle"'), headers=headers)
    assert "name" in (await assert_problem(bad_part_name))["detail"]
    unknown_part = await client.post(url, data=multipart('name="fïle"'.encode()), headers=headers)
    assert "fïle" in (await assert_problem(unknown_part))["detail"]
    bad_title = await client.post(
        url,
        data=multipart(b'name="title"', b"\xff") + multipart(b'name="file"; filename="a.csv"'),
        headers=headers,
    )
    assert "title" in (await assert_problem(bad_title))["detail"]

    # a real non-ASCII file name is kept
    good = await client.post(
        url, data=multipart('name="file"; filename="Bäume.csv"'.encode()), headers=headers
    )
    assert good.status == 201, await good.text()
    assert "Bäume.csv" in json.dumps(await good.json(), ensure_ascii=False)


async def raw_post(
    client: Any, path: str, headers: list[bytes], body: bytes, method: bytes = b"POST"
) -> tuple[int, Any]:
    """A request written byte by byte, for header bytes an HTTP client would re-encode."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = [method + b" " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    head += [*headers, b"Content-Length: " + str(len(body)).encode()]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


async def test_raw_upload_refuses_an_undecodable_disposition(
    aiohttp_client: Any, node: Node
) -> None:
    client = await aiohttp_client(create_app(node))
    headers = admin_headers(node)
    assert (await client.post("/admin/datasets", json=dataset_body("air"), headers=headers)).ok
    status, problem = await raw_post(
        client,
        "/admin/datasets/air/distributions",
        [
            b"Authorization: " + headers["Authorization"].encode(),
            b"Content-Type: text/csv",
            b'Content-Disposition: attachment; filename="\xff.csv"',
        ],
        b"a,b\n",
    )
    assert status == 400 and "Content-Disposition" in problem["detail"]


MALFORMED_HEADERS: list[dict[str, str]] = [
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer a.b.c"},
    {"Authorization": "Basic %%%"},
    {"Authorization": "Bearer " + "x" * 5000},
    {"Accept": "*/*;q=nonsense, text/html;;;"},
    {"Accept": "text/"},
    {"Content-Type": "multipart/form-data; boundary="},
    {"Content-Type": ";;;=="},
    {"Range": "bytes=9-1"},
    {"Range": "bytes=x-y"},
    {"Range": "lines=1-2"},
    {"If-None-Match": '"unterminated'},
    {"If-None-Match": "W/"},
    {"If-Modified-Since": "yesterday"},
    {"Cookie": "allmende_console=not-a-fernet-token"},
    {"Cookie": "=;;;a b=%%; allmende_console"},
    {"Accept-Language": "??;q=2"},
]


async def test_malformed_headers_on_every_read_route(aiohttp_client: Any, node: Node) -> None:
    """Every GET route without path parameters, with each malformed header: a 4xx or a 2xx/3xx."""
    app = create_app(node)
    client = await aiohttp_client(app)
    paths = sorted(
        {
            route.resource.canonical
            for route in app.router.routes()
            if route.method == "GET"
            and route.resource is not None
            and "{" not in route.resource.canonical
            and not route.resource.canonical.startswith("/static")
        }
    )
    assert len(paths) > 20
    seen = 0
    for path in paths:
        for headers in MALFORMED_HEADERS:
            response = await client.get(path, headers=headers, allow_redirects=False)
            await response.read()
            assert response.status < 500, (path, headers, await response.text())
            if response.status >= 400 and response.content_type != "text/html":
                await assert_problem(response, response.status)
            seen += 1
    assert seen == len(paths) * len(MALFORMED_HEADERS)


UNDECODABLE_HEADERS = [
    b"Authorization: Bearer \xff\xfe",
    b"Authorization: Bearer a.\xff.c",
    b"Cookie: allmende_console=\xff",
    b"Cookie: lang=\xfe",
    b"Accept: \xff/\xfe",
    b'If-None-Match: "\xff"',
    b"X-CSRF-Token: \xff",
]


async def test_headers_that_are_not_utf8_are_refused(aiohttp_client: Any, node: Node) -> None:
    """Bytes that are not UTF-8 in a token or cookie crashed the JWT and cookie decoders."""
    app = create_app(node)
    client = await aiohttp_client(app)
    paths = sorted(
        {
            route.resource.canonical
            for route in app.router.routes()
            if route.method == "GET"
            and route.resource is not None
            and "{" not in route.resource.canonical
            and not route.resource.canonical.startswith("/static")
        }
    )
    for path in paths:
        for header in UNDECODABLE_HEADERS:
            status, problem = await raw_post(client, path, [header], b"", method=b"GET")
            assert status == 400 and "is not UTF-8" in problem["detail"], (path, header)
    status, problem = await raw_post(
        client, "/ingest/ttn", [b"X-Allmende-Webhook-Secret: \xff"], b"{}"
    )
    assert status == 400, problem
    # UTF-8 that is no token is simply a wrong token
    response = await client.get("/admin/datasets", headers={"Authorization": "Bearer ä.ö.ü"})
    await assert_problem(response, 401)


async def test_only_body_parsing_errors_become_400(aiohttp_client: Any) -> None:
    """A ValueError from our own code stays a 500: bugs are not hidden as client errors."""

    async def reads_form(request: web.Request) -> web.Response:
        await request.post()  # not through node.http.forms: the middleware's safety net
        return web.Response(text="ok")

    async def buggy(request: web.Request) -> web.Response:
        int("not a number")
        return web.Response(text="unreachable")

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_post("/form", reads_form)
    app.router.add_post("/bug", buggy)
    client = await aiohttp_client(app)
    content_type, body = BROKEN_MULTIPARTS["no closing boundary"]
    form = await client.post("/form", data=body, headers={"Content-Type": content_type})
    assert "cannot be read" in (await assert_problem(form))["detail"]
    bug = await client.post("/bug", data=b"")
    await assert_problem(bug, 500)


@pytest.mark.parametrize("path", ["/admin/login", "/admin/logout"])
async def test_a_non_ascii_csrf_token_is_wrong_not_a_crash(
    aiohttp_client: Any, node: Node, path: str
) -> None:
    """Found by test_fuzz.py: comparing non-ASCII text in constant time raised TypeError."""
    client = await aiohttp_client(create_app(node))
    await client.get("/admin/login")  # the session now holds a CSRF token
    if path == "/admin/logout":
        await sign_in(client, node)
    for sent in ({"csrf_token": "Äpfel"}, {}):
        headers = {} if sent else {"X-CSRF-Token": "Äpfel".encode().decode("latin-1")}
        response = await client.post(
            path, data=sent or {"token": "x"}, headers=headers, allow_redirects=False
        )
        assert "CSRF" in (await assert_problem(response, 403))["detail"]
