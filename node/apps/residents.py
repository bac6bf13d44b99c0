"""Who the resident in this browser is: the resident token the village issued at sign-in,
kept in a cookie. The app pages (consent, "Meine Apps") and the portal's report form read
it the same way, so a report filed there belongs to the same account an app acts for."""

from __future__ import annotations

from aiohttp import web

from allmende.node.apps.records import Resident
from allmende.node.auth import AuthError, verify_token
from allmende.node.runtime import Node

RESIDENT_COOKIE = "allmende_resident"


def signed_in_resident(request: web.Request) -> Resident | None:
    """The signed-in resident (role resident, sub = account name), if the cookie holds a
    token of this node that is still valid."""
    token = request.cookies.get(RESIDENT_COOKIE)
    if not token:
        return None
    node: Node = request.app["node"]
    try:
        principal = verify_token(token, {node.key.kid: node.key.public}, node.id)
    except AuthError:
        return None
    return Resident(principal.subject) if principal.role == "resident" else None
