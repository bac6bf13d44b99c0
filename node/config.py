"""Node configuration: `DIR/allmende.toml`, every key overridable by `ALLMENDE_<SECTION>_<KEY>`.

A wrong or missing setting must stop start-up with one line that names it, because the
operator of a small municipality reads that line and nothing else.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

CONFIG_FILE = "allmende.toml"
KEY_FILE = "node-key.pem"
AGS_PATTERN = re.compile(r"^\d{2}(\d(\d{2}(\d{3})?)?)?$")


class ConfigError(Exception):
    """A setting that is wrong or missing; its message is one line naming the setting."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeSection(_Section):
    """Who the node is: its id names it in every event, offer and agreement it signs."""

    id: str = Field(
        description="the node's id, an https URL that names it for good (peers trust this id; "
        "it need not answer), e.g. https://luetjenholm.example/"
    )
    name: str = Field(
        min_length=1,
        max_length=200,
        description="the village's name as pages and the catalog show it",
    )
    ags: str = Field(
        description="Amtlicher Gemeindeschlüssel (2, 3, 5 or 8 digits): where the data is from, "
        "in the catalog's spatial coverage"
    )
    base_url: str = Field(
        default="",
        description="the node's public URL; empty: http://HOST:PORT of where `allmende serve` "
        "listens (its --host/--port, else [http])",
    )
    role: Literal["all", "query"] = Field(
        default="all",
        description="all: take writes and serve reads; query: a read replica that projects "
        "the PostgreSQL event log into a store of its own, answers reads and refuses writes "
        "(`allmende serve --role query`)",
    )

    @field_validator("id")
    @classmethod
    def _https_id(cls, value: str) -> str:
        if not re.match(r"^https://[^\s/?#]+(/[^\s?#]*)?$", value):
            raise ValueError("must be an https URL, e.g. https://luetjenholm.example/")
        return value

    @field_validator("ags")
    @classmethod
    def _ags(cls, value: str) -> str:
        if not AGS_PATTERN.match(value):
            raise ValueError("must be an Amtlicher Gemeindeschlüssel of 2, 3, 5 or 8 digits")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value:
            return value
        if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
            raise ValueError("must be an http(s) URL without query, e.g. https://data.example/")
        return value.rstrip("/")


