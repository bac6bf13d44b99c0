"""A network server that is down or answers errors: `failed` with the reason after bounded
retries within the command's expiry, and never a second command."""

from __future__ import annotations

import socket

from tests.actuation.conftest import Lights, wait_for


async def test_server_errors_end_failed_after_bounded_retries_never_sent_twice(
    lights: Lights,
) -> None:
    lights.tts.behaviour.fail, lights.tts.behaviour.status = 100, 503
    body = await (await lights.press("dorfstrasse")).json()
    states = await lights.states(body["id"])
    assert states[-1] == "failed"
    await lights.settled()
    row = lights.room.switching(body["id"])
    assert row is not None
    assert row.attempts == 4 and len(lights.tts.requests) == 4  # 1 + 3 retries, then no more
    assert row.reason == "Netzwerkserver antwortete 503; 4 Versuch(e)"
    assert lights.tts.accepted == []
    # the clock goes on: nothing sends it again
    lights.clock.advance(3600)
    await lights.room.sweep()
    await lights.settled()
    assert len(lights.tts.requests) == 4
    # the segment is free again: the next press is a new command
    segment = await (await lights.client.get("/actuation/segments/dorfstrasse")).json()
    assert segment["state"] == "off"


async def test_a_retry_after_an_error_is_the_only_command_taken(lights: Lights) -> None:
    lights.chirpstack.behaviour.fail, lights.chirpstack.behaviour.status = 2, 429
    body = await (await lights.press("kirchweg")).json()
    assert (await lights.states(body["id"]))[-1] == "confirmed"
    await lights.settled()
    assert len(lights.chirpstack.requests) == 3
    assert len(lights.chirpstack.accepted) == 1
    bodies = [r["body"] for r in lights.chirpstack.requests]
    assert all(b == bodies[0] for b in bodies)  # the same command, replacing the queue
    assert bodies[0]["flushQueue"] is True


async def test_a_refusal_by_the_server_is_not_retried(lights: Lights) -> None:
    lights.tts.key = "NNSXS.ANOTHER-KEY"  # the node's key is refused: 401
    body = await (await lights.press("dorfstrasse")).json()
    assert (await lights.states(body["id"]))[-1] == "failed"
    row = lights.room.switching(body["id"])
    assert row is not None and row.attempts == 1
    assert row.reason == "Netzwerkserver antwortete 401; 1 Versuch(e)"


async def test_a_server_that_is_down_fails_within_the_expiry(lights: Lights) -> None:
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    from sqlmodel import Session

    from allmende.node.actuation.models import Controller

    with Session(lights.node.engine) as session:
        controller = session.get(Controller, "ws558-dorfstrasse")
        assert controller is not None
        controller.server = f"http://127.0.0.1:{port}"
        session.add(controller)
        session.commit()
    body = await (await lights.press("dorfstrasse")).json()
    assert (await lights.states(body["id"]))[-1] == "failed"
    row = lights.room.switching(body["id"])
    assert row is not None and row.attempts == 4
    assert row.reason is not None and row.reason.startswith("Netzwerkserver nicht erreichbar")


async def test_no_retry_after_the_expiry(lights: Lights) -> None:
    lights.tts.behaviour.fail = 100
    lights.room.settings.retry_delays = (0.2,)
    body = await (await lights.press("dorfstrasse")).json()

    async def first_refused() -> bool:
        return len(lights.tts.requests) == 1

    await wait_for(first_refused)
    lights.clock.advance(901)  # the command's 15 minutes are over before the retry
    await lights.room.sweep()  # the sweeper runs meanwhile: it leaves the sending to end it
    assert (await lights.states(body["id"]))[-1] == "failed"
    assert len(lights.tts.requests) == 1
    row = lights.room.switching(body["id"])
    assert row is not None and row.reason is not None
    assert row.reason.startswith("Befehl abgelaufen")


async def test_a_command_nobody_reports_on_expires(lights: Lights) -> None:
    lights.tts.behaviour.events = False
    body = await (await lights.press("dorfstrasse")).json()
    await lights.settled()
    assert await lights.state(body["id"]) == "queued"
    lights.clock.advance(901)
    await lights.room.sweep()
    assert await lights.state(body["id"]) == "expired"
    assert len(lights.tts.accepted) == 1
    row = lights.room.switching(body["id"])
    assert row is not None and row.reason == "keine Bestätigung bis 00:00 UTC"  # 01:00 in Berlin


async def test_downlink_failed_event_fails_the_switching(lights: Lights) -> None:
    lights.tts.behaviour.events = False
    body = await (await lights.press("dorfstrasse")).json()
    await lights.settled()
    downlink = lights.tts.accepted[0]["downlinks"][0]
    answer = await lights.client.post(
        "/actuation/ttn/downlink/failed",
        json=lights.tts.failed_event(downlink),
        headers=lights.tts.headers(),
    )
    assert answer.status == 200
    row = lights.room.switching(body["id"])
    assert row is not None and row.state == "failed"
    assert row.reason == "Netzwerkserver: application_downlink_too_long"


async def test_chirpstack_reports_the_queue_item_expired(lights: Lights) -> None:
    lights.chirpstack.behaviour.events = False
    body = await (await lights.press("kirchweg")).json()
    await lights.settled()
    assert lights.chirpstack.replies == []  # the stand-in sent no event
    row = lights.room.switching(body["id"])
    assert row is not None and row.queue_item
    log = {
        "time": "2026-12-08T00:00:00Z",
        "deviceInfo": lights.chirpstack.info(),
        "level": "ERROR",
        "code": "EXPIRED",
        "description": "Device queue-item discarded because it has expired",
        "context": {"queue_item_id": row.queue_item},
    }
    headers = {"X-Allmende-Webhook-Secret": lights.chirpstack.secret}
    answer = await lights.client.post("/actuation/chirpstack?event=log", json=log, headers=headers)
    assert answer.status == 200
    row = lights.room.switching(body["id"])
    assert row is not None and row.state == "expired"
    assert row.reason is not None and row.reason.startswith("Netzwerkserver: EXPIRED")


async def test_a_class_a_nack_waits_for_the_servers_own_retry(lights: Lights) -> None:
    lights.chirpstack.behaviour.ack = lights.chirpstack.behaviour.uplink = False
    body = await (await lights.press("kirchweg")).json()
    await lights.settled()
    row = lights.room.switching(body["id"])
    assert row is not None and row.state == "sent" and row.queue_item
    nack = {"deviceInfo": lights.chirpstack.info(), "queueItemId": row.queue_item}
    headers = {"X-Allmende-Webhook-Secret": lights.chirpstack.secret}
    answer = await lights.client.post("/actuation/chirpstack?event=ack", json=nack, headers=headers)
    assert answer.status == 200
    row = lights.room.switching(body["id"])
    assert row is not None and row.state == "sent"
    assert row.reason == "Nicht bestätigt; der Netzwerkserver sendet erneut."
    assert len(lights.chirpstack.accepted) == 1  # the node itself sends nothing again
