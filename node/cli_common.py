"""What every room's CLI commands share: the folder argument, the one-line failure, and
opening a folder's control plane when no node serves it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import Engine

from allmende.node import db
from allmende.node.config import ConfigError, Settings, load_settings

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


def fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2: what went wrong and what to do, no traceback."""
    click.echo(f"allmende: {message}", err=True)
    sys.exit(2)


def open_folder(directory: Path) -> tuple[Settings, Engine]:
    """The folder's settings and its control-plane database, migrated to this release."""
    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        fail(str(exc))
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    return settings, engine
