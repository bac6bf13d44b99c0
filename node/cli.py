"""The `allmende` command: init, serve, token, reindex (other rooms add theirs here)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from allmende.node.cli_client import GuardedGroup
from allmende.node.config import ConfigError, Settings

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


@click.group(cls=GuardedGroup)
@click.version_option(package_name="allmende")
@click.option("--debug", is_flag=True, help="Show the full traceback of an unexpected error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Allmende: a municipality's data space node.

    While `allmende serve` runs, the commands on its folder go through the node's admin API;
    otherwise they open the folder directly."""
    ctx.meta["allmende.debug"] = debug


def _fail(message: str) -> None:
    click.echo(f"allmende: {message}", err=True)
    sys.exit(2)


@main.command()
@DIRECTORY
@click.option("--name", help="Display name of the municipality (default: the folder name).")
@click.option("--id", "node_id", help="The node's https identifier.")
@click.option("--ags", default="01054", show_default=True, help="Amtlicher Gemeindeschlüssel.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int)
@click.option("--base-url", help="Public URL of the node (default: http://HOST:PORT).")
def init(
    directory: Path,
    name: str | None,
    node_id: str | None,
    ags: str,
    host: str,
    port: int,
    base_url: str | None,
) -> None:
    """Create a node folder: configuration and a fresh signing key."""
    from allmende.node.setup_files import init_directory

    try:
        config = init_directory(
            directory, name=name, node_id=node_id, ags=ags, host=host, port=port, base_url=base_url
        )
    except (FileExistsError, ConfigError) as exc:
        _fail(str(exc))
    click.echo(f"created {config} and a signing key; start it with: allmende serve {directory}")


@main.command()
@DIRECTORY
@click.option("--host", help="Listen address (overrides http.host).")
@click.option("--port", type=int, help="Listen port (overrides http.port).")
@click.option(
    "--role",
    type=click.Choice(["all", "query"]),
    help="query: a read replica of the node on the same PostgreSQL database, with a store "
    "of its own (overrides node.role).",
)
def serve(directory: Path, host: str | None, port: int | None, role: str | None) -> None:
    """Run the node until SIGTERM or Ctrl-C."""
    import os

    from allmende.node.server import StartError, run

    if role is not None:
        os.environ["ALLMENDE_NODE_ROLE"] = role  # read with the rest of the settings

    try:
        run(directory, host=host, port=port)
    except (ConfigError, StartError) as exc:
        _fail(str(exc))


@main.command()
@DIRECTORY
@click.option(
    "--role",
    type=click.Choice(["admin", "participant", "resident"]),
    default="admin",
    show_default=True,
    help="admin: the operator's API; participant: a partner's Dataspace Protocol client; "
    "resident: a person of the village who may switch street lights.",
)
@click.option("--ttl", type=int, default=12 * 3600, show_default=True, help="Lifetime in seconds.")
@click.option(
    "--subject",
    default="operator",
    show_default=True,
    help="For a participant: its id; for a resident: the account name.",
)
def token(directory: Path, role: str, ttl: int, subject: str) -> None:
    """Print a bearer token (JWT) for the admin API or a Dataspace Protocol participant."""
    from allmende.node.auth import mint_token
    from allmende.node.config import load_settings
    from allmende.node.keys import load_key

    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        _fail(str(exc))
    key = load_key(settings.key_path)
    click.echo(mint_token(key, settings.node.id, role=role, subject=subject, ttl=ttl))


@main.group()
def key() -> None:
    """The node's signing key."""


@key.command("rotate")
@DIRECTORY
def rotate(directory: Path) -> None:
    """Replace the signing key; the old public key stays in the JWKS (restart the node)."""
    from allmende.node.config import load_settings
    from allmende.node.keys import rotate_key

    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        _fail(str(exc))
    old, new = rotate_key(settings.key_path)
    click.echo(f"retired key {old}; new key {new.kid}. Restart the node and tell your peers.")


@main.command()
@DIRECTORY
def reindex(directory: Path) -> None:
    """Rebuild the RDF store from the event log (stop the node first)."""
    from allmende.node.cli_client import CommandError, fail, require_stopped
    from allmende.node.config import load_settings
    from allmende.node.reindex import rebuild_store

    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        _fail(str(exc))
    try:
        require_stopped(directory, "reindex")
    except CommandError as exc:
        fail(exc)
    applied, graphs = rebuild_store(settings)
    click.echo(f"reindexed {applied} events into {graphs} graphs at {settings.store_path}")
    _echo_quarantined(settings)


def _echo_quarantined(settings: Settings) -> None:
    """One line per projection with quarantined events (their projection failed)."""
    from allmende.node import db
    from allmende.node.events.quarantine import counts

    engine = db.make_engine(settings.database_url)
    try:
        for projection, count in sorted(counts(engine).items()):
            click.echo(
                f"quarantined: {count} event(s) of {projection} do not show; "
                "see GET /admin/projections/quarantine or `allmende quarantine`"
            )
    finally:
        engine.dispose()


@main.command()
@DIRECTORY
def quarantine(directory: Path) -> None:
    """List events whose projection failed (set aside; the node goes on without them)."""
    from allmende.node.cli_common import open_folder
    from allmende.node.events.quarantine import listing

    _settings, engine = open_folder(directory)
    try:
        items = listing(engine)
    finally:
        engine.dispose()
    if not items:
        click.echo("no quarantined events: every event shows in the store")
        return
    for item in items:
        click.echo(
            f"{item['seq']}\t{item['event_type']}\t{item['projection']}\t"
            f"{item['error_class']}: {item['message']}\t(attempts {item['attempts']})"
        )
    click.echo(
        f"{len(items)} quarantined; fix the cause, then POST /admin/projections/quarantine/retry "
        "or stop the node and run `allmende reindex`"
    )


from allmende.node.catalog.commands import dataset as dataset_command  # noqa: E402

main.add_command(dataset_command)

from allmende.node.ingest.commands import device as device_command  # noqa: E402
from allmende.node.ingest.commands import source as source_command  # noqa: E402

main.add_command(device_command)
main.add_command(source_command)

from allmende.node.sparql.commands import load as load_command  # noqa: E402

main.add_command(load_command)

from allmende.node.federation.commands import peer as peer_command  # noqa: E402

main.add_command(peer_command)

from allmende.node.demo import demo as demo_command  # noqa: E402

main.add_command(demo_command)

from allmende.node.usage.commands import policy as policy_command  # noqa: E402

main.add_command(policy_command)

from allmende.node.backup import backup_command, restore_command  # noqa: E402

main.add_command(backup_command)
main.add_command(restore_command)

from allmende.node.identity.commands import credentials as credentials_command  # noqa: E402

main.add_command(credentials_command)

from allmende.node.actuation.commands import lights as lights_command  # noqa: E402

main.add_command(lights_command)

from allmende.node.reports.commands import reports as reports_command  # noqa: E402

main.add_command(reports_command)

from allmende.node.apps.commands import app as app_command  # noqa: E402

main.add_command(app_command)
