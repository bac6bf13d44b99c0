"""An approved app switches a street light for a resident through the same switching route
and policy as the resident's own press; without the scope, or once withdrawn, it is refused."""

from __future__ import annotations

from tests.actuation.conftest import Lights, lights  # noqa: F401 (the fixture)
from tests.apps.conftest import Village, bearer

SWITCH = "/actuation/segments/dorfstrasse/switch"


async def test_an_app_switches_a_light_for_the_resident_who_allowed_it(
    lights: Lights,  # noqa: F811
) -> None:
    village = Village(lights.node, lights.client)
    client_id = (await village.register(datasets=(), actions=("lights:switch",)))["client_id"]
    await village.approve(client_id)
    await village.sign_in("anna")
    token = (await village.code_token(client_id, "lights:switch"))["access_token"]

    pressed = await lights.client.post(SWITCH, headers=bearer(token))
    assert pressed.status == 202, await pressed.text()
    switching = (await pressed.json())["id"]
    assert (await lights.states(switching))[-1] == "confirmed"
    await lights.settled()
    # the policy counts the app's press as Anna's: her own second press extends, the third
    # (beyond the policy's count of two) is refused
    assert (await lights.press("dorfstrasse", "anna")).status == 202
    page = await (await lights.client.get("/apps/mine")).text()
    assert "hat für Sie gehandelt" in page

    reader = (await village.register(datasets=(), actions=("reports:read",)))["client_id"]
    await village.approve(reader)
    other = (await village.code_token(reader, "reports:read"))["access_token"]
    refused = await lights.client.post(SWITCH, headers=bearer(other))
    assert refused.status == 403 and "lights:switch" in (await refused.json())["detail"]

    await lights.client.post(
        f"/admin/apps/{client_id}/suspend", json={"reason": "Prüfung"}, headers=lights.admin
    )
    suspended = await lights.client.post(SWITCH, headers=bearer(token))
    assert suspended.status == 403 and "suspended" in (await suspended.json())["detail"]
    await lights.settled()
