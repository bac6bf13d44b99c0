"""`allmende device add|list|show|map|remove` and `allmende source secret`: the registry
from a shell.

Like the dataset commands, they talk to the running node's admin API when it answers, and
open the stopped node's folder otherwise.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from allmende.node.catalog.commands import CommandError, _fail, _running_node
from allmende.node.cli_common import DIRECTORY
from allmende.node.ingest.sources import SOURCES
from allmende.vocab.devices import list_profiles

DONE = {"flag": "stored with a quality flag", "refuse": "refused"}


def _offline(directory: Path, work: Any) -> Any:
    from allmende.node.ingest.registry import Registry, RegistryError
    from allmende.node.runtime import Node

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
    from allmende.node.ingest.registry import register

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
            stored, dataset_id = result["device"], result["dataset"]
        else:
            row = _offline(directory, lambda node, registry: register(node, registry, body))
            stored, dataset_id = row.id, row.dataset_id
    except CommandError as exc:
        _fail(exc)
    typed = f" (typed {device_id!r}; uplinks match either way)" if stored != device_id else ""
    click.echo(f"registered {stored}{typed} for dataset {dataset_id}")


@device.command("list")
@DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_devices(directory: Path, as_json: bool) -> None:
    """List the registered devices."""
    from sqlmodel import Session, col, select

    from allmende.node.ingest.models import Device
    from allmende.node.ingest.routes import _device_json
    from allmende.node.runtime import Node

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


def _detail(directory: Path, device_id: str) -> dict[str, Any]:
    from allmende.node.ingest.routes import device_detail

    remote = _running_node(directory)
    if remote is not None:
        found: dict[str, Any] = remote.call("GET", f"/admin/devices/{quote(device_id, safe='')}")
        return found

    async def work(node: Any, _registry: Any) -> dict[str, Any] | None:
        return device_detail(node, device_id)

    shown = _offline(directory, work)
    if shown is None:
        raise CommandError(f"there is no device {device_id!r}")
    return dict(shown)


def _print_detail(item: dict[str, Any]) -> None:
    from allmende.node.ingest.properties import symbol

    click.echo(f"{item['device']}\t{item['dataset']}\t{item.get('label') or ''}")
    by = " (the node's setting)" if item.get("implausibleSetBy") == "node" else ""
    click.echo(f"implausible readings are {DONE[item['implausible']]}{by}")
    for name, spec in sorted(item["mapping"].items()):
        extra = "".join(
            f" {key} {spec[key]}" for key in ("scale", "offset") if spec.get(key) is not None
        )
        bounds = spec.get("range") or {}
        if bounds:
            extra += f" range {bounds.get('min', '…')}..{bounds.get('max', '…')}"
        unit = symbol(spec.get("unit"))
        click.echo(f"  {name}\t{spec['observableProperty']}\t{spec['datatype']}\t{unit}{extra}")
    payload = item.get("lastPayload")
    if payload is None:
        click.echo("no payload received yet")
    else:
        click.echo(f"last payload {payload['time']} via {payload['source']}:")
        for name, value in sorted(payload["fields"].items()):
            mark = "  (unmapped)" if name in payload["unmapped"] else ""
            click.echo(f"  {name} = {json.dumps(value)}{mark}")
    earlier = [
        f
        for f in item.get("unmappedFields", [])
        if f["field"] not in (payload or {}).get("fields", {})
    ]
    if earlier:
        click.echo("unmapped fields of earlier payloads:")
        for f in earlier:
            click.echo(f"  {f['field']} = {json.dumps(f['value'])}  (unmapped)  sent {f['time']}")
    for reading in item.get("implausibleReadings", []):
        kept = "refused" if reading["refused"] else "flagged"
        click.echo(f"{kept}: {reading['time']} {reading['field']}: {reading['reason']}")
    warned = item.get("codecWarnings")
    if warned:
        click.echo(f"codec {warned['codec']} warned at {warned['time']}:")
        for warning in warned["warnings"]:
            click.echo(f"  {warning}")


@device.command("show")
@DIRECTORY
@click.argument("device_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(directory: Path, device_id: str, as_json: bool) -> None:
    """A device's mapping, its newest payload with the unmapped fields, its implausible
    readings and its codec's warnings."""
    try:
        item = _detail(directory, device_id)
    except CommandError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(item, indent=2, ensure_ascii=False))
    else:
        _print_detail(item)


