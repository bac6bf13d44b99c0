"""The portal's street-light page: buttons as forms (no JavaScript), the switching's page,
refusals in plain German on the page, the energy table."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from tests.actuation.conftest import POLICY, Lights, wait_for

OPEN = copy.deepcopy(POLICY)
del OPEN["permission"][0]["assignee"]  # anyone may switch, twice a night


async def open_policy(lights: Lights) -> None:
    answer = await lights.client.put("/admin/actuation/policy", json=OPEN, headers=lights.admin)
    assert answer.status == 200, await answer.text()


GERMAN_MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip


async def page(lights: Lights, path: str, **kwargs: Any) -> str:
    answer = await lights.client.get(path, headers={"Accept-Language": "de"}, **kwargs)
    assert answer.status == 200, await answer.text()
    return str(await answer.text())


async def test_the_page_has_a_form_button_per_segment(lights: Lights) -> None:
    html = await page(lights, "/licht")
    assert 'action="/licht/dorfstrasse"' in html and 'action="/licht/kirchweg"' in html
    assert "Licht an: Dorfstraße (Beispiel)" in html
    assert 'role="status" aria-live="polite"' in html
    # the Class A controller is announced honestly, the Class C one as quick
    assert "erst nach seiner nächsten Meldung" in html and "wenigen Sekunden" in html
    assert 'href="/licht"' in html  # in the portal's navigation


async def test_a_press_without_javascript_lands_on_the_switching_page(lights: Lights) -> None:
    await open_policy(lights)
    headers = {"Accept-Language": "de"}
    answer = await lights.client.post(
        "/licht/dorfstrasse", data={"press": "1"}, headers=headers, allow_redirects=False
    )
    assert answer.status == 303, await answer.text()
    target = answer.headers["Location"]
    switching = target.rsplit("/", 1)[-1]
    assert target == f"/licht/schaltungen/{switching}"
    await lights.settled()

    async def confirmed() -> bool:
        return await lights.state(switching) == "confirmed"

    await wait_for(confirmed)
    html = await page(lights, target)
    assert 'data-state="confirmed"' in html
    assert "bestätigt: das Licht ist an" in html
    assert len(lights.tts.accepted) == 1
    # the second press extends: the page says so, and no second command goes out now
    answer = await lights.client.post("/licht/dorfstrasse", data={"press": "1"}, headers=headers)
    assert answer.status == 200
    assert "schon an: verlängert" in await answer.text()
    assert len(lights.tts.accepted) == 1
    # the third is beyond the policy's count: refused, with the reason on the page
    answer = await lights.client.post("/licht/dorfstrasse", data={"press": "1"}, headers=headers)
    assert answer.status == 403
    html = await answer.text()
    assert "Heute nicht mehr möglich: höchstens 2× pro Nacht." in html
    assert "data-refusal" in html
    # energy: the switching that reached the controller is counted this month
    html = await page(lights, "/licht")
    now = datetime.now(UTC)
    assert f"{GERMAN_MONTHS[now.month - 1]} {now.year}" in html  # the month in words


async def test_refusals_are_shown_on_the_page(lights: Lights) -> None:
    # the installed policy is for residents; a form post without an account is refused
    answer = await lights.client.post(
        "/licht/kirchweg", data={"press": "1"}, headers={"Accept-Language": "de"}
    )
    assert answer.status == 403
    assert "Nur für angemeldete Einwohnerinnen und Einwohner." in await answer.text()
    assert lights.tts.accepted == [] and lights.chirpstack.accepted == []


async def test_unknown_segment_and_switching(lights: Lights) -> None:
    answer = await lights.client.post("/licht/nirgendwo", data={"press": "1"})
    assert answer.status == 404
    answer = await lights.client.get("/licht/schaltungen/" + "0" * 32)
    assert answer.status == 404
    answer = await lights.client.get("/licht/schaltungen/nicht-hex")
    assert answer.status == 404
