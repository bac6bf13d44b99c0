"""An approved app files and supports reports for the resident who allowed it, with its OAuth
token (scope reports:write) instead of an Open311 api_key; a token without the scope, a
revoked one, a suspended app's and a token that is not the node's are refused as RFC 9457
problems (401/403), and nothing is filed."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from allmende.node.reports.models import Report, Reporter
from tests.apps.conftest import Village, bearer
from tests.reports.conftest import INSIDE, reporting_village
from tests.support import admin_headers

FORM = {
    "service_code": "vandalismus",
    "lat": str(INSIDE[0]),
    "long": str(INSIDE[1]),
    "description": "Bank beschmiert",
    "acknowledge_duplicate": "true",
}


async def test_an_app_files_reports_for_the_resident_who_allowed_it(
    tmp_path: Any, aiohttp_client: Any
) -> None:
    node, client = await reporting_village(tmp_path, aiohttp_client)
    admin = admin_headers(node)
    village = Village(node, client)
    writer = (await village.register(datasets=(), actions=("reports:write",)))["client_id"]
    await village.approve(writer)
    await village.sign_in("anna")
    token = (await village.code_token(writer, "reports:write"))["access_token"]

    filed = await client.post("/open311/v2/requests.json", data=FORM, headers=bearer(token))
    assert filed.status == 201, await filed.text()
    request_id = (await filed.json())[0]["service_request_id"]
    with Session(node.engine) as db:
        reporter = db.get(Reporter, request_id)
    assert reporter is not None and reporter.client_id == f"app:{writer}"[:32]
    # Anna supports it through the app: once, however often the app asks
    for _ in range(2):
        supported = await client.post(
            f"/open311/v2/requests/{request_id}/support.json", headers=bearer(token)
        )
        assert supported.status == 200, await supported.text()
        assert (await supported.json())[0]["supporters"] == 1

    async def refused(headers: dict[str, str], status: int, words: str) -> None:
        answer = await client.post("/open311/v2/requests.json", data=FORM, headers=headers)
        assert answer.status == status, await answer.text()
        assert answer.content_type == "application/problem+json"
        assert words in (await answer.json())["detail"]

    reader = (await village.register(datasets=(), actions=("reports:read",)))["client_id"]
    await village.approve(reader)
    other = (await village.code_token(reader, "reports:read"))["access_token"]
    await refused(bearer(other), 403, "reports:write")
    await refused(bearer("not-a-token"), 401, "malformed")
    await refused(admin, 403, "reports:write")  # the operator's token is no app's
    revoked = await client.post("/oauth/revoke", data={"token": token, "client_id": writer})
    assert revoked.status == 200, await revoked.text()
    await refused(bearer(token), 403, "revoked")
    fresh = (await village.code_token(writer, "reports:write"))["access_token"]
    await client.post(f"/admin/apps/{writer}/suspend", json={"reason": "Prüfung"}, headers=admin)
    await refused(bearer(fresh), 403, "suspended")
    with Session(node.engine) as db:
        assert len(db.exec(select(Report)).all()) == 1  # nothing else was filed
