"""How the `allmende` commands reach a node folder, and how their failures read.

A folder served by a running node is locked by it (the RDF store allows one process), so a
command on that folder talks to the node's admin API over loopback, with a short-lived admin
token minted from the folder's own key (readable by the folder's owner only). A folder no
node serves is opened directly. Either way a failure is one line naming the fix, never a
traceback (`allmende --debug` shows one).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from allmende.node import run_file


class CommandError(Exception):
    """A command cannot do what was asked; the message is for the operator."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def fail(exc: CommandError) -> None:
    click.echo(f"allmende: {exc}", err=True)
    for error in exc.errors:
        click.echo(f"  - {error.get('field', '')}: {error.get('message', '')}", err=True)
    sys.exit(1)


class Remote:
    """The running node's admin API."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """The JSON answer (None for an empty one); a problem+json answer or an unreachable
        node is a CommandError."""
        payload = json.dumps(body).encode() if body is not None else data
        request = urllib.request.Request(self.url + path, data=payload, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if payload is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                problem = json.loads(exc.read())
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            if exc.code == 401:
                raise CommandError(
                    f"the node at {self.url} refused this folder's admin token: is it the node "
                    "of another folder? stop it, or serve this folder on another port"
                ) from None
            raise CommandError(
                problem.get("detail") or problem.get("title") or f"HTTP {exc.code}",
                problem.get("errors"),
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CommandError(
                f"the node at {self.url} does not answer ({reason}); is it still running?"
            ) from None


def _answers(url: str) -> bool:
    """Whether a node listens at `url`: refused means no; an answer, or a busy node that is
    slow to give one, means yes (its admin API will answer the command, or say why not)."""
    try:
        with urllib.request.urlopen(url + "/health", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # it answered (not ready yet, perhaps): it is running
    except TimeoutError:
        return True
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, TimeoutError)
    except OSError:
        return False


def serving_url(directory: Path, settings: Any) -> str | None:
    """Where a node serving this folder answers: its run file, else the configured address
    (a node started by an older version writes no run file)."""
    found = run_file.read(directory)
    if found is not None and _answers(found.url):
        return found.url
    from allmende.node.config import local_url

    configured = local_url(settings.http.host, settings.http.port)
    if (found is None or found.url != configured) and _answers(configured):
        return configured
    return None


def connect(directory: Path) -> Remote | None:
    """The admin API of the node serving `directory`, or None when no node serves it."""
    from allmende.node.auth import mint_token
    from allmende.node.config import ConfigError, load_settings
    from allmende.node.keys import load_key

    try:
        settings = load_settings(directory)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    url = serving_url(directory, settings)
    if url is None:
        return None
    try:
        key = load_key(settings.key_path)
    except PermissionError:
        raise CommandError(
            f"cannot read {settings.key_path}: run the command as the folder's owner"
        ) from None
    return Remote(url, mint_token(key, settings.node.id, subject="cli", ttl=600))


def require_stopped(directory: Path, what: str) -> None:
    """For the few commands that need the folder to themselves (reindex, load)."""
    found = run_file.read(directory)
    if found is not None:
        raise CommandError(
            f"a node serves {directory} (pid {found.pid}, {found.url}); {what} needs it "
            f"stopped: stop the node, run the command, start it again"
        )


def explain(exc: BaseException) -> str:
    """One line for an error a command did not handle itself, naming the fix if known."""
    text = str(exc)
    if isinstance(exc, CommandError):
        return text
    if isinstance(exc, PermissionError):
        return f"{exc.filename or text}: permission denied; run the command as the folder's owner"
    if isinstance(exc, ConnectionRefusedError | urllib.error.URLError):
        return f"the node does not answer ({text}); is it running?"
    if "database is locked" in text:
        return "the control database is locked by another process: try again in a moment"
    if isinstance(exc, OSError) and "lock" in text.lower():
        return (
            "the node folder is in use by another process (its store is locked): stop the "
            "other command, or start the node with `allmende serve` so commands go through it"
        )
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first} (run with --debug for details)"


class GuardedGroup(click.Group):
    """A command group that turns any error into one line and exit code 1 (not a traceback),
    unless --debug was given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except CommandError as exc:
            if ctx.meta.get("allmende.debug"):
                raise
            fail(exc)
        except Exception as exc:
            if ctx.meta.get("allmende.debug"):
                raise
            click.echo(f"allmende: {explain(exc)}", err=True)
            sys.exit(1)
