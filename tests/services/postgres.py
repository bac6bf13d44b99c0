"""A throwaway PostgreSQL server from Debian's package, on loopback, for control-plane tests.

    with PostgresServer() as server:       # or server = PostgresServer().start() ... server.stop()
        url = server.create_database("t1") # postgresql+psycopg://postgres@127.0.0.1:PORT/t1

initdb runs in a temporary folder (trust auth, 127.0.0.1 only, a free port, the unix socket
inside the folder). PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` system user (created if missing) through `runuser`.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.services.ports import ServiceStartError, ServiceUnavailable, free_port, tail, wait_for

SERVICE_USER = "postgres"
START_TIMEOUT = 60.0


class PostgresUnavailable(ServiceUnavailable):
    """PostgreSQL's server binaries (or a user to run them as) are missing here."""


def binaries() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin that has initdb, pg_ctl and postgres."""
    found = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/postgres")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in found:
        if all((folder / tool).exists() for tool in ("initdb", "pg_ctl", "pg_isready")):
            return folder
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin "
        "(apt-get install postgresql)"
    )


def _ensure_service_user() -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
        return
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        raise PostgresUnavailable(f"no `{SERVICE_USER}` system user and no useradd to create it")
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
        check=True,
        capture_output=True,
    )


class PostgresServer:
    """initdb + pg_ctl in a temporary folder; `create_database(name)` gives SQLAlchemy URLs."""

    def __init__(self, *, start_timeout: float = START_TIMEOUT) -> None:
        self.bin = binaries()
        self.as_root = os.geteuid() == 0
        if self.as_root and shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root, but `runuser` is missing (util-linux)")
        self.user = SERVICE_USER if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.port = free_port()
        self.start_timeout = start_timeout
        self.workdir: Path | None = None
        self.startup_seconds = 0.0

    @property
    def running(self) -> bool:
        return self.workdir is not None and (self.data / "postmaster.pid").exists()

    @property
    def data(self) -> Path:
        return self._dir / "data"

    @property
    def log_file(self) -> Path:
        return self._dir / "server.log"

    @property
    def _dir(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("the PostgreSQL server has not been started")
        return self.workdir

    def url(self, name: str = "postgres") -> str:
        """The SQLAlchemy URL of database `name` on this server."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def conninfo(self, name: str = "postgres") -> str:
        """The libpq/psycopg connection string of database `name`."""
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={name}"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *command],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            cwd="/",
        )
        if check and result.returncode != 0:
            raise ServiceStartError(
                f"{Path(command[0]).name} failed ({result.returncode}): "
                f"{(result.stdout + result.stderr)[-2000:]}"
            )
        return result

    def start(self) -> PostgresServer:
        """initdb, start, and wait until the server accepts connections."""
        if self.workdir is not None:
            return self
        started = time.monotonic()
        if self.as_root:
            _ensure_service_user()
        self.workdir = Path(tempfile.mkdtemp(prefix="allmende-pg-"))
        atexit.register(self.stop)
        try:
            if self.as_root:
                shutil.chown(self.workdir, SERVICE_USER)
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = " ".join(
            [
                "-h 127.0.0.1",
                f"-p {self.port}",
                f"-k {self._dir}",
                # Throwaway data: durability costs time and buys nothing here.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-t",
            str(int(self.start_timeout)),
            "-w",
            "start",
        )
        try:
            wait_for(self._ready, self.start_timeout, f"PostgreSQL on 127.0.0.1:{self.port}")
        except TimeoutError as exc:
            raise ServiceStartError(f"{exc}; log tail:\n{tail(self.log_file)}") from exc

    def _ready(self) -> bool:
        result = self._run(
            str(self.bin / "pg_isready"),
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            check=False,
        )
        return result.returncode == 0

    def create_database(self, name: str) -> str:
        """Create database `name` (letters, digits, underscore); return its SQLAlchemy URL."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: use letters, digits and underscores")
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        """pg_ctl stop -m fast, then remove the temporary folder."""
        atexit.unregister(self.stop)
        if self.workdir is None:
            return
        if self.running:
            stop = ("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            self._run(str(self.bin / stop[0]), *stop[1:], check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.workdir is not None else "stopped"
        return f"<PostgresServer {self.bin.parent.name} 127.0.0.1:{self.port} {state}>"
