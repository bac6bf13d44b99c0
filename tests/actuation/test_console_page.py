"""The street lights' console page: a signed-in operator sees controllers, segments and the
latest switchings (persons only as pseudonyms), and its lock form, CSRF-checked, locks a
segment through the same registry function as the admin API, so the next press is refused."""

from __future__ import annotations

import re

from allmende.node.auth import mint_token
from tests.actuation.conftest import Lights
from tests.web.test_i18n_catalogs import german_page_problems

PAGE = "/admin/console/streetlights"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def sign_in(lights: Lights) -> None:
    form = await (await lights.client.get("/admin/login")).text()
    token = mint_token(lights.node.key, lights.node.id)
    answer = await lights.client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(form), "token": token},
        allow_redirects=False,
    )
    assert answer.status == 303, await answer.text()


async def test_the_operator_sees_controllers_segments_and_switchings(lights: Lights) -> None:
    pressed = await lights.press("dorfstrasse", who="anna")
    assert pressed.status == 202, await pressed.text()
    switching = (await pressed.json())["id"]
    await lights.settled()
    await sign_in(lights)
    answer = await lights.client.get(PAGE, headers={"Accept-Language": "de"})
    page = await answer.text()
    assert answer.status == 200
    assert 'href="/admin/console/streetlights"' in page  # linked in the console's menu
    for controller in ("ws558-dorfstrasse", "ws558-kirchweg"):
        assert f'data-controller="{controller}"' in page
    stored = await lights.client.get("/admin/actuation/controllers", headers=lights.admin)
    for controller in (await stored.json())["controllers"]:  # the DevEUI as stored
        assert f"<code>{controller['dev_eui']}</code>" in page
    assert "The Things Stack" in page and "ChirpStack" in page
    assert 'data-segment="dorfstrasse"' in page and 'data-segment="kirchweg"' in page
    assert re.search(rf'data-switching="{switching}" data-state="\w+"', page)
    row = re.search(rf'data-switching="{switching}".*?</tr>', page, re.S)
    assert row and "anna" not in row.group(0)  # the person only as the stored pseudonym
    answer = await lights.client.get("/admin/actuation/switchings", headers=lights.admin)
    listed = await answer.json()
    pseudonym = next(s["person"] for s in listed["switchings"] if s["id"] == switching)
    assert pseudonym in row.group(0)
    assert "Telefoncodes" in page and "Abschnitte" in page  # German texts from the catalog
    assert german_page_problems(page) == []


async def test_the_lock_form_locks_the_segment_and_a_press_is_refused(lights: Lights) -> None:
    await sign_in(lights)
    page = await (await lights.client.get(PAGE)).text()
    assert 'data-segment="dorfstrasse" data-state="off" data-locked="no"' in page
    forged = await lights.client.post(
        f"{PAGE}/dorfstrasse/lock",
        data={"csrf_token": "forged", "locked": "1", "reason": "Leuchtentausch"},
        allow_redirects=False,
    )
    assert forged.status == 403
    still = await lights.press("dorfstrasse", who="ben")
    assert still.status == 202, await still.text()  # the forged post locked nothing
    await lights.settled()
    locked = await lights.client.post(
        f"{PAGE}/dorfstrasse/lock",
        data={"csrf_token": csrf_of(page), "locked": "1", "reason": "Leuchtentausch"},
        allow_redirects=False,
    )
    assert locked.status == 303, await locked.text()
    assert locked.headers["Location"] == f"{PAGE}#segment-dorfstrasse"
    refused = await lights.press("kirchweg", who="anna")
    assert refused.status == 202  # only the locked segment is refused
    refused = await lights.press("dorfstrasse", who="carla")
    assert refused.status == 409
    assert (await refused.json())["reason"]["de"] == "Der Abschnitt ist gesperrt (Leuchtentausch)."
    page = await (await lights.client.get(PAGE)).text()
    assert 'data-segment="dorfstrasse"' in page and 'data-locked="yes"' in page
    unlocked = await lights.client.post(
        f"{PAGE}/dorfstrasse/lock",
        data={"csrf_token": csrf_of(page), "locked": "0"},
        allow_redirects=False,
    )
    assert unlocked.status == 303
    segments = await (await lights.client.get("/actuation/segments")).json()
    assert not next(s for s in segments["segments"] if s["id"] == "dorfstrasse")["locked"]
    await lights.settled()


async def test_bad_lock_posts_are_refused_and_change_nothing(lights: Lights) -> None:
    await sign_in(lights)
    page = await (await lights.client.get(PAGE)).text()
    token = csrf_of(page)
    unknown = await lights.client.post(
        f"{PAGE}/nirgendwo/lock", data={"csrf_token": token, "locked": "1"}
    )
    assert unknown.status == 404
    unclear = await lights.client.post(
        f"{PAGE}/dorfstrasse/lock", data={"csrf_token": token, "locked": "vielleicht"}
    )
    assert unclear.status == 422
    too_long = await lights.client.post(
        f"{PAGE}/dorfstrasse/lock", data={"csrf_token": token, "locked": "1", "reason": "x" * 301}
    )
    assert too_long.status == 422
    segments = await (await lights.client.get("/actuation/segments")).json()
    assert not any(s["locked"] for s in segments["segments"])


async def test_without_a_session_the_console_sends_to_sign_in(lights: Lights) -> None:
    answer = await lights.client.get(PAGE, allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/admin/login"
    posted = await lights.client.post(
        f"{PAGE}/dorfstrasse/lock", data={"locked": "1"}, allow_redirects=False
    )
    assert posted.status == 303 and posted.headers["Location"] == "/admin/login"
    segments = await (await lights.client.get("/actuation/segments")).json()
    assert not any(s["locked"] for s in segments["segments"])
