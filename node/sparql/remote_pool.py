"""The SPARQL endpoint's queries sent to a remote SPARQL store instead of query workers.

The endpoint reads, scopes and limits a query exactly as for the embedded store (the
same `Job`: the caller's visible graphs as its dataset, the same base IRI, `SELECT *`
spelled out in the query's order); only the engine that answers is the remote one. Its
answer is asked for in one format per kind (SPARQL JSON, N-Triples) and written by
pyoxigraph in the format the caller negotiated, so a client sees the same serialisation
whichever store the node runs on. The query's deadline is the HTTP request's, and at
most `size` queries are out at the store at once.
"""

from __future__ import annotations

import asyncio
import collections
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pyoxigraph as ox

from allmende.node.http.upstream import iris_in, withhold_addresses
from allmende.node.sparql.analysis import _TOKEN, QueryRefused, analyse
from allmende.node.sparql.pool import QueryFailed, QueryTimeout, Ticket
from allmende.node.sparql.projection import _EMPTY, _SKIPPED, _without_services, spelled_out
from allmende.node.sparql.worker import Job
from allmende.node.store.remote import NO_GRAPH, RESULTS_JSON, stored_graph

N_TRIPLES = "application/n-triples"
CHUNK = 64 * 1024
READ_FACTOR = 4
"""The store's answer may be this many times the result limit: SPARQL JSON is wordier
than the CSV or Turtle a caller may have asked for."""


class RemotePool:
    """`QueryPool`'s interface (run, stop, the counts its metrics read) over HTTP."""

    def __init__(self, url: str, auth: tuple[str, str] | None, size: int) -> None:
        self.url = url
        self.auth = aiohttp.BasicAuth(*auth) if auth else None
        self.size = size
        self.slots = asyncio.Semaphore(size)
        self.session: aiohttp.ClientSession | None = None
        self.answered: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.out = 0
        self.waiting = 0

    def pids(self) -> list[int]:
        """No worker processes: the store answers."""
        return []

    def running_pids(self, heavy: bool) -> list[int]:
        return []

    def waiting_count(self, heavy: bool) -> int:
        return self.waiting if heavy else 0

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def run(
        self, job: Job, timeout: float, ticket: Ticket | None = None
    ) -> tuple[str, AsyncIterator[bytes]]:
        deadline = time.monotonic() + timeout
        self.waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await self.slots.acquire()
        except TimeoutError:
            raise QueryTimeout(started=False) from None
        finally:
            self.waiting -= 1
        started = time.monotonic()
        try:
            kind, body = await self._ask(job, deadline - started)
        finally:
            self.slots.release()
            if ticket is not None and ticket.spent is not None:
                ticket.spent(time.monotonic() - started)
        self.answered["remote"] += 1
        return kind, _pieces(body)

    async def _ask(self, job: Job, remaining: float) -> tuple[str, bytes]:
        try:
            form = analyse(job.query).form
        except QueryRefused as exc:
            raise QueryFailed(400, str(exc)) from None
        await asyncio.to_thread(_check_syntax, job.query, job.base_iri)
        kind = {"ASK": "boolean", "SELECT": "solutions"}.get(form, "graph")
        asked = N_TRIPLES if kind == "graph" else RESULTS_JSON
        text = spelled_out(job.query, job.base_iri)
        named = job.named_graphs
        default = job.default_graph if job.default_graph is not None else ["", *named]
        fields: list[tuple[str, str]] = [
            ("query", f"BASE <{job.base_iri}>\n{text}" if job.base_iri else text)
        ]
        fields += [("default-graph-uri", stored_graph(g)) for g in default or [NO_GRAPH]]
        fields += [("named-graph-uri", g) for g in named or [NO_GRAPH]]
        if self.session is None:
            self.session = aiohttp.ClientSession(auth=self.auth)
        limit = job.max_bytes * READ_FACTOR
        try:
            async with self.session.post(
                f"{self.url}/query",
                data=fields,
                headers={"Accept": asked},
                timeout=aiohttp.ClientTimeout(total=max(remaining, 0.001)),
                allow_redirects=False,
            ) as response:
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise QueryFailed(413, _too_large(job))
                if response.status >= 400:
                    reason = withhold_addresses(
                        bytes(body[:2000]).decode("utf-8", "replace").strip(), iris_in(job.query)
                    )
                    status = 400 if response.status < 500 else 502
                    raise QueryFailed(status, f"the query cannot be answered: {reason[:500]}")
        except TimeoutError:
            raise QueryTimeout from None
        except aiohttp.ClientError as exc:
            raise QueryFailed(
                502, f"the SPARQL store did not answer ({type(exc).__name__})"
            ) from None
        if job.result_format == asked:
            if len(body) > job.max_bytes:
                raise QueryFailed(413, _too_large(job))
            return kind, bytes(body)
        written = await asyncio.to_thread(_transcode, bytes(body), kind, job.result_format)
        if len(written) > job.max_bytes:
            raise QueryFailed(413, _too_large(job))
        return kind, written


def _check_syntax(query: str, base_iri: str | None) -> None:
    """Refused as the embedded store refuses it, before it goes out: prepared on an empty
    store (SERVICE read as GRAPH, so nothing is called), which parses and costs nothing."""
    tokens = [m for m in _TOKEN.finditer(query) if m.lastgroup not in _SKIPPED]
    try:
        _EMPTY.query(_without_services(query, tokens), base_iri=base_iri)
    except SyntaxError as exc:
        raise QueryFailed(400, f"the query does not parse: {str(exc)[:500]}") from None
    except (ValueError, OSError, RuntimeError):
        pass  # the store answers it in its own terms


def _transcode(body: bytes, kind: str, media: str) -> bytes:
    """The store's answer as the caller asked for it, written as the embedded store would."""
    out = io.BytesIO()
    if kind == "graph":
        triples = [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
        ]
        ox.serialize(triples, out, ox.RdfFormat.from_media_type(media))
    else:
        result: Any = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        result.serialize(out, ox.QueryResultsFormat.from_media_type(media))
    return out.getvalue()


def _too_large(job: Job) -> str:
    return f"the result is larger than {job.max_bytes} bytes"


async def _pieces(body: bytes) -> AsyncIterator[bytes]:
    """A large answer goes out in pieces, as the workers send theirs: the endpoint then
    streams it instead of writing it whole."""
    for start in range(0, len(body), CHUNK):
        yield body[start : start + CHUNK]