class HttpSection(_Section):
    """Where the node listens."""

    host: str = Field(
        default="127.0.0.1",
        description="address to listen on; 0.0.0.0 or :: for every interface (behind a proxy, "
        "keep loopback)",
    )
    port: int = Field(default=8700, ge=1, le=65535, description="TCP port to listen on")
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="largest request body the node reads (uploads, bulk RDF); larger ones get 413",
    )
    shutdown_timeout: float = Field(
        default=10.0, gt=0, description="seconds open requests may finish when the node stops"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks of the reverse proxies in front (e.g. 127.0.0.1); "
        "from these the client's address is read from X-Forwarded-For, so per-address limits "
        "count clients, not the proxy. From anyone else the header is ignored",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        """From the environment a list comes as `a,b`; each must be an address or network."""
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        for item in value if isinstance(value, list) else []:
            try:
                ipaddress.ip_network(str(item), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value


class DatabaseSection(_Section):
    """The control plane: datasets, devices, agreements, the event log."""

    url: str = Field(
        default="sqlite:///data/control.sqlite",
        description="sqlite:///PATH (relative to the node folder) or "
        "postgresql+psycopg://USER:PASSWORD@HOST/DB",
    )

    @field_validator("url")
    @classmethod
    def _known_dialect(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value


class StoreSection(_Section):
    """The RDF store that the catalog and the SPARQL endpoint read: embedded Oxigraph in a
    folder, or a SPARQL 1.1 server (Oxigraph server, Apache Jena Fuseki) by URL."""

    path: str = Field(
        default="data/store",
        description="folder of the RDF store, relative to the node folder; "
        "`allmende reindex` rebuilds it from the event log",
    )
    url: str = Field(
        default="",
        description="a remote SPARQL 1.1 store instead of the folder: the dataset's address, "
        "which answers queries at URL/query and updates at URL/update, e.g. "
        "http://127.0.0.1:7878 (oxigraph serve) or http://127.0.0.1:3030/allmende (Fuseki); "
        "USER:PASSWORD@ in it is sent as HTTP Basic and never logged; empty: the folder",
    )
    timeout: float = Field(
        default=60.0, gt=0, description="seconds one request to the remote store may take"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
            raise ValueError("must be an http(s) URL without query, e.g. http://127.0.0.1:7878")
        return value.rstrip("/")


class KafkaSection(_Section):
    """The Kafka cluster the federation uses, when it uses one (see federation.transport)."""

    bootstrap_servers: str = Field(
        default="", description="HOST:PORT[,HOST:PORT…] of the brokers; empty: no Kafka"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how the node connects to the brokers"
    )
    sasl_mechanism: str = Field(
        default="", description="SASL mechanism (PLAIN, SCRAM-SHA-256 …); empty: SCRAM-SHA-512"
    )
    sasl_username: str = Field(default="", description="SASL user name")
    sasl_password: str = Field(
        default="",
        repr=False,
        description="SASL password; better given as ALLMENDE_KAFKA_SASL_PASSWORD than in the file",
    )
    ssl_cafile: str = Field(
        default="",
        description="PEM file of the CA that signed the brokers' certificates; empty: the "
        "system's CAs",
    )


class WebSection(_Section):
    """Map tiles are off by default: a village may not have a tile server it is allowed to use."""

    tiles: str = Field(
        default="",
        description="tile URL template for the map, e.g. https://tiles.example/{z}/{x}/{y}.png; "
        "empty: the map shows the sensors without a background",
    )
    tiles_attribution: str = Field(
        default="", description="the attribution the tile server asks for, shown on the map"
    )

    @field_validator("tiles")
    @classmethod
    def _tile_template(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s]+\{z\}[^\s]*$", value):
            raise ValueError("must be a tile URL template with {z}, {x} and {y}")
        return value


class SparqlSection(_Section):
    """Limits that make the public SPARQL endpoint safe to leave open."""

    query_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="seconds a query may wait plus run; then its worker process is killed "
        "(its CPU is freed) and replaced",
    )
    max_query_bytes: int = Field(
        default=64 * 1024, ge=256, description="longest query text; longer ones get 414 or 413"
    )
    max_result_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="largest answer in bytes; a query whose answer grows beyond gets 413",
    )
    workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="query worker processes (each keeps its own in-memory copy of the store)",
    )
    memory_quads: int = Field(
        default=1_000_000,
        ge=0,
        description="each query worker, and the node's own process for queries proven cheap, "
        "keeps an in-memory copy of a store up to this many quads (about 450 bytes a quad per "
        "copy; answers ~4-10x faster); 0: always read from disk",
    )
    rate_per_second: float = Field(
        default=1000.0,
        gt=0,
        description="queries per second one client may send on average, only a guard against "
        "floods (Apache Jena's SERVICE join sends one query per binding, some 350 a second on "
        "loopback); beyond, 429 with Retry-After",
    )
    rate_burst: int = Field(
        default=2000, ge=1, description="queries one client may send at once before the rate counts"
    )
    query_seconds: float = Field(
        default=60.0,
        gt=0,
        description="query time one client may use at once: the seconds its queries held a "
        "query worker (a lookup costs milliseconds, a heavy aggregate seconds); once used, "
        "429 with Retry-After until it has regained some",
    )
    query_seconds_per_second: float = Field(
        default=0.5,
        gt=0,
        description="query time (worker-seconds) a client regains per second, up to "
        "query_seconds: 0.5 lets one client keep half a worker busy",
    )
    agreement_quota: float = Field(
        default=4.0,
        ge=1,
        le=1000,
        description="quota of a client with a token this node issued (an agreement's access "
        "token, a participant's or the operator's), times the anonymous one: rate_per_second, "
        "rate_burst, query_seconds and query_seconds_per_second",
    )
    peer_quota: float = Field(
        default=10.0,
        ge=1,
        le=1000,
        description="quota of a trusted peer node (a participant token its own key signed for "
        "this node), times the anonymous one, as for agreement_quota",
    )
    light_workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="query workers held back for light queries (lookups with a constant or a "
        "small LIMIT): heavy ones (aggregates, sorting everything, unbounded paths, scans) use "
        "at most workers - light_workers at once, so lookups never wait behind them; "
        "0: one lane for all",
    )
    heavy_per_client: int = Field(
        default=1,
        ge=1,
        le=64,
        description="heavy queries one client (the subject of its token, else its address) may "
        "have running or waiting; more are answered 429 with Retry-After",
    )
    queue: int = Field(
        default=8,
        ge=0,
        le=1000,
        description="queries that may wait for a worker, per lane; when full, 503 with "
        "Retry-After. Waiting counts towards query_timeout",
    )
    light_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="a light query still running after this long counts as heavy (for its "
        "lane and its client's cap)",
    )
    heavy_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="niceness of the heavy lane's workers: on a busy CPU the node's own work "
        "(ingest, pages) and light queries go first",
    )


