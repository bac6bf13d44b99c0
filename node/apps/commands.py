"""`allmende app list|show|approve|reject|suspend|neighbours|adopt`: the operator's review from
the command line.

While a node serves the folder they go through its admin API; otherwise they open the folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from allmende.node.cli_client import CommandError, connect
from allmende.node.cli_common import DIRECTORY, fail

CLIENT_ID = click.argument("client_id")


def _offline(directory: Path, work: Callable[[Any], Any]) -> Any:
    """Run `work(registry)` on the folder itself (no node serving it)."""
    from allmende.node.apps.registry import Registry, ReviewError
    from allmende.node.config import ConfigError
    from allmende.node.runtime import Node

    try:
        node = Node.open(directory)
    except ConfigError as exc:
        fail(str(exc))
    try:
        return work(Registry(node))
    except (LookupError, ReviewError) as exc:
        fail(str(exc.args[0] if exc.args else exc))
    finally:
        node.close()


def _run(directory: Path, method: str, path: str, body: Any, work: Callable[[Any], Any]) -> Any:
    from allmende.node.apps.registry import public

    try:
        remote = connect(directory)
    except CommandError as exc:
        fail(str(exc))
    if remote is not None:
        try:
            return remote.call(method, path, body)
        except CommandError as exc:
            fail(str(exc))
    result = _offline(directory, work)
    if isinstance(result, list):
        return {"apps": [public(row) for row in result]}
    return public(result)


def _line(app: dict[str, Any]) -> str:
    manifest = app["manifest"]
    pending = " (new version waiting for review)" if app.get("review_pending") else ""
    return (
        f"{app['client_id']}  {app['status']}{pending}  {manifest['name']} {app['version']}"
        f"  by {manifest['developer']['name']}"
    )


@click.group()
def app() -> None:
    """Review the apps that registered: approve, reject with a reason, suspend."""


@app.command("list")
@DIRECTORY
@click.option("--status", type=click.Choice(["sandbox", "approved", "rejected", "suspended"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_apps(directory: Path, status: str | None, as_json: bool) -> None:
    """The registered apps and their review state."""
    path = "/admin/apps" + (f"?status={status}" if status else "")
    answer = _run(directory, "GET", path, None, lambda registry: registry.apps(status))
    if as_json:
        click.echo(json.dumps(answer["apps"], ensure_ascii=False, indent=2))
        return
    if not answer["apps"]:
        click.echo("no apps registered yet")
    for row in answer["apps"]:
        click.echo(_line(row))


@app.command("show")
@DIRECTORY
@CLIENT_ID
def show(directory: Path, client_id: str) -> None:
    """One app: manifest, scopes asked for and approved, agreements."""
    answer = _run(
        directory,
        "GET",
        f"/admin/apps/{quote(client_id, safe='')}",
        None,
        lambda registry: registry.get(client_id),
    )
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


@app.command("approve")
@DIRECTORY
@CLIENT_ID
@click.option("--version", help="The version you reviewed; refused if the app changed since.")
def approve(directory: Path, client_id: str, version: str | None) -> None:
    """Approve the app's current version: its signed agreements are concluded."""
    body = {"version": version} if version else {}
    answer = _run(
        directory,
        "POST",
        f"/admin/apps/{quote(client_id, safe='')}/approve",
        body,
        lambda registry: registry.approve(client_id, version),
    )
    agreements = ", ".join(f"{d}: {a}" for d, a in answer["agreements"].items()) or "none"
    click.echo(f"approved {_line(answer)}; agreements: {agreements}")


@app.command("reject")
@DIRECTORY
@CLIENT_ID
@click.option("--reason", required=True, help="What the developer must change.")
def reject(directory: Path, client_id: str, reason: str) -> None:
    """Reject the app, with the reason its developer reads."""
    answer = _run(
        directory,
        "POST",
        f"/admin/apps/{quote(client_id, safe='')}/reject",
        {"reason": reason},
        lambda registry: registry.reject(client_id, reason),
    )
    click.echo(f"rejected {_line(answer)}")


@app.command("suspend")
@DIRECTORY
@CLIENT_ID
@click.option("--reason", required=True, help="Why; the developer reads it.")
def suspend(directory: Path, client_id: str, reason: str) -> None:
    """Suspend the app: every token stops on its next use."""
    answer = _run(
        directory,
        "POST",
        f"/admin/apps/{quote(client_id, safe='')}/suspend",
        {"reason": reason},
        lambda registry: registry.suspend(client_id, reason),
    )
    click.echo(f"suspended {_line(answer)}")


@app.command("neighbours")
@DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def neighbours(directory: Path, as_json: bool) -> None:
    """The apps neighbouring villages approved, and whether this village has each."""
    try:
        remote = connect(directory)
    except CommandError as exc:
        fail(str(exc))
    if remote is not None:
        try:
            found = remote.call("GET", "/admin/apps/neighbours", None)["apps"]
        except CommandError as exc:
            fail(str(exc))
    else:
        found = _offline(directory, lambda registry: registry.neighbours())
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2, default=str))
        return
    if not found:
        click.echo("no neighbour has listed an app yet")
    for entry in found:
        manifest = entry["manifest"]
        here = f"here: {entry['here']}" if entry.get("here") else "not here"
        click.echo(
            f"{entry['client_id']}  {manifest['name']} {manifest['version']}"
            f"  by {manifest['developer']['name']}  approved by {entry['village']}"
            f" ({entry['source']})  {here}"
        )


@app.command("adopt")
@DIRECTORY
@click.argument("source")
@CLIENT_ID
def adopt(directory: Path, source: str, client_id: str) -> None:
    """Take an app the neighbour SOURCE (its node id) approved into this village's review."""
    answer = _run(
        directory,
        "POST",
        "/admin/apps/neighbours/adopt",
        {"source": source, "client_id": client_id},
        lambda registry: registry.adopt(source, client_id),
    )
    click.echo(f"in review here: {_line(answer)}; approve it with `allmende app approve`")
