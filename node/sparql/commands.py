"""`allmende load DIR FILE [--graph IRI]`: bulk import into a stopped node's store, recorded
as one event that names a kept copy of the file (node/sparql/bulk.py)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from allmende.node.config import ConfigError


@click.command("load")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--graph",
    help="Load the file's triples into this graph (default: the default graph; "
    "a quad file's own graphs).",
)
@click.option(
    "--format",
    "media_type",
    help="Media type of the file (default: from its extension: .ttl .nt .nq .trig .rdf .jsonld).",
)
def load(directory: Path, file: Path, graph: str | None, media_type: str | None) -> None:
    """Import an RDF file with the store's bulk loader; the event log records the load and
    keeps the file (so reindex loads it again)."""
    import pyoxigraph as ox

    from allmende.node.cli_client import CommandError, require_stopped
    from allmende.node.runtime import Node
    from allmende.node.sparql.bulk import load_file

    try:
        require_stopped(directory, "load")
    except CommandError as exc:
        raise click.ClickException(str(exc)) from None

    fmt = (
        ox.RdfFormat.from_media_type(media_type)
        if media_type
        else ox.RdfFormat.from_extension(file.suffix.lstrip("."))
    )
    if fmt is None:
        raise click.ClickException(f"cannot tell the RDF format of {file.name}; use --format")
    try:
        node = Node.open(directory)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot open the node's store ({exc}); stop the node first"
        ) from None
    started = time.perf_counter()
    try:
        loaded = load_file(node, file, graph, fmt)
    except SyntaxError as exc:  # its message names line and column; not the kept copy
        raise click.ClickException(f"{file.name}: {exc.msg}") from None
    except ValueError as exc:
        raise click.ClickException(f"{file.name}: {exc}") from None
    finally:
        node.close()
    seconds = time.perf_counter() - started
    click.echo(
        f"loaded {loaded.triples} triples into {loaded.graphs} graph(s) as {loaded.events} "
        f"event in {seconds:.1f} s ({loaded.triples / max(seconds, 1e-9):.0f} triples/s)"
    )