class FederationSection(_Section):
    """How this node shares with its peers: the embedded HTTP feed, or Kafka when configured."""

    transport: Literal["auto", "feed", "kafka"] = Field(
        default="auto",
        description="auto: Kafka when kafka.bootstrap_servers is set, else the HTTP feed",
    )
    feed_wait: float = Field(
        default=20.0, gt=0, le=60, description="seconds one poll of a peer's feed is held open"
    )
    retry_interval: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="seconds before retrying an unreachable peer or broker",
    )
    page_size: int = Field(
        default=500, ge=1, le=5000, description="events per feed page or relay step"
    )
    catalog_topic: str = Field(
        default="allmende.catalog.v1",
        min_length=1,
        max_length=249,
        description="Kafka topic of the signed catalog events",
    )
    observations_topic: str = Field(
        default="allmende.observations.v1",
        min_length=1,
        max_length=249,
        description="Kafka topic of the pooled sensor readings",
    )
    partitions: int = Field(default=3, ge=1, le=1000, description="for topics the node creates")
    replication_factor: int = Field(
        default=1, ge=1, le=10, description="for topics the node creates"
    )
    create_topics: bool = Field(default=True, description="create missing topics at start")


class DspSection(_Section):
    """The Dataspace Protocol provider: where it may call consumers back, and its plans."""

    callback_hosts: list[str] = Field(
        default=[],
        description="host:port of consumers' callback addresses the node may post to, "
        "besides its trusted peers",
    )
    plans: str = Field(
        default="",
        description="a JSON file with per-dataset negotiation and per-agreement transfer "
        "plans (node.dsp.plans); empty: the automatic plan for all",
    )

    @field_validator("callback_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """From the environment the list comes as `host:port,host:port`."""
        return (
            [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        )


MEMBERSHIP_SCOPE = "org.eclipse.edc.vc.type:MembershipCredential:read"


class DcpSection(_Section):
    """Decentralized Claims Protocol (node.identity): partners whose connectors (Eclipse EDC)
    prove who they are with verifiable credentials instead of a token of this node."""

    did: str = Field(
        default="",
        description="the node's own did:web; empty: derived from node.base_url "
        "(https://host:port/path becomes did:web:host%3Aport:path), served at "
        "/.well-known/did.json",
    )
    trusted_issuers: list[str] = Field(
        default=[],
        description="DIDs of the credential issuers whose credentials the node believes "
        "(e.g. the data space's membership issuer); empty: DCP partners are refused",
    )
    credential_types: list[str] = Field(
        default=["MembershipCredential"],
        description="verifiable credential types a partner must present (each from a trusted "
        "issuer) before it may negotiate",
    )
    scopes: list[str] = Field(
        default=[MEMBERSHIP_SCOPE],
        description="DCP scopes the node asks a partner's credential service for, and that its "
        "own secure token service grants when it consumes from a partner",
    )
    ca_file: str = Field(
        default="",
        description="a PEM file of extra certificate authorities trusted for did:web documents, "
        "credential services and status lists (besides the system's); relative to the node "
        "folder",
    )
    private_addresses: bool = Field(
        default=False,
        description="also fetch DID documents, credential services and status lists at "
        "private, loopback and link-local addresses (a data space inside an intranet); off: "
        "only public addresses, so a token cannot make the node call into its own network",
    )
    fetch_timeout: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="seconds one DID document, presentation or status list may take to arrive",
    )
    max_document_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="largest DID document, presentation response or status list read",
    )
    cache_seconds: float = Field(
        default=300.0,
        ge=0,
        le=86400,
        description="how long a resolved DID document or status list is reused",
    )
    token_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="lifetime of the self-issued ID tokens and presentations the node signs",
    )

    @field_validator("trusted_issuers", "credential_types", "scopes", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """From the environment a list comes as `a,b`."""
        return (
            [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        )

    @field_validator("did")
    @classmethod
    def _did_web(cls, value: str) -> str:
        if value and not re.match(r"^did:web:[^\s:/?#]+(:[^\s:/?#]+)*$", value):
            raise ValueError("must be a did:web, e.g. did:web:data.example")
        return value

    @field_validator("trusted_issuers")
    @classmethod
    def _dids(cls, value: list[str]) -> list[str]:
        for issuer in value:
            if not re.match(r"^did:[a-z0-9]+:\S+$", issuer):
                raise ValueError(f"{issuer!r} is not a DID")
        return value


class ConnectionsSection(_Section):
    """How long a client may take before the node gives up on its connection."""

    header_timeout: float = Field(
        default=15.0,
        gt=0,
        le=600,
        description="seconds a client has to send a request's complete headers, counted from "
        "its connection or its previous response; a slow sender (slowloris) or an idle "
        "keep-alive connection is closed after as long",
    )


class ConsoleSection(_Section):
    """Operator console sessions, kept on the server so that signing out ends them."""

    session_idle_minutes: float = Field(
        default=30.0, gt=0, le=24 * 60, description="a session unused this long ends"
    )
    session_max_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="a session ends this long after sign-in"
    )


class IngestSection(_Section):
    """What happens to sensor readings that cannot be right."""

    implausible: Literal["flag", "refuse"] = Field(
        default="flag",
        description="a reading outside what its property and unit allow (a battery voltage of "
        "87 V, -300 °C): flag stores it with a quality annotation, refuse does not store it; "
        "both list it on the device's page. A device's own setting (allmende device map "
        "--implausible) comes first",
    )


class Peer(_Section):
    id: str
    jwk: dict[str, str] | None = None
    jwks_url: str = ""
    base_url: str = ""
    """Where the peer answers (its SPARQL endpoint, its feed), when not at its id."""

    @field_validator("id")
    @classmethod
    def _https_id(cls, value: str) -> str:
        return NodeSection._https_id(value)


class TrustSection(_Section):
    """Whom the node believes: neighbouring villages and extra admin keys (file only)."""

    peers: list[Peer] = Field(
        default=[],
        description="trusted neighbouring nodes, as [[trust.peers]] tables (see below); "
        "`allmende peer` edits them",
    )
    admin_jwks: list[dict[str, str]] = Field(
        default=[], description="extra public keys (JWK) whose tokens may use the admin API"
    )


class Settings(_Section):
    """The validated configuration plus the directory it was read from."""

    node: NodeSection
    http: HttpSection = HttpSection()
    database: DatabaseSection = DatabaseSection()
    store: StoreSection = StoreSection()
    kafka: KafkaSection = KafkaSection()
    trust: TrustSection = TrustSection()
    web: WebSection = WebSection()
    sparql: SparqlSection = SparqlSection()
    federation: FederationSection = FederationSection()
    dsp: DspSection = DspSection()
    dcp: DcpSection = DcpSection()
    connections: ConnectionsSection = ConnectionsSection()
    console: ConsoleSection = ConsoleSection()
    ingest: IngestSection = IngestSection()
    directory: Path = Path()

    @model_validator(mode="after")
    def _default_base_url(self) -> Settings:
        if not self.node.base_url:
            self.node.base_url = local_url(self.http.host, self.http.port)
        return self

    @property
    def database_url(self) -> str:
        """SQLite paths are relative to the node directory, so a node folder can move."""
        url = self.database.url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            return "sqlite:///" + str(self.directory / url.removeprefix("sqlite:///"))
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def store_path(self) -> Path:
        return self.directory / self.store.path

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE


_SECTIONS: dict[str, type[_Section]] = {
    "node": NodeSection,
    "http": HttpSection,
    "database": DatabaseSection,
    "store": StoreSection,
    "kafka": KafkaSection,
    "web": WebSection,
    "sparql": SparqlSection,
    "federation": FederationSection,
    "dsp": DspSection,
    "dcp": DcpSection,
    "connections": ConnectionsSection,
    "console": ConsoleSection,
}


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a listen address (a wildcard means loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def env_name(section: str, key: str) -> str:
    return f"ALLMENDE_{section}_{key}".upper()


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Overlay ALLMENDE_* variables; return which dotted keys came from the environment."""
    origins: dict[str, str] = {}
    for section, model in _SECTIONS.items():
        for key in model.model_fields:
            name = env_name(section, key)
            if name in environ:
                raw.setdefault(section, {})[key] = environ[name]
                origins[f"{section}.{key}"] = name
    return origins


def load_settings(directory: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, overlay and validate; raise ConfigError with one line on the first problem."""
    environ = os.environ if environ is None else environ
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: not found (create it with `allmende init {directory}`)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    origins = _apply_environment(raw, environ)
    raw["directory"] = directory.resolve()
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        source = f" (from {origins[where]})" if where in origins else f" in {path}"
        message = "is missing" if error["type"] == "missing" else error["msg"]
        raise ConfigError(f"setting {where}{source}: {message}") from exc
