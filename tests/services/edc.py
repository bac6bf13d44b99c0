"""A stock Eclipse EDC connector (0.15.1) from Maven Central, run on loopback and driven
through its management API, as a partner organisation runs it.

    libs = prepare()                         # jars into ~/.cache/allmende/edc-0.15.1-<pom>/libs
    with EdcConnector("urn:partner") as edc:  # one JVM, ports on 127.0.0.1
        edc.management                      # base URL of the management API (x-api-key: KEY)
        edc.protocol                        # its DSP endpoint (callbacks come here)

The runtime is a classpath of EDC's own modules and a properties file, no code of ours:
control plane with the Dataspace Protocol 2025-1, management API, in-memory stores, an
embedded data plane that pushes over HTTP (`HttpData-PUSH`) and EDC's configuration-only
identity service (`iam-mock`). What the registry does not serve at
0.15.1 is left out (see edc/pom.xml): the management API's EDR cache, and the remote token
service that EDC's Decentralized Claims Protocol needs to present any identity (there is
no other). So EDC's protocol messages carry iam-mock's token (a JSON object naming the
participant), and the tests put an identity bridge (`IdentityBridge`) between it and a node.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

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
    """The runtime's jars, resolved once per content of edc/pom.xml (a changed module list
    gets a folder of its own instead of the old jars)."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    libs = CACHE / f"edc-{VERSION}-{digest}" / "libs"
    return copy_dependencies(POM, libs, f"boot-{VERSION}.jar", f"Eclipse EDC {VERSION}")


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
        # ready when the management API answers a query: EDC's readiness check says 200
        # while the management API's resources are still being registered
        query = urllib.request.Request(
            f"{self.management}/v3/assets/request",
            data=json.dumps(vocab(**{"@type": "QuerySpec"})).encode(),
            headers={"x-api-key": API_KEY, "Content-Type": "application/json"},
            method="POST",
        )
        # and when its data plane is AVAILABLE: it registers as REGISTERED and is chosen for
        # a transfer only after its first health check, about a second later (a transfer
        # started in between ends TERMINATED, "No dataplane found", as CI saw)
        planes = urllib.request.Request(
            f"{self.management}/v3/dataplanes", headers={"x-api-key": API_KEY}
        )
        deadline = started + START_TIMEOUT
        answered = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceStartError(f"EDC ended at start-up: {tail(self.log_file)}")
            with contextlib.suppress(OSError, ValueError):
                if not answered:
                    with urllib.request.urlopen(query, timeout=2) as r:
                        answered = r.status == 200
                if answered:
                    with urllib.request.urlopen(planes, timeout=2) as r:
                        found = json.loads(r.read())
                    if found and all(p.get("state") == "AVAILABLE" for p in found):
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


OFFER_CONTEXT = ["http://www.w3.org/ns/odrl.jsonld", {"dct": "http://purl.org/dc/terms/"}]
"""The context under which an offer copied from a DSP catalog goes into a ContractRequest
(EDC's management API reads ODRL's context, not the DSP one)."""


