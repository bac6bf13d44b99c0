"""`allmende device add|list|remove` and `allmende source secret`: the registry from a shell.

Like the dataset commands, they talk to the running node's admin API when it answers, and
open the stopped node's folder otherwise.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from node.catalog.commands import CommandError, _fail, _running_node
from node.ingest.sources import SOURCES
from vocab.devices import list_profiles

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


def _offline(directory: Path, work: Any) -> Any:
    from node.ingest.registry import Registry, RegistryError
    from node.runtime import Node

    node = Node.open(directory)
    try:
        return asyncio.run(work(node, Registry(node)))
    except RegistryError as exc:
        raise CommandError(f"{exc.field}: {exc}") from None
    finally:
        node.close()


@click.group()
def device() -> None:
    """Register the LoRaWAN devices whose readings this node ingests."""


@device.command("add")
@DIRECTORY
@click.option(
    "--device", "device_id", required=True, help="DevEUI or the network server's device id."
)
@click.option("--dataset", required=True, help="The dataset the device feeds.")
@click.option(
    "--profile",
    required=True,
    type=click.Choice(list_profiles()),
    help="The device profile (how its decoded fields map).",
)
@click.option("--lat", type=float, help="WGS84 latitude.")
@click.option("--lon", type=float, help="WGS84 longitude.")
@click.option("--label", help="A name people recognise, e.g. 'Dorfgemeinschaftshaus, Saal'.")
def add(
    directory: Path,
    device_id: str,
    dataset: str,
    profile: str,
    lat: float | None,
    lon: float | None,
    label: str | None,
) -> None:
    """Register (or move) a device."""
    from node.ingest.registry import register

    body = {
        "device": device_id,
        "dataset": dataset,
        "profile": profile,
        "lat": lat,
        "lon": lon,
        "label": label,
    }
    try:
        remote = _running_node(directory)
        if remote is not None:
            result = remote.call("POST", "/admin/devices", body)
            click.echo(f"registered {result['device']} for dataset {result['dataset']}")
            return
        row = _offline(directory, lambda node, registry: register(node, registry, body))
    except CommandError as exc:
        _fail(exc)
    click.echo(f"registered {row.id} for dataset {row.dataset_id}")


@device.command("list")
@DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_devices(directory: Path, as_json: bool) -> None:
    """List the registered devices."""
    from sqlmodel import Session, col, select

    from node.ingest.models import Device
    from node.ingest.routes import _device_json
    from node.runtime import Node

    remote = _running_node(directory)
    if remote is not None:
        items = remote.call("GET", "/admin/devices")["items"]
    else:
        node = Node.open(directory)
        try:
            with Session(node.engine) as session:
                items = [
                    _device_json(d) for d in session.exec(select(Device).order_by(col(Device.id)))
                ]
        finally:
            node.close()
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for item in items:
        where = f" at {item['lat']}, {item['lon']}" if item.get("lat") is not None else ""
        click.echo(
            f"{item['device']}\t{item['dataset']}\t{item['profile']}\t{item.get('label') or ''}{where}"
        )


@device.command("remove")
@DIRECTORY
@click.argument("device_id")
def remove(directory: Path, device_id: str) -> None:
    """Remove a device; its readings stay in the dataset."""
    from node.ingest.registry import remove as remove_device

    try:
        remote = _running_node(directory)
        if remote is not None:
            remote.call("DELETE", f"/admin/devices/{device_id}")
        elif (
            _offline(directory, lambda node, registry: remove_device(node, registry, device_id))
            is None
        ):
            raise CommandError(f"there is no device {device_id!r}")
    except CommandError as exc:
        _fail(exc)
    click.echo(f"removed {device_id}")


@click.group()
def source() -> None:
    """Webhook secrets of the ingest sources (ttn, chirpstack, observations, csv)."""


SOURCE = click.argument("name", type=click.Choice(SOURCES))


@source.command("secret")
@DIRECTORY
@SOURCE
def secret(directory: Path, name: str) -> None:
    """Create or rotate a source's secret and print it once (the old one stops working)."""
    from node.ingest.sources import HEADER, new_secret
    from node.runtime import Node

    try:
        remote = _running_node(directory)
        if remote is not None:
            value = remote.call("POST", f"/admin/ingest/sources/{name}/secret")["secret"]
        else:
            node = Node.open(directory)
            try:
                value = new_secret(node, name)
            finally:
                node.close()
    except CommandError as exc:
        _fail(exc)
    click.echo(f"{HEADER}: {value}")


@source.command("revoke")
@DIRECTORY
@SOURCE
def revoke(directory: Path, name: str) -> None:
    """Revoke a source's secret: its webhook calls are refused until a new one is made."""
    from node.ingest.sources import revoke_secret
    from node.runtime import Node

    try:
        remote = _running_node(directory)
        if remote is not None:
            remote.call("DELETE", f"/admin/ingest/sources/{name}/secret")
        else:
            node = Node.open(directory)
            try:
                if not revoke_secret(node, name):
                    raise CommandError(f"source {name!r} has no secret")
            finally:
                node.close()
    except CommandError as exc:
        _fail(exc)
    click.echo(f"revoked the {name} secret")


@source.command("list")
@DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_sources(directory: Path, as_json: bool) -> None:
    """The sources and since when each one's secret holds (the secrets are never shown)."""
    from node.ingest.sources import secret_status
    from node.runtime import Node

    try:
        remote = _running_node(directory)
        if remote is not None:
            items = remote.call("GET", "/admin/ingest/sources")["items"]
        else:
            node = Node.open(directory)
            try:
                items = secret_status(node)
            finally:
                node.close()
    except CommandError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for item in items:
        since = f"secret since {item['created']}" if item["created"] else "no secret"
        click.echo(f"{item['source']}\t{since}")
