"""A remote SPARQL 1.1 store (Oxigraph server, Apache Jena Fuseki) as the node's data plane.

Reads go out as SPARQL 1.1 Protocol queries (URL/query), writes as SPARQL 1.1 Update
requests (URL/update). The projector's writes of one page of events are held back and
sent together with that page's checkpoint as ONE update request, which both servers run
as one transaction: either the page and its checkpoint are stored, or neither is. Every
operation of the request is guarded by the checkpoint the page was read after, so a page
that another process (a new leader, a node that did not hear the store's answer) has
stored already changes nothing. So a page is never applied twice, and a replayed event
doubles nothing, not even blank nodes (which SPARQL Update, unlike the embedded store,
would mint afresh each time).

The node's default graph lives in the named graph DEFAULT_GRAPH (a query's dataset can
only name graphs), and bookkeeping in the system graph: every query is sent with its
dataset spelled out (default-graph-uri, named-graph-uri), so neither is ever visible.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
import pyoxigraph as ox

from allmende.node.store.base import CHECKPOINT, SYSTEM_GRAPH, SYSTEM_PREFIX

if TYPE_CHECKING:
    from allmende.node.config import Settings

log = logging.getLogger(__name__)

DEFAULT_GRAPH = SYSTEM_PREFIX + "default"
"""Where the node's default graph (the Graph Store Protocol's `?default`) is kept."""
NO_GRAPH = SYSTEM_PREFIX + "none"
"""A graph that never holds anything: an empty list in a query's dataset."""
_META = SYSTEM_PREFIX + "meta:"
_VALUE = SYSTEM_PREFIX + "value"
_LOADING = SYSTEM_PREFIX + "loading:"
"""Staging graphs of bulk loads, by the loaded file's SHA-256."""
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""Largest answer read from the store for the node's own queries (the public endpoint has
its own, smaller limit)."""
RESULTS_JSON = "application/sparql-results+json"
FRESH_SECONDS = 0.5
"""How long the checkpoint and the list of graphs, as read, are taken as current: other
processes (a leader projecting, while this one answers queries) move them on."""
N_TRIPLES = "application/n-triples"


class RemoteStoreError(RuntimeError):
    """The remote store refused a request."""


class CheckpointMoved(RemoteStoreError):
    """The store's checkpoint is not where this page started: another process projected
    meanwhile, and the page was not stored (the next catch-up starts from the store's)."""


class StoreUnreachable(RemoteStoreError, ConnectionError):
    """The remote store did not answer, or answered with a server error: this may pass,
    and it is the store's failure, not that of the events being projected."""


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without USER:PASSWORD@, and those as Basic credentials: only the bare URL
    is ever shown or logged."""
    parts = urlsplit(url)
    if parts.username is None:
        return url.rstrip("/"), None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
    return bare, (unquote(parts.username), unquote(parts.password or ""))


def stored_graph(graph: str) -> str:
    """The remote graph holding the node's graph `graph` ("" the default graph)."""
    return graph or DEFAULT_GRAPH


def _graph_name(term: Any) -> str:
    return "" if isinstance(term, ox.DefaultGraph) else str(term.value)


def _block(graph: str, triples: Iterable[str]) -> str:
    return f"GRAPH <{stored_graph(graph)}> {{\n" + "".join(triples) + "}\n"


class RemoteStore:
    """The QuadStore interface over HTTP; `url` is the dataset's address (no credentials)."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url, self.auth = split_credentials(url)
        self.path = None
        self.timeout = timeout
        self.client = httpx.Client(
            auth=self.auth,
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            follow_redirects=False,
        )
        self._pending: list[str | dict[str, list[str]] | tuple[str, str]] = []
        """Update operations of the page being projected, sent with its checkpoint."""
        self._pending_graphs: dict[str, bool] = {}
        """Whether each graph the held writes touch holds data once they are stored: a
        handler listing graphs (a retraction) sees its page's earlier writes, while the
        writes themselves still wait for the checkpoint. Other threads (requests) see
        what the store holds."""
        self._pending_thread: int | None = None
        self._lock = threading.RLock()
        self._meta: dict[str, tuple[str | None, float]] = {}
        """Bookkeeping as last written or read, and when."""
        self._graphs: list[str] | None = None
        self._graphs_read = 0.0
        self._gsp: str | None = None
        """The Graph Store Protocol's endpoint below `url`, once found."""

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # HTTP --------------------------------------------------------------------------------

    def _post(self, endpoint: str, data: dict[str, Any] | bytes, headers: dict[str, str]) -> bytes:
        target = f"{self.url}/{endpoint}"
        try:
            with self.client.stream(
                "POST",
                target,
                data=data if isinstance(data, dict) else None,
                content=data if isinstance(data, bytes) else None,
                headers=headers,
            ) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise RemoteStoreError(
                            f"the store at {self.url} answered more than {MAX_RESPONSE_BYTES} bytes"
                        )
                if response.status_code >= 300:
                    text = bytes(body[:500]).decode("utf-8", "replace").strip()
                    failure = StoreUnreachable if response.status_code >= 500 else RemoteStoreError
                    raise failure(
                        f"the store at {self.url} answered {response.status_code} to {endpoint}: "
                        f"{text}"
                    )
                return bytes(body)
        except httpx.HTTPError as exc:
            raise StoreUnreachable(
                f"the store at {self.url} cannot be reached ({type(exc).__name__})"
            ) from None

    def update(self, operations: str) -> None:
        """One SPARQL Update request: one transaction on the server."""
        self._post(
            "update",
            operations.encode(),
            {"Content-Type": "application/sparql-update; charset=utf-8"},
        )
        self._graphs = None

    def select(
        self,
        sparql: str,
        default_graph: list[str],
        named_graphs: list[str],
        accept: str = RESULTS_JSON,
    ) -> bytes:
        """A query with its dataset spelled out ("" the node's default graph)."""
        form: dict[str, Any] = {
            "query": sparql,
            "default-graph-uri": [stored_graph(g) for g in default_graph] or [NO_GRAPH],
            "named-graph-uri": named_graphs or [NO_GRAPH],
        }
        return self._post("query", form, {"Accept": accept})

    # Reading -----------------------------------------------------------------------------

    def query(self, sparql: str, **options: Any) -> Any:
        """As pyoxigraph's `Store.query`: solutions, a boolean, or a list of triples.

        It reads what the store holds: writes held for the page's checkpoint are not in it."""
        named = [str(g.value) for g in options.get("named_graphs") or []]
        if options.get("use_default_graph_as_union"):
            default = ["", *self.graphs()]
            named = named or self.graphs()
        elif options.get("default_graph") is not None:
            given = options["default_graph"]
            terms = given if isinstance(given, list | tuple) else [given]
            default = [g if isinstance(g, str) else _graph_name(g) for g in terms]
            named = named if "named_graphs" in options else self.graphs()
        else:
            default = [""]
            named = named if "named_graphs" in options else self.graphs()
        base = options.get("base_iri")
        text = f"BASE <{base}>\n{sparql}" if base else sparql
        form = _form(sparql)
        if form in ("CONSTRUCT", "DESCRIBE"):
            body = self.select(text, default, named, N_TRIPLES)
            return [
                ox.Triple(q.subject, q.predicate, q.object)
                for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
            ]
        body = self.select(text, default, named)
        return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)

    def graphs(self) -> list[str]:
        """Named graphs holding data, the node's own bookkeeping left out; as they are
        once the held writes are stored."""
        if self._graphs is None or time.monotonic() - self._graphs_read > FRESH_SECONDS:
            self._graphs_read = time.monotonic()
            body = self._post(
                "query",
                {"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
                {"Accept": RESULTS_JSON},
            )
            found = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
            self._graphs = sorted(
                name
                for solution in found  # type: ignore[union-attr]
                if not (name := str(solution["g"].value)).startswith(SYSTEM_PREFIX)
            )
        with self._lock:
            mine = self._pending_thread == threading.get_ident()
            changed = dict(self._pending_graphs) if mine else {}
        shown = {g for g in self._graphs if changed.get(g, True)}
        shown |= {g for g, exists in changed.items() if exists and g}
        return sorted(shown)

    def has_graph(self, graph: str) -> bool:
        return not graph or graph in self.graphs()

    def get_meta(self, name: str) -> str | None:
        known = self._meta.get(name)
        if known is not None and time.monotonic() - known[1] <= FRESH_SECONDS:
            return known[0]
        return self._read_meta(name)

    def _read_meta(self, name: str) -> str | None:
        body = self.select(
            f"SELECT ?v WHERE {{ <{_META}{name}> <{_VALUE}> ?v }}", [SYSTEM_GRAPH], []
        )
        found = list(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))  # type: ignore[arg-type]
        value = str(found[0]["v"].value) if found else None
        self._meta[name] = (value, time.monotonic())
        return value

    def dump_nquads(self) -> bytes:
        """Every data quad as sorted N-Quads (blank nodes as the server labels them)."""
        lines = sorted(self._data_quads())
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def _data_quads(self) -> Iterator[str]:
        body = self._post(
            "query",
            {"query": "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
            {"Accept": RESULTS_JSON},
        )
        for row in ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON):  # type: ignore[union-attr]
            graph = str(row["g"].value)
            if graph == DEFAULT_GRAPH:
                yield f"{row['s']} {row['p']} {row['o']} ."
            elif not graph.startswith(SYSTEM_PREFIX):
                yield f"{row['s']} {row['p']} {row['o']} {row['g']} ."

    # Writing (held until the page's checkpoint) --------------------------------------------

    def _hold(self, operation: str, graphs: Iterable[str] = (), exist: bool = True) -> None:
        with self._lock:
            self._pending.append(operation)
            self._pending_thread = threading.get_ident()
            for graph in graphs:
                self._pending_graphs[graph] = exist

    def _insert(self, quads: Iterable[tuple[str, Any, Any, Any]]) -> None:
        """Consecutive inserts share one INSERT DATA. Its blank nodes get labels of their
        own: SPARQL Update lets no blank node span two operations of a request."""
        with self._lock:
            if not self._pending or not isinstance(self._pending[-1], dict):
                self._pending.append({})
            operation = self._pending[-1]
            assert isinstance(operation, dict)
            tag = f"u{len(self._pending)}x"
            for graph, subject, predicate, obj in quads:
                lines = operation.setdefault(graph, [])
                lines.append(f"{_term(subject, tag)} {predicate} {_term(obj, tag)} .\n")
                self._pending_graphs[graph] = True
            self._pending_thread = threading.get_ident()

    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        self._insert((_graph_name(q.graph_name), q.subject, q.predicate, q.object) for q in quads)

    def load(
        self,
        data: bytes,
        fmt: ox.RdfFormat,
        graph: str,
        *,
        bulk: bool = False,
        validated: bool = False,
    ) -> None:
        self._insert(
            (graph, q.subject, q.predicate, q.object)
            for q in ox.parse(data, format=fmt, lenient=validated)
        )

    def load_file(self, path: Path, fmt: ox.RdfFormat, graph: str | None) -> None:
        """The file in one streamed Graph Store Protocol PUT into a staging graph of its
        own (a replay replaces it), then, with the page and guarded by its checkpoint,
        copied into the target graph and the staging graph dropped: the store parses the
        file itself, and a page stored twice still adds nothing, blank nodes included."""
        if graph is None and fmt in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG):
            raise RemoteStoreError("a remote store takes a bulk load into one graph")
        staging = f"{_LOADING}{path.name}"
        self._put_file(staging, path, fmt.media_type)
        target = graph or ""
        with self._lock:
            self._pending.append((staging, stored_graph(target)))
            self._pending_graphs[target] = True
            self._pending_thread = threading.get_ident()

    def _put_file(self, graph: str, path: Path, media_type: str) -> None:
        """Graph Store Protocol: Oxigraph server answers at /store, Fuseki at /data."""
        for endpoint in [self._gsp] if self._gsp else ["store", "data"]:
            target = f"{self.url}/{endpoint}"
            try:
                with path.open("rb") as body:
                    response = self.client.put(
                        target,
                        params={"graph": graph},
                        content=body,
                        headers={"Content-Type": media_type},
                    )
            except httpx.HTTPError as exc:
                raise StoreUnreachable(
                    f"the store at {self.url} cannot be reached ({type(exc).__name__})"
                ) from None
            if response.status_code in (404, 405) and self._gsp is None:
                continue
            if response.status_code >= 300:
                failure = StoreUnreachable if response.status_code >= 500 else RemoteStoreError
                raise failure(
                    f"the store at {self.url} answered {response.status_code} to {endpoint}: "
                    f"{response.text[:500].strip()}"
                )
            self._gsp = endpoint
            return
        raise RemoteStoreError(f"the store at {self.url} offers no Graph Store Protocol")

    def replace_graph(self, graph: str, data: bytes, fmt: ox.RdfFormat) -> None:
        self.drop_graph(graph)
        self.load(data, fmt, graph)

    def drop_graph(self, graph: str) -> None:
        self._hold(stored_graph(graph), [graph], exist=False)

    def set_meta(self, name: str, value: str) -> None:
        """The checkpoint closes a page: it goes out with the page's writes, in one request."""
        if name != CHECKPOINT:
            raise ValueError(f"the remote store keeps only the checkpoint, not {name!r}")
        self._send(value)

    def clear(self) -> None:
        """Everything goes, bookkeeping included (`allmende reindex` then replays the log)."""
        with self._lock:
            self._pending.clear()
            self._pending_graphs.clear()
        self.update("DROP SILENT ALL")
        self._meta.clear()

    def flush(self) -> None:
        """Send held writes that no checkpoint closes (a retried quarantined event)."""
        self._send(None)

    def _send(self, checkpoint: str | None) -> None:
        """The held writes, and the new checkpoint if given, as one guarded request; then
        the checkpoint is read back: had another process moved it, nothing was stored."""
        with self._lock:
            operations, self._pending = self._pending, []
            self._pending_graphs.clear()
        if not operations and checkpoint is None:
            return
        known = self._meta.get(CHECKPOINT)
        before = known[0] if known is not None else self._read_meta(CHECKPOINT)
        guard = _guard(before)
        request = [_rendered(operation, guard) for operation in operations]
        if checkpoint is not None:
            request.append(_moved(before, checkpoint, guard))
        self._meta.pop(CHECKPOINT, None)
        self.update(";\n".join(request))
        expected = checkpoint if checkpoint is not None else before
        found = self._read_meta(CHECKPOINT)
        if found != expected:
            raise CheckpointMoved(
                f"the store at {self.url} is at event {found}, not {before}: another "
                "process projects into it; this page was not stored"
            )

    def close(self) -> None:
        """Writes of a page that did not finish are not sent: the page is applied again."""
        with self._lock:
            if self._pending:
                log.warning("%d writes of an unfinished page were not sent", len(self._pending))
            self._pending.clear()
        self.client.close()


