"""From a checked payload to committed events: the path every source shares.

Connector -> device mappings -> SOSA quads -> one signed event per dataset, written with
the sensors' latest values in one group-committed transaction. Anything not understood is
reported back and nothing of the request is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from connectors.model import ConnectorResult, Observation, Rejection
from connectors.sosa import map_observations
from node.http.problems import Problem
from node.ingest.committer import Committer
from node.ingest.graphs import data_graph, to_ntriples
from node.ingest.models import LatestValue
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


def latest_values(registry: Registry, observations: list[Observation]) -> Callable[[Session], None]:
    """A function that upserts the newest value per device and field inside the transaction.

    One INSERT ... ON CONFLICT for the whole batch (SQLite and PostgreSQL both speak it): an
    older reading arriving late never overwrites a newer one.
    """
    newest: dict[tuple[str, str], Observation] = {}
    for observation in observations:
        key = (observation.device_id, observation.field)
        if key not in newest or observation.result_time > newest[key].result_time:
            newest[key] = observation
    mappings = registry.mappings()
    rows = [
        {
            "device_id": device,
            "field": field,
            "dataset_id": mappings[device].dataset_id,
            "time": observation.result_time,
            "value": str(observation.value)[:1024],
        }
        for (device, field), observation in newest.items()
    ]

    def apply(session: Session) -> None:
        if not rows:
            return
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        table = LatestValue.__table__  # type: ignore[attr-defined]
        statement = insert(table).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["device_id", "field"],
            set_={name: statement.excluded[name] for name in ("dataset_id", "time", "value")},
            where=table.c.time < statement.excluded.time,
        )
        session.execute(statement)

    return apply


async def ingest(
    node: Node, registry: Registry, committer: Committer, result: ConnectorResult, source: str
) -> Accepted:
    """Commit what maps; a payload of which nothing maps is refused as a whole (422)."""
    events, accepted, reported = prepare(node, registry, result, source)
    if not events:
        raise refuse(reported or [Rejection("", "the payload holds no observations", "empty")])
    await committer.submit(events, latest_values(registry, accepted))
    return Accepted(len(accepted), [event["id"] for event in events], reported)
