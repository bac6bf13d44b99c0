"""`allmende lights ...`: controllers, segments, lock, policy and the switching log from a shell.

Like the other registry commands they use the running node's admin API when it answers and
open the stopped node's folder otherwise.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from allmende.node.catalog.commands import CommandError, _fail, _running_node
from allmende.node.cli_common import DIRECTORY

BODY = click.argument("file", type=click.File("r", encoding="utf-8"))


def _run(directory: Path, method: str, path: str, body: Any, offline: Any) -> Any:
    """The admin API's answer, or the same work done on the stopped node's folder."""
    from allmende.node.http.problems import Problem
    from allmende.node.runtime import Node

    remote = _running_node(directory)
    if remote is not None:
        return remote.call(method, path, body)
    node = Node.open(directory)
    try:
        return asyncio.run(offline(node))
    except Problem as exc:
        raise CommandError(str(exc.body_json.get("detail") or exc.body_json["title"])) from None
    finally:
        node.close()


def _json(file: Any) -> Any:
    try:
        return json.load(file)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from None


@click.group()
def lights() -> None:
    """Street lights on demand: controllers, segments, lock, policy, switchings."""


@lights.command("controller")
@DIRECTORY
@BODY
def controller(directory: Path, file: Any) -> None:
    """Register a controller from a JSON file (see POST /admin/actuation/controllers)."""
    from allmende.node.actuation import registry

    body = _json(file)

    async def offline(node: Any) -> Any:
        return {"id": (await registry.add_controller(node, body)).id}

    try:
        result = _run(directory, "POST", "/admin/actuation/controllers", body, offline)
    except CommandError as exc:
        _fail(exc)
    click.echo(f"registered controller {result['id']}")


@lights.command("segment")
@DIRECTORY
@BODY
def segment(directory: Path, file: Any) -> None:
    """Register what a controller switches from a JSON file (POST /admin/actuation/segments)."""
    from allmende.node.actuation import registry

    body = _json(file)

    async def offline(node: Any) -> Any:
        return {"id": (await registry.add_segment(node, body)).id}

    try:
        result = _run(directory, "POST", "/admin/actuation/segments", body, offline)
    except CommandError as exc:
        _fail(exc)
    click.echo(f"registered segment {result['id']}")


@lights.command("lock")
@DIRECTORY
@click.argument("segment_id")
@click.option("--reason", default="Wartung", show_default=True, help="Shown to residents.")
@click.option("--unlock", is_flag=True, help="Allow switching again.")
def lock(directory: Path, segment_id: str, reason: str, unlock: bool) -> None:
    """Lock a segment for maintenance (nobody can switch it), or unlock it."""
    from allmende.node.actuation import registry

    body: dict[str, Any] = {"locked": not unlock}
    if not unlock:
        body["reason"] = reason

    async def offline(node: Any) -> Any:
        row = await registry.lock(node, segment_id, body)
        return {"id": row.id, "locked": row.locked}

    try:
        result = _run(
            directory, "POST", f"/admin/actuation/segments/{segment_id}/lock", body, offline
        )
    except CommandError as exc:
        _fail(exc)
    click.echo(f"{result['id']}: {'locked' if result['locked'] else 'unlocked'}")


@lights.command("policy")
@DIRECTORY
@BODY
def policy(directory: Path, file: Any) -> None:
    """Sign and install the switching policy (ODRL JSON-LD permitting allmende:switch)."""
    from allmende.node.actuation import registry

    body = _json(file)

    async def offline(node: Any) -> Any:
        return await registry.install_policy(node, body)

    try:
        signed = _run(directory, "PUT", "/admin/actuation/policy", body, offline)
    except CommandError as exc:
        _fail(exc)
    click.echo(f"installed and signed {signed['policy'].get('uid', '(no uid)')}")


@lights.command("list")
@DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_segments(directory: Path, as_json: bool) -> None:
    """List the segments with their state."""
    from allmende.node.actuation import registry

    async def offline(node: Any) -> Any:
        return {"segments": registry.segments(node, datetime.now(UTC))}

    try:
        items = _run(directory, "GET", "/admin/actuation/segments", None, offline)["segments"]
    except CommandError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for item in items:
        lock_note = f"\tgesperrt: {item['lock_reason']}" if item["locked"] else ""
        click.echo(f"{item['id']}\t{item['state']}\t{item['name']}{lock_note}")


@lights.command("log")
@DIRECTORY
def log(directory: Path) -> None:
    """The newest switchings (the person only as a pseudonym)."""
    from allmende.node.actuation import registry

    async def offline(node: Any) -> Any:
        return {"switchings": registry.switchings(node)}

    try:
        items = _run(directory, "GET", "/admin/actuation/switchings", None, offline)["switchings"]
    except CommandError as exc:
        _fail(exc)
    for item in items:
        click.echo(
            f"{item['created']}\t{item['segment']}\t{item['state']}\t{item['person']}"
            f"\t{item['reason'] or ''}"
        )
