"""Console sessions: encrypted, HttpOnly, SameSite=Strict cookies plus a CSRF token per session.

The cookie key is derived from the node's private key, so sessions survive a restart and no
extra secret has to be managed; the derived key reveals nothing about the signing key.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp_session import Session, get_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from node.http.forms import read_form
from node.http.problems import Problem
from node.runtime import Node

COOKIE = "allmende_console"
MAX_AGE = 8 * 3600
CSRF_FIELD = "csrf_token"


def cookie_key(node: Node) -> bytes:
    raw = node.key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    derived = HKDF(hashes.SHA256(), 32, salt=None, info=b"allmende console cookies").derive(raw)
    return derived


def install(app: web.Application, node: Node) -> None:
    secure = node.base_url.startswith("https://")
    storage = EncryptedCookieStorage(
        cookie_key(node),
        cookie_name=COOKIE,
        max_age=MAX_AGE,
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


async def check_csrf(request: web.Request) -> Session:
    """A state-changing console post needs the session's token in its form (or header)."""
    session = await get_session(request)
    form = await read_form(request)
    sent = form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
    expected = session.get(CSRF_FIELD)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not hmac.compare_digest(sent, expected)
    ):
        raise Problem(
            403, "Forbidden", "the form's CSRF token is missing or wrong; reload the page"
        )
    return session
