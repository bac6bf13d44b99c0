"""`allmende reports ...`: the operator sets up the Mängelmelder from the command line.

While a node serves the folder the commands go through its admin API; otherwise they write
the folder's control plane directly. Either way the same checks apply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from allmende.node import db
from allmende.node.cli_client import CommandError, Remote, connect
from allmende.node.cli_common import DIRECTORY, fail, open_folder


def _remote(directory: Path) -> Remote | None:
    try:
        return connect(directory)
    except CommandError as exc:
        fail(str(exc))
    return None


def _call(remote: Remote, method: str, path: str, body: Any = None) -> Any:
    try:
        return remote.call(method, path, body)
    except CommandError as exc:
        fail(str(exc))


@click.group()
def reports() -> None:
    """Mängelmelder: categories, app keys, the village boundary, settings."""


@reports.group()
def category() -> None:
    """What residents may report, and who handles it."""


@category.command("add")
@DIRECTORY
@click.argument("code")
@click.option("--name", required=True, help="As residents read it, e.g. Müll.")
@click.option("--name-en", default="", help="In English, e.g. Rubbish.")
@click.option("--description", default="", help="A sentence on what belongs here.")
@click.option("--group", default="", help="A heading apps group categories by.")
@click.option("--keywords", default="", help="Comma-separated search words.")
@click.option("--department", default="", help="Who handles it, e.g. Bauhof.")
@click.option("--contact", default="", help="The office's mailbox or phone (no person's).")
@click.option("--link", default="", help="Where more is, e.g. /actuation/segments.")
@click.option(
    "--attributes", default="", help="Extra questions: Open311 attribute list as JSON or @FILE."
)
def add_category(directory: Path, code: str, attributes: str, **texts: str) -> None:
    """Add or replace the category CODE (an Open311 service_code)."""
    from allmende.node.reports import service

    body: dict[str, Any] = {"code": code, **texts}
    if attributes:
        raw = (
            Path(attributes[1:]).read_text(encoding="utf-8")
            if attributes.startswith("@")
            else attributes
        )
        try:
            body["attributes"] = json.loads(raw)
        except ValueError:
            fail("--attributes: not JSON")
    remote = _remote(directory)
    if remote is not None:
        _call(remote, "POST", "/admin/reports/categories", body)
        click.echo(f"category {code} saved")
        return
    try:
        row = service.checked_category(body)
    except service.Invalid as exc:
        fail(str(exc))
    _, engine = open_folder(directory)
    with db.transaction(engine) as session:
        service.save_category(session, row)
    click.echo(f"category {code} saved")


@category.command("list")
@DIRECTORY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_categories(directory: Path, as_json: bool) -> None:
    """The categories, with who handles each."""
    from allmende.node.reports import service

    remote = _remote(directory)
    if remote is not None:
        rows = _call(remote, "GET", "/admin/reports/categories")["categories"]
    else:
        _, engine = open_folder(directory)
        with Session(engine) as session:
            rows = [
                service.category_json(c) for c in service.categories(session, active_only=False)
            ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = "" if row["active"] else " (stillgelegt)"
        click.echo(f"{row['code']}\t{row['name']}\t{row['department']}{state}")


@reports.group()
def client() -> None:
    """Apps that may file reports over Open311 (their API keys)."""


@client.command("add")
@DIRECTORY
@click.argument("name")
def add_client(directory: Path, name: str) -> None:
    """Register the app NAME and print its API key (shown once)."""
    from allmende.node.reports import service

    remote = _remote(directory)
    if remote is not None:
        answer = _call(remote, "POST", "/admin/reports/clients", {"name": name})
        click.echo(answer["api_key"])
        return
    _, engine = open_folder(directory)
    try:
        with db.transaction(engine) as session:
            _, key = service.new_client(session, name)
    except service.Invalid as exc:
        fail(str(exc))
    click.echo(key)


@reports.command("boundary")
@DIRECTORY
@click.argument("geojson", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--name", default="", help="The municipality's name (default: from the file).")
@click.option("--sample", is_flag=True, help="Mark it as sample data, not an official border.")
@click.option("--source", default="", help="Where it is from, e.g. BKG VG250 2024.")
def boundary(directory: Path, geojson: Path, name: str, sample: bool, source: str) -> None:
    """Set the village's boundary from a GeoJSON file (VG250 or OSM feature, or a polygon)."""
    from allmende.node.reports import geo

    try:
        document = json.loads(geojson.read_text(encoding="utf-8"))
    except ValueError:
        fail(f"{geojson}: not JSON")
    remote = _remote(directory)
    if remote is not None:
        query = f"?sample={'true' if sample else 'false'}"
        try:
            remote.call(
                "PUT",
                "/admin/reports/boundary" + query,
                data=json.dumps(document).encode(),
                content_type="application/geo+json",
            )
        except CommandError as exc:
            fail(str(exc))
        click.echo("boundary saved; peers learn it with the next announcement")
        return
    settings, engine = open_folder(directory)
    try:
        geometry = geo.geometry_of(document)
    except geo.BadBoundary as exc:
        fail(f"{geojson}: {exc}")
    found_name, found_ags = geo.feature_name(document)
    row = geo.boundary_row(
        settings.node.id,
        name or found_name or settings.node.name,
        found_ags or settings.node.ags,
        geometry,
        sample=sample,
        source=source,
    )
    from allmende.node.events.log import EventLog
    from allmende.node.keys import load_key
    from allmende.node.reports import events

    log = EventLog(load_key(settings.key_path), settings.node.id)
    with db.transaction(engine) as session:
        session.merge(row)
        log.append(session, [events.announced(settings.node.id, row)])  # peers learn it
    click.echo("boundary saved")


@reports.command("settings")
@DIRECTORY
@click.option("--moderation/--no-moderation", default=None, help="Hold new reports for release.")
@click.option("--retention-days", type=int, help="Erase reporters this long after closing.")
@click.option("--rate-per-hour", type=int, help="Reports one address may file per hour.")
@click.option("--duplicate-radius", type=int, help="Metres for duplicate suggestions.")
@click.option("--border-buffer", type=int, help="Metres near a border where residents choose.")
@click.option("--notify/--no-notify", default=None, help="Mail reporters status changes.")
@click.option("--smtp-host", help="The SMTP server that sends them.")
@click.option("--smtp-port", type=int, help="Its port (25 by default).")
@click.option("--mail-from", help="The sender address, e.g. bauhof@example.org.")
def settings_command(directory: Path, **given: Any) -> None:
    """Show the settings, or change those given."""
    from allmende.node.reports import service

    body = {k: v for k, v in given.items() if v is not None}
    remote = _remote(directory)
    if remote is not None:
        answer = (
            _call(remote, "PUT", "/admin/reports/settings", body)
            if body
            else _call(remote, "GET", "/admin/reports/settings")
        )
    else:
        _, engine = open_folder(directory)
        try:
            with db.transaction(engine) as session:
                answer = (
                    service.change_settings(session, body) if body else service.settings(session)
                )
        except service.Invalid as exc:
            fail(str(exc))
    click.echo(json.dumps(answer, indent=2))


@reports.command("publish")
@DIRECTORY
@click.option("--contact", required=True, help="The office's e-mail address for the dataset.")
def publish(directory: Path, contact: str) -> None:
    """List the reports as an open dataset in the catalog (needs the running node)."""
    remote = _remote(directory)
    if remote is None:
        fail("start the node first (allmende serve): the catalog entry is made through it")
        return
    answer = _call(remote, "POST", "/admin/reports/dataset", {"contact": contact})
    click.echo(f"dataset {answer['dataset']['id']} published")
