"""Console sessions are decided on the server: signing out, idling, the absolute lifetime or
the operator ending one from the session list make its cookie (and its CSRF token) worthless,
while a session that holds survives a restart of the node."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from allmende.node.auth import mint_token
from allmende.node.http.app import create_app
from allmende.node.keys import NodeKey
from allmende.node.runtime import Node
from allmende.node.web.sessions import COOKIE, ConsoleSession
from tests.support import make_node


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_node(tmp_path, name="Bredstedt")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def sign_in(client: TestClient, node: Node, agent: str = "Firefox") -> tuple[str, str]:
    """Sign in; the cookie and the CSRF token a copy of them would replay."""
    form = await (await client.get("/admin/login")).text()
    response = await client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(form), "token": mint_token(node.key, node.id)},
        headers={"User-Agent": agent},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/admin/"
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/admin/"))[COOKIE]
    page = await (await client.get("/admin/")).text()
    return cookie.value, csrf_of(page)


async def replay(client: TestClient, cookie: str, csrf: str) -> tuple[int, int]:
    """A copied cookie from another browser: (status of the overview, status of a post)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as other:
        headers = {"Cookie": f"{COOKIE}={cookie}"}
        page = await other.get(client.make_url("/admin/"), headers=headers, allow_redirects=False)
        post = await other.post(  # 401 (wrong token) once the CSRF check let it through
            client.make_url("/admin/login"),
            data={"csrf_token": csrf, "token": "not-a-token"},
            headers=headers,
            allow_redirects=False,
        )
        return page.status, post.status


def rows(node: Node) -> list[ConsoleSession]:
    with Session(node.engine) as db:
        return list(db.exec(select(ConsoleSession)))


def backdate(node: Node, **moments: datetime) -> None:
    """Time passing, written where the node keeps it (no test waits half an hour)."""
    with Session(node.engine) as db:
        for row in db.exec(select(ConsoleSession)):
            for name, moment in moments.items():
                setattr(row, name, moment)
            db.add(row)
        db.commit()


async def test_sign_out_ends_the_session_on_the_server(aiohttp_client: Any, node: Node) -> None:
    client = await aiohttp_client(create_app(node))
    cookie, csrf = await sign_in(client, node)
    assert await replay(client, cookie, csrf) == (200, 401), "a live copy works"
    without = await client.post("/admin/logout", allow_redirects=False)
    assert without.status == 403 and len(rows(node)) == 1, "signing out needs the CSRF token"
    out = await client.post("/admin/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303
    assert rows(node) == []
    assert await replay(client, cookie, csrf) == (303, 403)


@pytest.mark.parametrize(
    "moments",
    [
        {"last_seen": datetime.now(UTC) - timedelta(minutes=31)},
        {"created": datetime.now(UTC) - timedelta(hours=8, minutes=1)},
    ],
    ids=["idle", "lifetime"],
)
async def test_idle_and_old_sessions_end(
    aiohttp_client: Any, node: Node, moments: dict[str, datetime]
) -> None:
    client = await aiohttp_client(create_app(node))
    cookie, csrf = await sign_in(client, node)
    backdate(node, **moments)
    assert await replay(client, cookie, csrf) == (303, 403)
    assert rows(node) == []


async def test_idle_timeout_is_configurable(aiohttp_client: Any, tmp_path: Path) -> None:
    node = make_node(tmp_path, environ={"ALLMENDE_CONSOLE_SESSION_IDLE_MINUTES": "5"})
    client = await aiohttp_client(create_app(node))
    cookie, csrf = await sign_in(client, node)
    backdate(node, last_seen=datetime.now(UTC) - timedelta(minutes=4))
    assert (await replay(client, cookie, csrf))[0] == 200
    backdate(node, last_seen=datetime.now(UTC) - timedelta(minutes=6))
    assert (await replay(client, cookie, csrf))[0] == 303


async def test_sessions_are_listed_and_ended_from_the_console(
    aiohttp_client: Any, node: Node
) -> None:
    app = create_app(node)
    mine = await aiohttp_client(app)
    theirs = TestClient(mine.server)  # a second browser on the same node
    await theirs.start_server()
    cookie, _ = await sign_in(mine, node, agent="Firefox")
    their_cookie, their_csrf = await sign_in(theirs, node, agent="Chromium")
    page = await (await mine.get("/admin/console/sessions")).text()
    assert "Firefox" in page and "Chromium" in page and "127.0.0.1" in page
    assert cookie not in page and their_cookie not in page
    assert all(row.digest not in page for row in rows(node))
    german = await (await mine.get("/admin/console/sessions?lang=de")).text()
    english = await (await mine.get("/admin/console/sessions?lang=en")).text()
    assert "Angemeldet seit" in german and "Signed in since" in english
    [their_row] = [row for row in rows(node) if row.agent == "Chromium"]
    ended = await mine.post(
        f"/admin/console/sessions/{their_row.id}/end",
        data={"csrf_token": csrf_of(page)},
        allow_redirects=False,
    )
    assert ended.status == 303
    assert await replay(mine, their_cookie, their_csrf) == (303, 403)
    assert (await mine.get("/admin/", allow_redirects=False)).status == 200
    again = await mine.post(
        f"/admin/console/sessions/{their_row.id}/end", data={"csrf_token": csrf_of(page)}
    )
    assert again.status == 404
    await theirs.close()


async def test_a_session_survives_a_restart(
    aiohttp_client: Any, node: Node, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(node))
    cookie, csrf = await sign_in(client, node)
    await client.close()
    restarted = await aiohttp_client(create_app(make_node(tmp_path), close_node=True))
    assert (await replay(restarted, cookie, csrf))[0] == 200


async def test_a_session_ends_with_the_admin_key_that_signed_its_token(
    aiohttp_client: Any, node: Node
) -> None:
    county = NodeKey(Ed25519PrivateKey.generate())
    node.settings.trust.admin_jwks.append(county.jwk())
    client = await aiohttp_client(create_app(node))
    form = await (await client.get("/admin/login")).text()
    token = mint_token(county, node.id)
    signed = await client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(form), "token": token},
        allow_redirects=False,
    )
    assert signed.status == 303
    assert (await client.get("/admin/", allow_redirects=False)).status == 200
    node.settings.trust.admin_jwks.clear()  # the county's key is no longer trusted
    assert (await client.get("/admin/", allow_redirects=False)).status == 303
