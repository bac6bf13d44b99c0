"""Console sessions: encrypted, HttpOnly, SameSite=Strict cookies plus a CSRF token per session,
and for a signed-in operator a record in the control plane that decides whether it still holds.

The cookie alone cannot be taken back: a copy would stay valid until it expires. So signing
in creates a server-side session (only the SHA-256 of its key is stored); signing out, an
idle timeout, the absolute lifetime, the operator ending it from the session list, or the
signing key of its token no longer being an admin key end it, and the cookie, CSRF token
included, is worth nothing from then on. Records live in the control plane, so sessions
survive a restart. Before sign-in the cookie only carries the login form's CSRF token, so
anonymous visitors create no records.

The cookie key is derived from the node's private key, so no extra secret has to be
managed; the derived key reveals nothing about the signing key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlmodel import Field, SQLModel, col, delete, select
from sqlmodel import Session as Db

from allmende.node.http.forms import read_form
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.runtime import Node

COOKIE = "allmende_console"
CSRF_FIELD = "csrf_token"
SESSION_KEY = "sid"
TOUCH_EVERY = timedelta(seconds=30)
"""How stale `last_seen` may get before a request writes it again (not a write per click)."""
CURRENT = "console_session"


class ConsoleSession(SQLModel, table=True):
    """A signed-in operator's session; the cookie holds its key, this row the key's digest."""

    __tablename__ = "console_session"
    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True, index=True)
    operator: str = Field(max_length=300)
    kid: str = Field(max_length=200)
    """The key that signed the sign-in token: retired or removed, the session ends."""
    created: datetime
    last_seen: datetime
    remote: str = Field(max_length=100)
    agent: str = Field(max_length=200)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ended(node: Node, row: ConsoleSession, now: datetime) -> str | None:
    """Why a session no longer holds, or None while it does."""
    settings = node.settings.console
    if now - _aware(row.last_seen) > timedelta(minutes=settings.session_idle_minutes):
        return "idle"
    if now - _aware(row.created) > timedelta(hours=settings.session_max_hours):
        return "expired"
    if row.kid not in node.admin_keys():
        return "key no longer trusted"
    return None


def cookie_key(node: Node) -> bytes:
    raw = node.key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    derived = HKDF(hashes.SHA256(), 32, salt=None, info=b"allmende console cookies").derive(raw)
    return derived


def install(app: web.Application, node: Node) -> None:
    secure = node.base_url.startswith("https://")
    storage = EncryptedCookieStorage(
        cookie_key(node),
        cookie_name=COOKIE,
        max_age=int(node.settings.console.session_max_hours * 3600),
        httponly=True,
        secure=secure,
        samesite="Strict",
        path="/admin",
    )
    setup_sessions(app, storage)


def csrf_token(session: Session) -> str:
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


async def begin(request: web.Request, operator: str, kid: str) -> Session:
    """Sign in: a fresh cookie session (new CSRF token) and its server-side record."""
    node: Node = request.app["node"]
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = ConsoleSession(
        digest=_digest(key),
        operator=operator[:300],
        kid=kid[:200],
        created=now,
        last_seen=now,
        remote=(request.remote or "")[:100],
        agent=request.headers.get("User-Agent", "")[:200],
    )

    def write() -> None:
        with Db(node.engine) as db:
            stale = [r.id for r in db.exec(select(ConsoleSession)) if ended(node, r, now)]
            if stale:
                db.exec(delete(ConsoleSession).where(col(ConsoleSession.id).in_(stale)))
            db.add(row)
            db.commit()

    await node.write(write)
    session = await new_session(request)
    session[SESSION_KEY] = key
    session["operator"] = operator
    csrf_token(session)
    return session


async def current(request: web.Request) -> ConsoleSession | None:
    """The request's live server-side session; an ended one is removed and the cookie
    cleared on the way."""
    if CURRENT in request:
        found: ConsoleSession | None = request[CURRENT]
        return found
    node: Node = request.app["node"]
    session = await get_session(request)
    key = session.get(SESSION_KEY)
    row: ConsoleSession | None = None
    if isinstance(key, str):
        row = await asyncio.to_thread(_load, node, _digest(key))
        now = datetime.now(UTC)
        if row is not None and ended(node, row, now):
            await end(node, row.id)
            row = None
        if row is None:
            session.invalidate()
        elif now - _aware(row.last_seen) > TOUCH_EVERY:
            row_id = row.id
            await node.write(lambda: _touch(node, row_id, now))
    request[CURRENT] = row
    return row


def _load(node: Node, digest: str) -> ConsoleSession | None:
    with Db(node.engine) as db:
        return db.exec(select(ConsoleSession).where(ConsoleSession.digest == digest)).first()


def _touch(node: Node, row_id: int | None, now: datetime) -> None:
    with Db(node.engine) as db:
        row = db.get(ConsoleSession, row_id)
        if row is not None:
            row.last_seen = now
            db.add(row)
            db.commit()


async def end(node: Node, row_id: int | None) -> bool:
    """End one session on the server; whether there was one to end."""

    def write() -> bool:
        with Db(node.engine) as db:
            gone = db.exec(delete(ConsoleSession).where(col(ConsoleSession.id) == row_id))
            db.commit()
            return bool(gone.rowcount)

    return await node.write(write)


async def sign_out(request: web.Request) -> None:
    """Logout: the server-side session ends, and the cookie with it."""
    row = await current(request)
    if row is not None:
        await end(request.app["node"], row.id)
    (await get_session(request)).invalidate()


def active(node: Node) -> list[ConsoleSession]:
    """Sessions that still hold, newest use first."""
    now = datetime.now(UTC)
    with Db(node.engine) as db:
        rows = db.exec(select(ConsoleSession).order_by(col(ConsoleSession.last_seen).desc()))
        return [row for row in rows if not ended(node, row, now)]


async def check_csrf(request: web.Request) -> Session:
    """A state-changing console post needs the session's token in its form (or header),
    and a session that still holds on the server if it claims to be signed in."""
    session = await get_session(request)
    if SESSION_KEY in session and await current(request) is None:
        raise Problem(403, "Forbidden", say("this console session has ended; sign in again"))
    form = await read_form(request)
    sent = form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
    expected = session.get(CSRF_FIELD)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not hmac.compare_digest(sent.encode(), expected.encode())  # any text a client sends
    ):
        raise Problem(
            403, "Forbidden", say("the form's CSRF token is missing or wrong; reload the page")
        )
    return session
