"""A single-node Apache Kafka broker in KRaft mode, from jars Maven resolves from Maven Central.

    with KafkaBroker() as broker:          # or broker = KafkaBroker().start() ... broker.stop()
        broker.bootstrap                   # "127.0.0.1:PORT"
        broker.stop_broker()               # an outage: the process ends, data dir and ports stay
        broker.restart()                   # the same cluster comes back on the same ports

Jars: `prepare()` runs `mvn dependency:copy-dependencies` on kafka/pom.xml once into
~/.cache/allmende/kafka-<version>/libs (override the cache root with ALLMENDE_SERVICES_CACHE);
Maven keeps its own copy in ~/.m2. Extra JVM options: ALLMENDE_KAFKA_JVM_OPTS.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.services.maven import CACHE, copy_dependencies
from tests.services.ports import (
    ServiceStartError,
    ServiceUnavailable,
    free_port,
    port_open,
    tail,
    wait_for,
)

VERSION = "3.9.1"  # keep in step with kafka/pom.xml
HERE = Path(__file__).with_name("kafka")
POM = HERE / "pom.xml"
LOG_CONFIG = HERE / "log4j.properties"
# C1 only and the serial collector: about 0.7 s faster to start and lighter on 2 cores; a test
# broker never runs long enough for C2 to pay off.
JVM_OPTS = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
START_TIMEOUT = 120.0


class KafkaUnavailable(ServiceUnavailable):
    """Java, Maven or the broker jars are missing on this machine."""


def libs_dir() -> Path:
    return CACHE / f"kafka-{VERSION}" / "libs"


def prepare() -> Path:
    """Resolve the broker jars once (cached in ~/.m2 and the cache folder); return their folder."""
    try:
        return copy_dependencies(POM, libs_dir(), f"kafka_2.13-{VERSION}.jar", f"Kafka {VERSION}")
    except ServiceUnavailable as exc:
        raise KafkaUnavailable(str(exc)) from exc


def _cluster_id() -> str:
    """A Kafka Uuid string: 16 random bytes, base64url without padding (22 characters).

    Like Kafka's own Uuid.randomUuid(), never one that starts with "-" (a command line would
    read it as an option).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class KafkaBroker:
    """A combined broker+controller on 127.0.0.1; `bootstrap` is the address clients use."""

    def __init__(self, *, start_timeout: float = START_TIMEOUT) -> None:
        self.port = free_port()
        self.controller_port = free_port()
        self.start_timeout = start_timeout
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0  # the first start, storage format included
        self.restart_seconds: float | None = None  # the latest restart()
        self._formatted = False

    # -- addresses and files ------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def log_file(self) -> Path:
        return self._dir / "broker.log"

    @property
    def _dir(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("the broker has not been started")
        return self.workdir

    def log_tail(self, chars: int = 2000) -> str:
        return tail(self._dir / "stdout.log", self.log_file, chars=chars)

    def _write_config(self) -> Path:
        config = self._dir / "server.properties"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self._dir / "data"),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.io.threads": "2",
            "num.network.threads": "1",
            "num.recovery.threads.per.data.dir": "1",
            "background.threads": "2",
            "log.cleaner.enable": "false",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
        }
        config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return config

    def _java(self, main: str, *args: str) -> list[str]:
        libs = prepare()
        if shutil.which("java") is None:
            raise KafkaUnavailable("java not found: the Kafka broker needs Java 17")
        extra = shlex.split(os.environ.get("ALLMENDE_KAFKA_JVM_OPTS", ""))
        return [
            "java",
            *JVM_OPTS,
            *extra,
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self._dir}",
            f"-Dlog4j.configuration=file:{LOG_CONFIG}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> KafkaBroker:
        """Format storage (first time only), start the broker and wait until it answers."""
        if self.running:
            return self
        started = time.monotonic()
        first = self.workdir is None
        if first:
            self.workdir = Path(tempfile.mkdtemp(prefix="allmende-kafka-"))
            atexit.register(self.stop)
        try:
            self._start_process()
        except BaseException:
            if first:
                self.stop()
            else:
                self.stop_broker()
            raise
        elapsed = time.monotonic() - started
        if first:
            self.startup_seconds = elapsed
        else:
            self.restart_seconds = elapsed
        return self

    def _start_process(self) -> None:
        config = self._write_config()
        if not self._formatted:
            command = self._java(
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={_cluster_id()}",
                "-c",
                str(config),
            )
            result = subprocess.run(command, capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise ServiceStartError(
                    f"kafka.tools.StorageTool format failed: {(result.stdout + result.stderr)[-2000:]}"
                )
            self._formatted = True
        with open(self._dir / "stdout.log", "ab") as output:
            self.process = subprocess.Popen(
                self._java("kafka.Kafka", str(config)),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals the whole JVM
                cwd=self._dir,
            )
        try:
            wait_for(self._answers, self.start_timeout, f"Kafka broker on {self.bootstrap}", 0.2)
        except TimeoutError as exc:
            raise ServiceStartError(f"{exc}; log tail:\n{self.log_tail()}") from exc

    def _answers(self) -> bool:
        """True once the broker answers a metadata request (and lists itself as a broker)."""
        if self.process is not None and self.process.poll() is not None:
            raise ServiceStartError(
                f"Kafka broker exited with status {self.process.returncode}; "
                f"log tail:\n{self.log_tail()}"
            )
        if not port_open(self.port):
            return False
        # A thread of its own, so that restart() also works when called inside a running loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._metadata()).result()

    async def _metadata(self) -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return bool(cluster.get("brokers"))
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    def stop_broker(self, timeout: float = 30.0) -> None:
        """End the broker process (SIGTERM, then SIGKILL); data dir and ports stay for restart()."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                process.wait()

    def restart(self) -> KafkaBroker:
        """Stop (if running) and start again: same cluster, data and ports. Sets restart_seconds."""
        self.stop_broker()
        return self.start()

    async def arestart(self) -> KafkaBroker:
        """restart() for async tests, without blocking their event loop."""
        return await asyncio.to_thread(self.restart)

    async def astop_broker(self) -> None:
        """stop_broker() for async tests, without blocking their event loop."""
        await asyncio.to_thread(self.stop_broker)

    def stop(self) -> None:
        """Stop the broker and remove its temporary folder (data included)."""
        self.stop_broker()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
            self._formatted = False
        atexit.unregister(self.stop)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<KafkaBroker {VERSION} {self.bootstrap} {state}>"