@device.command("map")
@DIRECTORY
@click.argument("device_id")
@click.argument("field", required=False)
@click.option(
    "--property",
    "prop",
    help="Observable property: a short name (air_temperature, relative_humidity, co2, "
    "battery_voltage, battery_level, ...), a CF standard name or an IRI.",
)
@click.option("--unit", help="QUDT unit code (DEG_C, PERCENT, V, MilliV, PPM, ...) or IRI.")
@click.option(
    "--datatype",
    type=click.Choice(["decimal", "integer", "boolean", "string"]),
    help="Default: the property's.",
)
@click.option(
    "--feature",
    type=click.Choice(["environment", "device"]),
    help="What is observed: the surroundings, or the device itself (battery).",
)
@click.option("--scale", type=float, help="Multiply the decoded number by this (0.01: hundredths).")
@click.option("--offset", type=float, help="Then add this.")
@click.option("--min", "low", type=float, help="Lowest plausible value (after scaling).")
@click.option("--max", "high", type=float, help="Highest plausible value (after scaling).")
@click.option("--label", help="What people call the reading, e.g. 'Temperatur im Keller'.")
@click.option("--remove", is_flag=True, help="Unmap the field: its readings are reported again.")
@click.option(
    "--implausible",
    type=click.Choice(["flag", "refuse", "node"]),
    help="Store implausible readings with a quality flag, or refuse them; 'node' follows the "
    "node's setting (ingest.implausible, by default flag).",
)
def map_field(
    directory: Path,
    device_id: str,
    field: str | None,
    prop: str | None,
    unit: str | None,
    datatype: str | None,
    feature: str | None,
    scale: float | None,
    offset: float | None,
    low: float | None,
    high: float | None,
    label: str | None,
    remove: bool,
    implausible: str | None,
) -> None:
    """Map a decoded FIELD of a device (or unmap it with --remove), or set --implausible.

    Example: allmende device map ./village 70b3d57ed0000bbb TempC_SHT --property
    air_temperature --unit DEG_C"""
    from allmende.node.ingest.registry import remap

    body: dict[str, Any] = {}
    if field is not None:
        if remove:
            body["fields"] = {field: None}
        elif prop is None:
            _fail(CommandError("give --property (and --unit for numbers), or --remove"))
        else:
            given = {
                "property": prop,
                "unit": unit,
                "datatype": datatype,
                "feature": feature,
                "scale": scale,
                "offset": offset,
                "min": low,
                "max": high,
                "label": label,
            }
            body["fields"] = {field: {k: v for k, v in given.items() if v is not None}}
    if implausible is not None:
        body["implausible"] = None if implausible == "node" else implausible
    if not body:
        _fail(CommandError("name a FIELD to map, or give --implausible"))
    try:
        remote = _running_node(directory)
        if remote is not None:
            item = remote.call("POST", f"/admin/devices/{quote(device_id, safe='')}/mapping", body)
        else:
            if (
                _offline(directory, lambda node, registry: remap(node, registry, device_id, body))
                is None
            ):
                raise CommandError(f"there is no device {device_id!r}")
            item = _detail(directory, device_id)
    except CommandError as exc:
        _fail(exc)
    if field is not None:
        if remove:
            click.echo(f"unmapped {field} of {item['device']}")
        else:
            spec = item["mapping"][field]
            from allmende.node.ingest.properties import symbol

            unit_shown = f" in {symbol(spec.get('unit'))}" if spec.get("unit") else ""
            click.echo(
                f"mapped {field} of {item['device']} to {spec['observableProperty']}{unit_shown}"
            )
    if implausible is not None:
        by = " (the node's setting)" if implausible == "node" else ""
        click.echo(
            f"implausible readings of {item['device']} are now {DONE[item['implausible']]}{by}"
        )


@device.command("remove")
@DIRECTORY
@click.argument("device_id")
def remove(directory: Path, device_id: str) -> None:
    """Remove a device; its readings stay in the dataset."""
    from allmende.node.ingest.registry import remove as remove_device

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
    from allmende.node.ingest.sources import HEADER, new_secret
    from allmende.node.runtime import Node

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
    from allmende.node.ingest.sources import revoke_secret
    from allmende.node.runtime import Node

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
    from allmende.node.ingest.sources import secret_status
    from allmende.node.runtime import Node

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


from allmende.node.ingest import codecs as _codecs  # noqa: E402, F401  (adds `device codec`)
