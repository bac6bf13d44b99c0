"""Who may read a dataset's observations through the JSON API: the one place it is decided.

Open data is public. Anything else needs an access token bound to an agreement, checked and
audited by the usage room through the `USAGE_GUARD` hook; the rule is `node.access`'s.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from sqlmodel import Session

from allmende.node.access import authorize
from allmende.node.catalog.models import PUBLISHED, full_description, load_dataset
from allmende.node.http.problems import Problem
from allmende.node.messages import say
from allmende.node.runtime import Node


def _dataset(node: Node, dataset_id: str) -> dict[str, Any] | None:
    with Session(node.engine) as session:
        row = load_dataset(session, dataset_id)
        return (
            full_description(session, row) if row is not None and row.status == PUBLISHED else None
        )


async def authorize_observations(request: web.Request, dataset_id: str) -> dict[str, Any]:
    node: Node = request.app["node"]
    dataset = await asyncio.to_thread(_dataset, node, dataset_id)
    if dataset is None:
        raise Problem(
            404, "Not Found", say("there is no published dataset '%(dataset)s'", dataset=dataset_id)
        )
    await authorize(request, dataset, "observations")
    return dataset