@dataclass
class Management:
    """EDC's management API, as a partner's scripts call it."""

    edc: EdcConnector
    http: aiohttp.ClientSession
    poll: float = 0.02

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(
            method, self.edc.management + path, json=body, headers={"x-api-key": API_KEY}
        ) as answer:
            text = await answer.text()
            if answer.status >= 300:
                raise RuntimeError(f"EDC {method} {path}: {answer.status} {text[:2000]}")
            return json.loads(text) if text else None

    async def offer(self, address: str, counterparty: str, dataset_id: str) -> dict[str, Any]:
        """The dataset's first offer in the counterpart's catalog (EDC passes it through)."""
        catalog = await self.call(
            "POST",
            "/v3/catalog/request",
            vocab(
                **{"@type": "CatalogRequest"},
                counterPartyAddress=address,
                counterPartyId=counterparty,
                protocol=PROTOCOL,
            ),
        )
        datasets = catalog.get("dataset", catalog.get("dcat:dataset", []))
        datasets = datasets if isinstance(datasets, list) else [datasets]
        found = [d for d in datasets if d.get("@id") == dataset_id]
        if len(found) != 1:
            raise LookupError(f"{dataset_id!r} not in the catalog: {catalog}")
        policy = found[0].get("hasPolicy", found[0].get("odrl:hasPolicy"))
        offer: dict[str, Any] = policy[0] if isinstance(policy, list) else policy
        return offer

    async def request(
        self, address: str, offer: dict[str, Any], target: str, assigner: str | None = None
    ) -> str:
        """Start a negotiation for the offer; EDC's negotiation id. An offer from an EDC
        catalog names no assigner (the catalog's participantId is it)."""
        policy = {"@context": OFFER_CONTEXT, **offer, "target": target}
        if assigner is not None:
            policy.setdefault("assigner", assigner)
        started = await self.call(
            "POST",
            "/v3/contractnegotiations",
            vocab(
                **{"@type": "ContractRequest"},
                counterPartyAddress=address,
                protocol=PROTOCOL,
                policy=policy,
            ),
        )
        return str(started["@id"])

    async def until(self, negotiation: str, wait: float = 30.0) -> dict[str, Any]:
        """The negotiation once FINALIZED or TERMINATED (or as it is after `wait` s)."""
        deadline = time.monotonic() + wait
        while True:
            found: dict[str, Any] = await self.call(
                "GET", f"/v3/contractnegotiations/{negotiation}"
            )
            if found.get("state") in {"FINALIZED", "TERMINATED"} or time.monotonic() > deadline:
                return found
            await asyncio.sleep(self.poll)

    async def negotiate(
        self, address: str, offer: dict[str, Any], target: str, assigner: str | None = None
    ) -> dict[str, Any]:
        return await self.until(await self.request(address, offer, target, assigner))

    async def transfer(self, address: str, agreement_id: str, hook: str) -> None:
        """An HTTP-pull transfer; its `transfer.process.started` event goes to `hook`."""
        await self.call(
            "POST",
            "/v3/transferprocesses",
            vocab(
                **{"@type": "TransferRequest"},
                counterPartyAddress=address,
                contractId=agreement_id,
                protocol=PROTOCOL,
                transferType="HttpData-PULL",
                callbackAddresses=[
                    {"uri": hook, "events": ["transfer.process.started"], "transactional": False}
                ],
            ),
        )

    async def provide(
        self,
        asset_id: str,
        source: str = "http://127.0.0.1:9/unused",
        constraints: list[dict[str, Any]] | None = None,
    ) -> None:
        """As provider: an asset under an open access policy and a contract policy (open,
        or with `constraints` on its use), its data at the partner's backend `source`
        (EDC's data plane fetches it from there)."""
        await self.call(
            "POST",
            "/v3/assets",
            vocab(
                **{"@id": asset_id},
                properties={"name": asset_id},
                dataAddress={"type": "HttpData", "baseUrl": source},
            ),
        )
        await self.call(
            "POST",
            "/v3/policydefinitions",
            vocab(
                **{"@id": f"{asset_id}-policy"},
                policy={
                    "@context": "http://www.w3.org/ns/odrl.jsonld",
                    "@type": "Set",
                    "permission": [{"action": "use"}],
                },
            ),
        )
        contract = f"{asset_id}-policy"
        if constraints:
            contract = f"{asset_id}-contract-policy"
            await self.call(
                "POST",
                "/v3/policydefinitions",
                vocab(
                    **{"@id": contract},
                    policy={
                        "@context": "http://www.w3.org/ns/odrl.jsonld",
                        "@type": "Set",
                        "permission": [{"action": "use", "constraint": constraints}],
                    },
                ),
            )
        await self.call(
            "POST",
            "/v3/contractdefinitions",
            vocab(
                **{"@id": f"{asset_id}-contract"},
                accessPolicyId=f"{asset_id}-policy",
                contractPolicyId=contract,
                # this asset only: a module's EDC offers each asset under its own contract
                assetsSelector=[
                    {
                        "@type": "Criterion",
                        "operandLeft": EDC + "id",
                        "operator": "=",
                        "operandRight": asset_id,
                    }
                ],
            ),
        )


@dataclass
class IdentityBridge:
    """Loopback stand-in for a partner's identity between an EDC with `iam-mock` and a node:
    passes every protocol message unchanged and only swaps the Authorization header — EDC's
    mock token for the participant token the node issued to the partner (`token()`), the
    node's token for a mock token naming the node. `/hook` collects EDC's callback events.

    Paths: `/node/...` -> the node's `/dsp/...`; `/edc/...` -> EDC's protocol endpoint.
    """

    edc: EdcConnector
    node_url: str
    node_id: str
    token: Callable[[], str]
    port: int
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None

    @property
    def node_address(self) -> str:
        return f"http://127.0.0.1:{self.port}/node"

    @property
    def edc_address(self) -> str:
        """What EDC's `edc.dsp.callback.address` must be."""
        return f"http://127.0.0.1:{self.port}/edc"

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> IdentityBridge:
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/node/{tail:.*}", self._to_node)
        app.router.add_route("*", "/edc/{tail:.*}", self._to_edc)
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request, url: str, authorization: str) -> web.Response:
        assert self._http is not None
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        if "Authorization" in request.headers:
            headers["Authorization"] = authorization
        async with self._http.request(
            request.method, url, data=await request.read(), headers=headers
        ) as answer:
            return web.Response(
                status=answer.status, body=await answer.read(), content_type=answer.content_type
            )

    async def _to_node(self, request: web.Request) -> web.Response:
        url = f"{self.node_url}/dsp/{request.match_info['tail']}"
        return await self._forward(request, url, f"Bearer {self.token()}")

    async def _to_edc(self, request: web.Request) -> web.Response:
        """The node's messages (its bearer token) reach EDC as the node's; another EDC's
        (a mock token already) pass unchanged."""
        sent = request.headers.get("Authorization", "")
        mock = json.dumps(
            {"region": "eu", "audience": self.edc.participant_id, "clientId": self.node_id}
        )
        url = f"{self.edc.protocol}/{request.match_info['tail']}"
        return await self._forward(request, url, mock if sent.startswith("Bearer ") else sent)

    async def _hook(self, request: web.Request) -> web.Response:
        await self.events.put(await request.json())
        return web.Response(status=204)
