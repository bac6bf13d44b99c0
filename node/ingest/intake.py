"""From a checked payload to committed events: the path every source shares.

Connector -> device mappings -> SOSA quads -> one signed event per dataset, written with
the sensors' latest values in one group-committed transaction. Anything not understood is
reported back and nothing of the request is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connectors.model import ConnectorResult, Observation, Rejection
from connectors.sosa import map_observations
from node.http.problems import Problem
from node.ingest.committer import Committer
from node.ingest.graphs import data_graph, to_ntriples
from node.ingest.latest import Row, newest_rows
from node.ingest.projection import RECORDED
from node.ingest.registry import Registry
from node.runtime import Node

MAX_LISTED = 50


@dataclass(frozen=True)
class Accepted:
    observations: int
    events: list[str]
    reported: list[Rejection]

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.observations,
            "events": self.events,
            "reported": [r.to_json() for r in self.reported[:MAX_LISTED]],
        }


TITLES = {202: "Accepted in part", 400: "Bad Request", 422: "Unprocessable Content"}


def refuse(rejections: Iterable[Rejection], status: int = 422) -> Problem:
    """The rejections as a problem; status 202 describes what a partly accepted payload lost."""
    listed = [r.to_json() for r in list(rejections)[:MAX_LISTED]]
    return Problem(
        status,
        TITLES.get(status, "Unprocessable Content"),
        f"{listed[0]['path'] or '(payload)'}: {listed[0]['reason']}"
        if listed
        else "payload refused",
        errors=listed,
    )


def prepare(
    node: Node, registry: Registry, result: ConnectorResult, source: str
) -> tuple[list[dict[str, Any]], list[Observation], list[Rejection]]:
    """Events for what maps, and the rest reported, never guessed (an unknown device, a
    field outside the mapping, a missing decoder result, a value of the wrong type)."""
    batch = map_observations(
        result.observations, registry.mappings(), node.base_url, graph_for=lambda _dataset: None
    )
    reported = [*result.rejections, *batch.rejections]
    events = []
    accepted: list[Observation] = []
    for dataset_id, quads in batch.quads.items():
        observations = batch.observations[dataset_id]
        accepted.extend(observations)
        events.append(
            node.event(
                RECORDED,
                {
                    "dataset": dataset_id,
                    "graph": data_graph(node.base_url, dataset_id),
                    "format": "application/n-triples",
                    "content": to_ntriples(quads),
                    "count": len(observations),
                    "source": source,
                },
                subject=dataset_id,
            )
        )
    return events, accepted, reported


def latest_rows(registry: Registry, observations: list[Observation]) -> list[Row]:
    mappings = registry.mappings()
    return newest_rows(observations, {device: m.dataset_id for device, m in mappings.items()})


async def ingest(
    node: Node, registry: Registry, committer: Committer, result: ConnectorResult, source: str
) -> Accepted:
    """Commit what maps; a payload of which nothing maps is refused as a whole (422)."""
    events, accepted, reported = prepare(node, registry, result, source)
    if not events:
        raise refuse(reported or [Rejection("", "the payload holds no observations", "empty")])
    await committer.submit(events, latest_rows(registry, accepted))
    return Accepted(len(accepted), [event["id"] for event in events], reported)