def _term(term: Any, tag: str) -> str:
    return f"_:{tag}{term.value}" if isinstance(term, ox.BlankNode) else str(term)


_CHECKPOINT = f"<{_META}{CHECKPOINT}> <{_VALUE}>"


def _guard(checkpoint: str | None) -> str:
    """A WHERE clause with one solution while the store is at `checkpoint`, else none."""
    if checkpoint is None:
        return f"FILTER NOT EXISTS {{ GRAPH <{SYSTEM_GRAPH}> {{ {_CHECKPOINT} ?at }} }}"
    return f"GRAPH <{SYSTEM_GRAPH}> {{ {_CHECKPOINT} {ox.Literal(checkpoint)} }}"


def _rendered(operation: str | dict[str, list[str]] | tuple[str, str], guard: str) -> str:
    """A held write as an update that does nothing unless the guard holds: a string is
    the graph to empty, a dict the triples to add per graph, a pair a staged bulk load
    to copy (the staging graph goes either way: a replay puts it there again)."""
    if isinstance(operation, tuple):
        staging, target = operation
        return (
            f"INSERT {{ GRAPH <{target}> {{ ?s ?p ?o }} }}\n"
            f"WHERE {{ {guard} GRAPH <{staging}> {{ ?s ?p ?o }} }};\n"
            f"DROP SILENT GRAPH <{staging}>"
        )
    if isinstance(operation, str):
        return (
            f"DELETE {{ GRAPH <{operation}> {{ ?s ?p ?o }} }}\n"
            f"WHERE {{ {guard} GRAPH <{operation}> {{ ?s ?p ?o }} }}"
        )
    blocks = "".join(_block(g, lines) for g, lines in operation.items())
    return f"INSERT {{\n{blocks}}}\nWHERE {{ {guard} }}"


