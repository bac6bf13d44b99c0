"""May this caller see this dataset's values? The one access decision every way out asks.

Pages, GeoJSON, the JSON time series and latest values, downloads, search, SPARQL, the
federation feed and relay and DSP all ask here, so they all give the same answer:

- open data (an open licence and public access rights, published) is readable by anyone;
- anything else of this village opens only to a bearer access token bound to a valid
  agreement, checked and written to the audit log by the usage room (`USAGE_GUARD`);
- pooled data of peer villages keeps the peer's terms: visible only while the peer's
  catalog entry says it is open data. No agreement of ours can open a peer's data.

A data graph whose dataset is unknown (readings that arrived before their catalog entry)
stays hidden: the default is closed. Graphs that are not data graphs (catalog
descriptions, the default graph) are public.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.http.problems import Problem
from allmende.node.http.security import bearer
from allmende.node.messages import say
from allmende.node.runtime import Node
from allmende.node.store.base import CHECKPOINT
from allmende.vocab import catalog as terms

PUBLIC = terms.access_right_iri("PUBLIC")
USAGE_GUARD = "usage_guard"
"""App key of `async (request, dataset, channel) -> None`: the usage room's agreement check
for restricted data, which raises the problem that refuses. Without it, restricted data
stays closed."""
DATA_GRAPHS = "/graphs/datasets/"
_PUBLIC: weakref.WeakKeyDictionary[Node, tuple[str | None, Scope]] = weakref.WeakKeyDictionary()
"""Per node: the store generation the public scope was computed at, and that scope."""
_MEMO = "access_scope"


def data_graph(base: str, dataset_id: str) -> str:
    """A dataset's data graph (as `node.ingest.graphs` names it; that package imports its
    routes, which ask here)."""
    return f"{base}{DATA_GRAPHS}{dataset_id}"


def is_open(dataset: dict[str, Any]) -> bool:
    """Open data: an open licence and public access rights."""
    return terms.is_open_licence(str(dataset.get("license", ""))) and (
        dataset.get("access_rights") == PUBLIC
    )


def dataset_of_graph(graph: str) -> str | None:
    """The data-graph prefix (`{base}/graphs/datasets/{id}`) a graph belongs to, if any."""
    base, marker, rest = graph.partition(DATA_GRAPHS)
    if not marker or not base or not rest:
        return None
    return base + DATA_GRAPHS + rest.split("/", 1)[0]


@dataclass(frozen=True)
class Scope:
    """What one caller may see: named graphs and the datasets (by data-graph prefix)."""

    visible: frozenset[str]
    """Named graphs the caller may read."""
    everything: bool = False
    """Nothing is hidden but the node's bookkeeping, which holds no triples: queries may
    then use the engine's own union of all graphs, many times faster than a graph list."""
    datasets: frozenset[str] = frozenset()
    """Data-graph prefixes of the datasets (own or pooled) whose values the caller may see."""

    def allows(self, graph: str) -> bool:
        """ "" is the store's default graph: public, like everything an admin loads there."""
        return graph == "" or graph in self.visible

    def shows(self, base: str, dataset_id: str) -> bool:
        """May the caller see the values of dataset `dataset_id` published at `base`?"""
        return data_graph(base.rstrip("/"), dataset_id) in self.datasets

    def opened(self, prefix: str, graphs: list[str]) -> Scope:
        """This scope plus one dataset's data graphs (a valid agreement opened them)."""
        extra = {g for g in graphs if dataset_of_graph(g) == prefix}
        return Scope(self.visible | extra, self.everything, self.datasets | {prefix})


ScopeRule = Callable[[web.Request], Awaitable[Scope]]


def readable(status: str, license: str | None, access_rights: str | None) -> bool:
    """Anyone may see a dataset's values: published open data."""
    return status == PUBLISHED and is_open({"license": license, "access_rights": access_rights})


