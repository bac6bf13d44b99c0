"""`allmende peer add|list|remove`: the trust list from the command line.

While a node serves the folder they go through its admin API (it starts or stops following
the peer at once); otherwise they write the folder's control plane directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click

from allmende.node.cli_client import CommandError, connect
from allmende.node.cli_common import DIRECTORY, fail, open_folder
from allmende.node.federation.trust import TrustError, checked_peer, remove_peer


def _remote(directory: Path) -> Any:
    try:
        return connect(directory)
    except CommandError as exc:
        fail(str(exc))


@click.group()
def peer() -> None:
    """Trust peer villages: their events are accepted, everyone else's refused."""


@peer.command("add")
@DIRECTORY
@click.argument("peer_id")
@click.option("--jwk", help="The peer's public key as a JWK (JSON text, or @FILE).")
@click.option("--jwks-url", default="", help="Where the peer publishes its keys (JWKS).")
@click.option("--base-url", default="", help="Where the peer answers, when not at its id.")
@click.option("--name", default="", help="A name to show, e.g. the municipality.")
def add(
    directory: Path, peer_id: str, jwk: str | None, jwks_url: str, base_url: str, name: str
) -> None:
    """Pin PEER_ID with its key (--jwk) or its JWKS URL."""
    from allmende.node.federation.trust import add_peer

    settings, engine = open_folder(directory)
    key: Any = None
    if jwk:
        text = Path(jwk[1:]).read_text(encoding="utf-8") if jwk.startswith("@") else jwk
        try:
            key = json.loads(text)
        except ValueError:
            fail("--jwk: not JSON")
    body = {"id": peer_id, "jwk": key, "jwks_url": jwks_url, "base_url": base_url, "name": name}
    remote = _remote(directory)
    if remote is not None:
        try:
            known = {p["id"] for p in remote.call("GET", "/admin/federation/peers")["peers"]}
            answer = remote.call("POST", "/admin/federation/peers", body)
        except CommandError as exc:
            fail(str(exc))
        click.echo(f"{'updated' if answer['id'] in known else 'trusted'} peer {answer['id']}")
        return
    try:
        row = checked_peer(body, settings.node.id)
    except TrustError as exc:
        fail(str(exc))
    created = add_peer(engine, row)
    click.echo(f"{'trusted' if created else 'updated'} peer {row.id}")


@peer.command("list")
@DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_peers(directory: Path, as_json: bool) -> None:
    """The trusted peers (from allmende.toml and from `peer add`)."""
    from sqlmodel import Session, select

    from allmende.node.federation.models import TrustedPeer

    remote = _remote(directory)
    if remote is not None:
        try:
            rows = _listed(remote.call("GET", "/admin/federation/peers")["peers"])
        except CommandError as exc:
            fail(str(exc))
        _print_peers(rows, as_json)
        return
    settings, engine = open_folder(directory)
    rows = [
        {"id": p.id, "base_url": p.base_url, "jwks_url": p.jwks_url, "configured": True}
        for p in settings.trust.peers
    ]
    with Session(engine) as session:
        rows += [
            {"id": r.id, "base_url": r.base_url, "jwks_url": r.jwks_url, "name": r.name}
            for r in session.exec(select(TrustedPeer))
        ]
    _print_peers(rows, as_json)


def _listed(peers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The admin API's peers in the rows the folder gives (same output either way)."""
    rows: list[dict[str, Any]] = []
    for peer in peers:
        row = {"id": peer["id"], "base_url": peer["base_url"], "jwks_url": peer["jwks_url"]}
        if peer.get("configured"):
            row["configured"] = True
        else:
            row["name"] = peer.get("name") or ""
        rows.append(row)
    return sorted(rows, key=lambda row: not row.get("configured"))


def _print_peers(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no trusted peers yet: allmende peer add DIR PEER_ID --jwk ...")
    for row in rows:
        where = row["base_url"] or row["id"]
        note = " (allmende.toml)" if row.get("configured") else ""
        click.echo(f"{row['id']}  {where}  {row.get('name') or ''}{note}".rstrip())


@peer.command("remove")
@DIRECTORY
@click.argument("peer_id")
def remove(directory: Path, peer_id: str) -> None:
    """Stop trusting PEER_ID: its events are refused from now on (pooled data stays)."""
    remote = _remote(directory)
    if remote is not None:
        try:
            remote.call("DELETE", "/admin/federation/peers?" + urlencode({"id": peer_id}))
        except CommandError as exc:
            fail(str(exc))
        click.echo(f"removed peer {peer_id}")
        return
    settings, engine = open_folder(directory)
    if any(p.id == peer_id for p in settings.trust.peers):
        fail(f"{peer_id} is pinned in allmende.toml; remove it there")
    if not remove_peer(engine, peer_id):
        fail(f"no trusted peer {peer_id}")
    click.echo(f"removed peer {peer_id}")
