"""`allmende policy sign|verify`: signed offers and agreements from the command line.

Signing uses the node's own key, so a village signs its offers where it keeps that key;
verifying needs only public keys (a JWKS file or URL, or a node folder), so anybody can
check a document they were given.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from allmende.node.config import ConfigError, load_settings
from allmende.node.keys import NodeKey, fetch_jwks, load_key, load_retired
from allmende.policies import jws
from allmende.policies.signing import CONSUMER, PROVIDER, sign_file, verify_document

FILE = click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
NODE = click.option(
    "--node",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A node folder (default: the current folder).",
)


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"allmende: {message}", err=True)
    sys.exit(code)


def _node_key(directory: Path) -> tuple[NodeKey, list[Ed25519PublicKey]]:
    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        _fail(str(exc))
    return load_key(settings.key_path), load_retired(settings.directory)


def _jwks(source: str) -> dict[str, Ed25519PublicKey]:
    """Keys from a JWKS file or an http(s) URL."""
    try:
        if source.startswith(("https://", "http://")):
            return asyncio.run(_fetch(source))
        return jws.keys_from_jwks(json.loads(Path(source).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, aiohttp.ClientError) as exc:
        _fail(f"{source}: no public keys there ({exc})")
    raise AssertionError("unreachable")


async def _fetch(url: str) -> dict[str, Ed25519PublicKey]:
    async with aiohttp.ClientSession() as session:
        return await fetch_jwks(session, url)


@click.group()
def policy() -> None:
    """Sign and verify ODRL offers and agreements (detached JWS over RFC 8785 JSON)."""


@policy.command("sign")
@FILE
@NODE
@click.option(
    "--role",
    type=click.Choice([PROVIDER, CONSUMER]),
    help="Default: provider for a plain policy, consumer to countersign a signed one.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def sign(file: Path, directory: Path | None, role: str | None, output: Path | None) -> None:
    """Sign the ODRL policy in FILE with the node's key, or countersign a signed document."""
    key, _retired = _node_key(directory or Path.cwd())
    try:
        document = sign_file(file, key.private, key.kid, role=role)
    except (ValueError, jws.SignatureError) as exc:
        _fail(f"{file}: {exc}")
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        made = document["signatures"][-1]["role"]
        click.echo(f"signed {file} as {made} with key {key.kid} -> {output}")


@policy.command("verify")
@FILE
@click.option(
    "--jwks",
    "sources",
    multiple=True,
    help="A JWKS file or URL holding a signer's public keys (repeatable).",
)
@NODE
@click.option(
    "--require",
    type=click.Choice([PROVIDER, CONSUMER]),
    multiple=True,
    help="Roles that must have signed (default: provider).",
)
def verify(
    file: Path, sources: tuple[str, ...], directory: Path | None, require: tuple[str, ...]
) -> None:
    """Check every signature of a signed document; exit 1 if any does not hold."""
    keys: dict[str, Any] = {}
    for source in sources:
        keys.update(_jwks(source))
    if directory is not None or not sources:
        key, retired = _node_key(directory or Path.cwd())
        keys[key.kid] = key.public
        keys.update({jws.thumbprint(public): public for public in retired})
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        signed = verify_document(document, keys, required_roles=require or (PROVIDER,))
    except (ValueError, jws.SignatureError) as exc:
        _fail(f"{file}: not valid: {exc}", code=1)
    for signature in signed:
        click.echo(f"valid: {signature.role} signature by key {signature.kid}")
