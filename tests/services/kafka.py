"""A single-node Apache Kafka broker in KRaft mode, from jars Maven resolves from Maven Central."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.services.ports import free_port, port_open, wait_for

VERSION = "3.9.1"
POM = Path(__file__).with_name("kafka") / "pom.xml"
CACHE = Path(os.environ.get("ALLMENDE_SERVICES_CACHE", Path.home() / ".cache" / "allmende"))
LOG4J = """log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
"""


class KafkaUnavailable(RuntimeError):
    """Java, Maven or the broker jars are missing on this machine."""


def libs_dir() -> Path:
    return CACHE / f"kafka-{VERSION}" / "libs"


def prepare() -> Path:
    """Resolve the broker jars once (cached in ~/.m2 and the cache folder)."""
    libs = libs_dir()
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("java") is None or shutil.which("mvn") is None:
        raise KafkaUnavailable("java and mvn are needed to run the Kafka broker")
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise KafkaUnavailable(f"Maven could not resolve Kafka: {result.stdout[-2000:]}")
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    return libs


class KafkaBroker:
    """Start with `start()` (or `with KafkaBroker() as broker:`); `bootstrap` is host:port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.controller_port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="allmende-kafka-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self._formatted = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "broker.log"

    def _write_config(self) -> Path:
        config = self.workdir / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.workdir / 'data'}",
                    "num.partitions=1",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "transaction.state.log.num.partitions=1",
                    "group.initial.rebalance.delay.ms=0",
                    "num.io.threads=2",
                    "num.network.threads=1",
                    "auto.create.topics.enable=true",
                    "log.flush.interval.messages=1",
                ]
            )
            + "\n"
        )
        (self.workdir / "log4j.properties").write_text(LOG4J.format(log=self.log_file))
        return config

    def _java(self, main: str, *args: str) -> list[str]:
        libs = prepare()
        return [
            "java",
            "-Xms128m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            f"-Dlog4j.configuration=file:{self.workdir / 'log4j.properties'}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def start(self) -> KafkaBroker:
        started = time.monotonic()
        config = self._write_config()
        if not self._formatted:
            cluster = str(uuid.uuid4().hex[:22])
            subprocess.run(
                self._java("kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(config)),
                check=True,
                capture_output=True,
                timeout=120,
            )
            self._formatted = True
        output = open(self.workdir / "stdout.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            self._java("kafka.Kafka", str(config)),
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
        output.close()
        try:
            wait_for(self._answers, 120, "Kafka broker start")
        except TimeoutError as exc:
            self.stop_broker()
            raise KafkaUnavailable(f"{exc}; log tail: {self._log_tail()}") from exc
        self.startup_seconds = time.monotonic() - started
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise KafkaUnavailable(f"broker exited: {self._log_tail()}")
        if not port_open(self.port):
            return False
        return asyncio.run(self._metadata())

    async def _metadata(self) -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    def _log_tail(self) -> str:
        texts = []
        for name in ("stdout.log", "broker.log"):
            path = self.workdir / name
            if path.exists():
                texts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(texts)

    def stop_broker(self) -> None:
        """Stop the process but keep data and ports, so `restart()` resumes the same cluster."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def restart(self) -> KafkaBroker:
        self.stop_broker()
        return self.start()

    def stop(self) -> None:
        self.stop_broker()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
