"""A throwaway PostgreSQL server from Debian's package, on loopback, for control-plane tests."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.services.ports import free_port, wait_for

SERVICE_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed here."""


def binaries() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (apt-get install postgresql)"
        )
    return Path(candidates[0]).parent


class PostgresServer:
    """initdb + pg_ctl in a temporary folder; as root it runs as the `postgres` system user."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="allmende-pg-"))
        self.data = self.workdir / "data"
        self.startup_seconds = 0.0
        self.user = SERVICE_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *command], check=check, capture_output=True, text=True, timeout=120
        )

    def start(self) -> PostgresServer:
        started = time.monotonic()
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError as exc:
                raise PostgresUnavailable("no `postgres` system user to run the server as") from exc
            shutil.chown(self.workdir, SERVICE_USER)
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
            "--no-sync",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "server.log"),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.workdir} -c fsync=off -c max_connections=200",
            "-w",
            "start",
        )
        wait_for(self._ready, 60, "PostgreSQL start")
        self.startup_seconds = time.monotonic() - started
        return self

    def _ready(self) -> bool:
        result = self._run(
            str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), check=False
        )
        return result.returncode == 0

    def create_database(self, name: str) -> str:
        """A fresh database; returns its SQLAlchemy URL."""
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            name,
        )
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.data.exists():
            self._run(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "fast",
                "-w",
                "stop",
                check=False,
            )
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
