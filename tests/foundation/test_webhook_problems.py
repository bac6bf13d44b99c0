"""The ingest-problem log holds only what authenticated callers sent: anyone else gets a 401
and leaves no row (the log is bounded, so their rows would evict the operator's real ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from sqlmodel import Session, func, select

from allmende.node.http.app import create_app
from allmende.node.ingest.models import IngestProblem
from allmende.node.ingest.sources import HEADER, new_secret
from allmende.node.runtime import Node
from tests.support import make_node


def stored_problems(node: Node) -> int:
    with Session(node.engine) as session:
        return int(session.exec(select(func.count()).select_from(IngestProblem)).one())


@pytest.fixture
async def served(tmp_path: Path, aiohttp_client: Any) -> tuple[Node, Any, str]:
    node = make_node(tmp_path)
    secret = new_secret(node, "ttn")
    new_secret(node, "csv")
    return node, await aiohttp_client(create_app(node)), secret


@pytest.mark.parametrize("offered", [None, "wrong-secret", "a.b.c"])
async def test_unauthenticated_webhook_calls_store_nothing(
    served: tuple[Node, Any, str], offered: str | None
) -> None:
    node, client, _ = served
    headers = {"Content-Type": "application/json"}
    if offered:
        headers[HEADER] = offered
    response = await client.post("/ingest/ttn", data=b"{not json", headers=headers)
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    form = FormData()
    form.add_field("mapping", "{}", content_type="application/json")
    csv_headers = {HEADER: offered} if offered else {}
    response = await client.post("/ingest/csv/any", data=form, headers=csv_headers)
    assert response.status == 401
    assert stored_problems(node) == 0


async def test_authenticated_refusals_are_still_recorded(served: tuple[Node, Any, str]) -> None:
    node, client, secret = served
    headers = {"Content-Type": "application/json", HEADER: secret}
    response = await client.post("/ingest/ttn", data=b"{not json", headers=headers)
    assert response.status == 400
    assert stored_problems(node) == 1