def open_datasets(node: Node) -> frozenset[str]:
    """Data-graph prefixes of published open datasets: this village's and pooled ones."""
    from allmende.node.federation.models import PooledDataset

    found: set[str] = set()
    columns = (
        CatalogDataset.id,
        CatalogDataset.status,
        CatalogDataset.license,
        CatalogDataset.access_rights,
    )
    with Session(node.engine) as session:
        for dataset_id, status, license, access_rights in session.exec(select(*columns)):
            if readable(status, license, access_rights):
                found.add(data_graph(node.base_url, dataset_id))
        for pooled in session.exec(select(PooledDataset)):
            document = json.loads(pooled.document)
            if readable(pooled.status, document.get("license"), document.get("access_rights")):
                found.add(data_graph(pooled.base.rstrip("/"), pooled.id))
    return frozenset(found)


def open_own(session: Session, dataset_ids: set[str]) -> set[str]:
    """Which of these datasets of this village anyone may see: what the federation feed and
    the Kafka relay may let leave (the feed is public), as the pages show it."""
    if not dataset_ids:
        return set()
    rows = session.exec(select(CatalogDataset).where(col(CatalogDataset.id).in_(dataset_ids)))
    return {row.id for row in rows if readable(row.status, row.license, row.access_rights)}


def public(node: Node) -> Scope:
    """What anyone may see, computed from the catalog and the store's graphs."""
    datasets = open_datasets(node)
    graphs = node.store.graphs()
    visible = frozenset(
        g for g in graphs if (prefix := dataset_of_graph(g)) is None or prefix in datasets
    )
    return Scope(visible, everything=len(visible) == len(graphs), datasets=datasets)


async def public_scope(request: web.Request) -> Scope:
    """Recomputed only when the store has projected new events: visibility changes (a
    dataset published, restricted or retracted, here or at a peer) reach it as events."""
    node: Node = request.app["node"]
    generation = node.store.get_meta(CHECKPOINT)
    cached = _PUBLIC.get(node)
    if cached is not None and cached[0] == generation:
        return cached[1]
    scope = await asyncio.to_thread(public, node)
    _PUBLIC[node] = (generation, scope)
    return scope


def token_datasets(request: web.Request) -> list[str]:
    """The datasets an access token names, a partner's one or an app's several (unverified:
    the usage room verifies each)."""
    from allmende.node.usage.enforcement import bound_agreements  # usage imports this module

    token = bearer(request)
    if token is None:
        return []
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return []
    if claims.get("role") != "access":
        return []  # an admin token sees what the public sees
    return [dataset for dataset in bound_agreements(claims) if dataset]


async def scope(request: web.Request, channel: str = "portal", *, strict: bool = False) -> Scope:
    """What this caller may see, decided once per request and channel: `.shows(base, id)`
    answers "may this caller see this dataset's values?", `.visible` names the graphs to read.

    A bearer access token opens its dataset when the usage room permits the use (that
    decision is audited). `strict`: a refused token answers with the refusal (SPARQL and
    APIs); otherwise the caller sees what anyone sees (pages)."""
    memo: dict[str, Scope] = request.setdefault(_MEMO, {})
    if channel in memo:
        return memo[channel]
    seen = await public_scope(request)
    for dataset in token_datasets(request) if USAGE_GUARD in request.app else []:
        node: Node = request.app["node"]
        prefix = data_graph(node.base_url, dataset)
        try:
            await request.app[USAGE_GUARD](request, {"id": dataset}, channel)
        except Problem:
            if strict:
                raise
        else:
            seen = seen.opened(prefix, await asyncio.to_thread(node.store.graphs))
    memo[channel] = seen
    return seen


async def sparql_scope(request: web.Request) -> Scope:
    """The SPARQL endpoint's and Graph Store's scope: a refused token is refused."""
    return await scope(request, "sparql", strict=True)


async def authorize(request: web.Request, dataset: dict[str, Any], channel: str) -> None:
    """Return if the caller may see this dataset's values; raise the problem that says why
    not (401 with a challenge without a token, 403 with a wrong one)."""
    if is_open(dataset):
        return
    if USAGE_GUARD in request.app:
        await request.app[USAGE_GUARD](request, dataset, channel)
        return
    raise Problem(
        403,
        "Forbidden",
        say(
            "this dataset is not open data; it is available under an agreement "
            "(negotiate the offer in the catalog)"
        ),
        dataset=dataset["id"],
    )
