"""`allmende credentials`: the verifiable credentials the node holds as a DCP participant."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


def _fail(message: str) -> NoReturn:
    click.echo(f"allmende: {message}", err=True)
    sys.exit(2)


@click.group()
def credentials() -> None:
    """Credentials the node presents to EDC providers (Decentralized Claims Protocol)."""


@credentials.command("import")
@DIRECTORY
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(directory: Path, file: Path) -> None:
    """Keep the credential in FILE (a VC as JWT, issued to this node's DID) in the node folder."""
    from allmende.node.config import ConfigError, load_settings
    from allmende.node.identity.credentials import import_credential
    from allmende.node.identity.did import did_web

    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        _fail(str(exc))
    did = settings.dcp.did or did_web(settings.node.base_url)
    try:
        text = file.read_text(encoding="utf-8")
        path, about = import_credential(settings.directory, did, text)
    except (ValueError, UnicodeDecodeError) as exc:
        _fail(f"{file}: {exc}")
    types = ", ".join(t for t in about["types"] if t != "VerifiableCredential")
    click.echo(f"imported {types or 'credential'} from {about['issuer']} as {path.name}")


@credentials.command("list")
@DIRECTORY
def list_command(directory: Path) -> None:
    """The credentials the node holds and still may present."""
    from allmende.node.config import ConfigError, load_settings
    from allmende.node.identity.credentials import held, issuer_of

    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        _fail(str(exc))
    for _token, body in held(settings.directory):
        types = body.get("type")
        shown = [
            t
            for t in (types if isinstance(types, list) else [types])
            if t != "VerifiableCredential"
        ]
        click.echo(f"{', '.join(map(str, shown))}\t{issuer_of({'vc': body})}\t{body.get('id', '')}")
