"""A stock Eclipse EDC connector (0.15.1) from Maven Central, run on loopback and driven
through its management API, as a partner organisation runs it.

    libs = prepare()                         # jars into ~/.cache/allmende/edc-0.15.1/libs
    with EdcConnector("urn:partner") as edc:  # one JVM, ports on 127.0.0.1
        edc.management                      # base URL of the management API (x-api-key: KEY)
        edc.protocol                        # its DSP endpoint (callbacks come here)

The runtime is a classpath of EDC's own modules and a properties file, no code of ours:
control plane with the Dataspace Protocol 2025-1, management API, in-memory stores and
EDC's configuration-only identity service (`iam-mock`). What the registry does not serve at
0.15.1 is left out (see edc/pom.xml): the management API's EDR cache, and the remote token
service that EDC's Decentralized Claims Protocol needs to present any identity (there is
no other). So EDC's protocol messages carry iam-mock's token (a JSON object naming the
participant), and the tests put an identity bridge in front of it
(`EdcBridge` in tests/dsp/test_edc_consumer.py).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.services.maven import CACHE, copy_dependencies
from tests.services.ports import ServiceStartError, ServiceUnavailable, free_port, tail

VERSION = "0.15.1"  # keep in step with edc/pom.xml
POM = Path(__file__).with_name("edc") / "pom.xml"
MAIN = "org.eclipse.edc.boot.system.runtime.BaseRuntime"
API_KEY = "allmende-test-key"
"""The management API's static key (header x-api-key): loopback only, a test runtime."""
PROTOCOL = "dataspace-protocol-http:2025-1"
EDC = "https://w3id.org/edc/v0.0.1/ns/"
JVM_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
"""C1 and the serial collector: a test runtime starts faster and is lighter on 2 cores."""
START_TIMEOUT = 120.0


def prepare() -> Path:
    return copy_dependencies(
        POM, CACHE / f"edc-{VERSION}" / "libs", f"boot-{VERSION}.jar", f"Eclipse EDC {VERSION}"
    )


class EdcConnector:
    """One EDC runtime; `start()` returns when its management API answers."""

    def __init__(self, participant_id: str, *, settings: dict[str, str] | None = None) -> None:
        self.participant_id = participant_id
        self.extra = dict(settings or {})
        self.ports = {name: free_port() for name in ("api", "management", "protocol", "control")}
        self.directory = Path(tempfile.mkdtemp(prefix="allmende-edc-"))
        self.log_file = self.directory / "edc.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    @property
    def management(self) -> str:
        return f"http://127.0.0.1:{self.ports['management']}/management"

    @property
    def protocol(self) -> str:
        return f"http://127.0.0.1:{self.ports['protocol']}/protocol"

    def settings(self) -> dict[str, str]:
        paths = {"api": "/api", "management": "/management", "protocol": "/protocol"}
        paths["control"] = "/control"
        config = {"edc.participant.id": self.participant_id}
        for name, path in paths.items():
            prefix = "web.http" if name == "api" else f"web.http.{name}"
            config[f"{prefix}.port"] = str(self.ports[name])
            config[f"{prefix}.path"] = path
        config.update(
            {
                "web.http.management.auth.type": "tokenbased",
                "web.http.management.auth.key": API_KEY,
                "edc.dsp.callback.address": self.protocol,
                # a test connector reacts at once instead of every second
                "edc.negotiation.consumer.state-machine.iteration-wait-millis": "20",
                "edc.negotiation.provider.state-machine.iteration-wait-millis": "20",
                "edc.transfer.state-machine.iteration-wait-millis": "20",
                "edc.negotiation.consumer.send.retry.limit": "1",
                "edc.negotiation.provider.send.retry.limit": "1",
                "edc.transfer.send.retry.limit": "1",
            }
        )
        config.update(self.extra)
        return config

    def start(self) -> EdcConnector:
        java = shutil.which("java")
        if java is None:
            raise ServiceUnavailable("java not found: Eclipse EDC needs Java 17")
        libs = prepare()
        properties = self.directory / "edc.properties"
        properties.write_text("".join(f"{key}={value}\n" for key, value in self.settings().items()))
        command = [
            java,
            *JVM_OPTS,
            f"-Dedc.fs.config={properties}",
            "-cp",
            f"{libs}/*",
            MAIN,
        ]
        started = time.monotonic()
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        readiness = f"http://127.0.0.1:{self.ports['api']}/api/check/readiness"
        deadline = started + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceStartError(f"EDC ended at start-up: {tail(self.log_file)}")
            with contextlib.suppress(OSError), urllib.request.urlopen(readiness, timeout=1) as r:
                if r.status == 200:
                    self.startup_seconds = time.monotonic() - started
                    return self
            time.sleep(0.1)
        self.stop()
        raise ServiceStartError(
            f"EDC was not ready in {START_TIMEOUT:.0f} s: {tail(self.log_file)}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> EdcConnector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def vocab(**fields: Any) -> dict[str, Any]:
    """A management API request body under EDC's vocabulary."""
    return {"@context": {"@vocab": EDC}, **fields}
