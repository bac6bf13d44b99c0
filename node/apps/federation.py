"""The app directory across villages: an interkommunal app store over the federation.

A village that approves an app says so in a signed event (`app.listed`, with the approved
manifest and the app's public client metadata); suspending, rejecting or deleting it takes
it back (`app.delisted`). The events travel the federation's usual path (feed or Kafka,
verified against the peer's key, in the peer's namespace), so every member sees which
neighbour approved which app. Nobody's approval counts for anyone else: a neighbour adopts
a listed app into its own review (for its own data and actions only, see `adoption`) and
its operator approves it there or not, which it then lists in turn.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from allmende.node.apps import manifest as manifests
from allmende.node.apps.models import App
from allmende.node.events.envelope import new_event
from allmende.node.messages import say
from allmende.node.models import EventRecord

LISTED = "de.allmende.app.listed"
DELISTED = "de.allmende.app.delisted"
EVENT_TYPES = (LISTED, DELISTED)
ORIGIN = "allmende_origin"
"""Client metadata of an adopted app: where it was adopted from (base URL and client id)."""


def listing(node: Any, row: App) -> dict[str, Any]:
    """What a village tells its neighbours about an app it approved: nothing secret."""
    metadata = row.client_metadata
    manifest = json.loads(row.approved_manifest or "null") or metadata[manifests.FIELD]
    return {
        "base": node.base_url,
        "village": node.settings.node.name,
        "client_id": row.client_id,
        "manifest": manifest,
        "redirect_uris": list(metadata["redirect_uris"]),
        "token_endpoint_auth_method": metadata.get(
            "token_endpoint_auth_method", "client_secret_basic"
        ),
        "origin": metadata.get(ORIGIN) or {"base": node.base_url, "client_id": row.client_id},
    }


def listed_event(node: Any, row: App) -> dict[str, Any]:
    return new_event(node.id, LISTED, listing(node, row), subject=row.client_id)


def delisted_event(node: Any, row: App) -> dict[str, Any]:
    data = {"base": node.base_url, "client_id": row.client_id}
    return new_event(node.id, DELISTED, data, subject=row.client_id)


def check(event: dict[str, Any], owns: Callable[[str], bool]) -> None:
    """For the inbox: an app event from a peer names an app of that peer; raises ValueError."""
    data = event["data"]
    base, client_id = data.get("base"), data.get("client_id")
    if not isinstance(base, str) or not owns(base):
        raise ValueError("an app event names the base URL of the village that sent it")
    if not isinstance(client_id, str) or client_id != event.get("subject") or len(client_id) > 64:
        raise ValueError("an app event names its app (client_id, the subject)")
    if event["type"] == DELISTED:
        return
    problems = manifests.errors(data.get("manifest"))
    if problems:
        raise ValueError("; ".join(problems))
    uris = data.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise ValueError("redirect_uris: a list of URIs")
    if not isinstance(data.get("village"), str) or not isinstance(data.get("origin"), dict):
        raise ValueError("an app listing names its village and the app's origin")


def neighbour_apps(node: Any) -> list[dict[str, Any]]:
    """The apps neighbours approved, as each one's latest event says (listed, not delisted)."""
    query = (
        select(EventRecord.source, EventRecord.subject, EventRecord.type, EventRecord.envelope)
        .where(col(EventRecord.type).in_(EVENT_TYPES))
        .where(col(EventRecord.local).is_(False))
        .order_by(col(EventRecord.seq))
    )
    latest: dict[tuple[str, str], dict[str, Any] | None] = {}
    with Session(node.engine) as session:
        for source, subject, kind, envelope in session.exec(query):
            data = json.loads(envelope)["data"]
            latest[(source, str(subject))] = {**data, "source": source} if kind == LISTED else None
    found = [entry for entry in latest.values() if entry is not None]
    return sorted(found, key=lambda e: (e["manifest"]["name"], e["village"]))


def adoption(node: Any, listed: dict[str, Any], check_offers: Callable[..., str | None]) -> App:
    """A neighbour's listed app as an app of this village, in review (the sandbox).

    Only what this village can grant comes along: its actions, and a dataset only where this
    village publishes one of that id whose current offer is the one the developer accepted;
    the developer's client secret stays where it was, so only public clients can be adopted.
    """
    if listed.get("token_endpoint_auth_method") != "none":
        raise ValueError(
            say(
                "only public clients can be adopted (the developer's secret stays with the "
                "village it was registered at); the developer registers here directly"
            )
        )
    manifest = dict(listed["manifest"])
    manifest["datasets"] = [
        item for item in manifest.get("datasets", []) if check_offers({"datasets": [item]}) is None
    ]
    metadata = {
        "client_id": listed["client_id"],
        "redirect_uris": list(listed["redirect_uris"]),
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "client_name": manifest["name"],
        "software_version": manifest["version"],
        "scope": " ".join(manifests.scopes(manifest)),
        manifests.FIELD: manifest,
        ORIGIN: listed["origin"],
    }
    return App(
        client_id=listed["client_id"],
        secret_digest=None,
        # managed at its origin only: nobody holds this registration access token
        registration_digest=hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest(),
        metadata_json=json.dumps(metadata, ensure_ascii=False),
        issued_at=int(time.time()),
    )