def _moved(before: str | None, after: str, guard: str) -> str:
    new = f"GRAPH <{SYSTEM_GRAPH}> {{ {_CHECKPOINT} {ox.Literal(after)} }}"
    if before is None:
        return f"INSERT {{ {new} }} WHERE {{ {guard} }}"
    old = f"GRAPH <{SYSTEM_GRAPH}> {{ {_CHECKPOINT} {ox.Literal(before)} }}"
    return f"DELETE {{ {old} }} INSERT {{ {new} }} WHERE {{ {guard} }}"


def _form(sparql: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE, as the node's query analysis reads it."""
    from allmende.node.sparql.analysis import analyse

    return analyse(sparql).form


def rebuild(settings: Settings) -> tuple[int, int]:
    """`allmende reindex` on a remote store: empty it, then project the whole event log
    into it again: (events, graphs). Unlike the folder, there is no second copy to swap
    in, so the store is incomplete until the replay ends (run it with the node stopped)."""
    from allmende.node.keys import load_key
    from allmende.node.runtime import Node

    store = RemoteStore(settings.store.url, timeout=settings.store.timeout)
    store.clear()
    node = Node(settings, load_key(settings.key_path), store=store)
    try:
        applied = node.project()
        graphs = len(node.store.graphs())
    finally:
        node.close()
    return applied, graphs
