"""Remote SPARQL stores for the node to run against: Oxigraph server and Apache Jena Fuseki.

    with OxigraphServer() as server:       # `oxigraph serve` (PyPI oxigraph), in memory
        server.url                         # "http://127.0.0.1:PORT": one fresh dataset
    with FusekiServer() as server:         # fuseki-server jar from Maven Central
        server.dataset()                   # "http://127.0.0.1:PORT/dN": a fresh in-memory dataset

Both listen on 127.0.0.1 on a free port and run in a throwaway folder. An Oxigraph server
starts in a fraction of a second, so each node gets its own; Fuseki (a JVM) starts once and
hands each node a dataset of its own through its admin API. `prepare()` resolves the
Fuseki jar once into ~/.cache/allmende/fuseki-<version>/libs.
"""

from __future__ import annotations

import abc
import atexit
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.services.maven import CACHE, copy_dependencies
from tests.services.ports import (
    ServiceStartError,
    ServiceUnavailable,
    free_port,
    port_open,
    tail,
    wait_for,
)

FUSEKI_VERSION = "5.6.0"  # keep in step with fuseki/pom.xml
FUSEKI_POM = Path(__file__).with_name("fuseki") / "pom.xml"
JVM_OPTS = ["-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
START_TIMEOUT = 90.0


def fuseki_libs() -> Path:
    return CACHE / f"fuseki-{FUSEKI_VERSION}" / "libs"


def prepare() -> Path:
    """Resolve the Fuseki server jar once (cached); return its folder."""
    return copy_dependencies(
        FUSEKI_POM,
        fuseki_libs(),
        "jena-fuseki-server-*.jar",
        f"Apache Jena Fuseki {FUSEKI_VERSION}",
    )


class _Server(abc.ABC):
    """A server process in its own process group and folder; stopped by stop() or at exit."""

    name = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @abc.abstractmethod
    def command(self) -> list[str]:
        """The server's command line, with its port and folder."""

    def log_tail(self) -> str:
        return tail(self.workdir / "stdout.log", chars=2000) if self.workdir else ""

    def start(self) -> Self:
        if self.running:
            return self
        command = self.command()  # raises ServiceUnavailable before anything starts
        started = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"allmende-{self.name}-"))
        atexit.register(self.stop)
        with open(self.workdir / "stdout.log", "ab") as output:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.workdir,
                env={**os.environ, "FUSEKI_BASE": str(self.workdir / "run")},
            )
        try:
            wait_for(self._answers, START_TIMEOUT, f"{self.name} on 127.0.0.1:{self.port}", 0.05)
        except (TimeoutError, ServiceStartError) as exc:
            log = self.log_tail()
            self.stop()
            raise ServiceStartError(f"{exc}; log tail:\n{log}") from exc
        self.startup_seconds = time.monotonic() - started
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ServiceStartError(f"{self.name} exited with status {self.process.returncode}")
        return port_open(self.port)

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class OxigraphServer(_Server):
    """`oxigraph serve`: one dataset at `url`, in memory, or in `location` (a folder that
    outlives a stop, so the same store comes back on the same port)."""

    name = "oxigraph-server"

    def __init__(self, location: Path | None = None) -> None:
        super().__init__()
        self.location = location

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        binary = shutil.which("oxigraph")
        if binary is None:
            raise ServiceUnavailable(
                "`oxigraph` not found: pip install -e '.[dev]' installs it (PyPI oxigraph)"
            )
        stored = ["--location", str(self.location)] if self.location is not None else []
        return [binary, "serve", *stored, "--bind", f"127.0.0.1:{self.port}"]


class FusekiServer(_Server):
    """Fuseki with its admin API; `dataset()` adds an in-memory dataset and returns its URL."""

    name = "fuseki"

    def __init__(self) -> None:
        super().__init__()
        self._names = itertools.count(1)

    def command(self) -> list[str]:
        if shutil.which("java") is None:
            raise ServiceUnavailable("java not found: Apache Jena Fuseki needs Java 17")
        jar = next(prepare().glob("jena-fuseki-server-*.jar"))
        return [
            "java",
            *JVM_OPTS,
            "-jar",
            str(jar),
            "--localhost",
            f"--port={self.port}",
            "--mem",
            "--update",
            "/ds",
        ]

    def _answers(self) -> bool:
        if not super()._answers():
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/$/ping", timeout=2):
                return True
        except OSError:
            return False

    def dataset(self) -> str:
        name = f"d{next(self._names)}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/$/datasets",
            data=f"dbName={name}&dbType=mem".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:
                raise ServiceStartError(f"Fuseki did not create dataset {name}: {response.status}")
        return f"http://127.0.0.1:{self.port}/{name}"
