"""Switching street lights: press -> policy -> one downlink per lit window -> proof.

Safe by construction:

- the command carries the duration ("on for N seconds"); the controller switches itself
  off, so a node outage never leaves lights on, and there is no "off" to press;
- a press while the window's lights are on (or on their way) sends nothing: it asks for
  one extension, which goes out as one command shortly before the window ends, so a
  thousand presses give one downlink per window;
- a command is sent by one task, once: retries only follow answers that say the server
  did not take it (no connection, 408/425/429/5xx), always within the command's expiry,
  and they replace the device's queue (The Things Stack `replace`, ChirpStack
  `flushQueue`), so even a retry the server had taken leaves one command queued. A
  timeout is not retried: nobody knows whether it arrived, and the request says so;
- each state change is an event in the log in the same transaction as its row, with the
  person as a keyed pseudonym; these events stay on this node (node.federation.sharing
  relays only catalog and observation events). The public record of a switching is a
  sosa:Actuation without any person, in the dataset `DATASET`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func
from sqlmodel import Session, col, select

from allmende.connectors.downlink import (
    DownlinkEvent,
    EventKind,
    HttpRequest,
    InvalidEvent,
    codecs,
    tts,
)
from allmende.connectors.downlink import chirpstack as cs
from allmende.node import db
from allmende.node.actuation import daylight, sosa
from allmende.node.actuation.models import ActuationPolicy, Controller, Segment, Switching
from allmende.node.actuation.policy import (
    Person,
    PolicyRefused,
    SwitchPolicy,
    Verdict,
    verified,
    within,
)
from allmende.node.http.problems import Problem
from allmende.node.messages import said, say
from allmende.node.runtime import Node

log = logging.getLogger(__name__)

REQUESTED, QUEUED, SENT, ACKED, CONFIRMED = "requested", "queued", "sent", "acked", "confirmed"
FAILED, EXPIRED, COALESCED = "failed", "expired", "coalesced"
FINAL = frozenset({CONFIRMED, FAILED, EXPIRED, COALESCED})
IN_FLIGHT = (REQUESTED, QUEUED, SENT, ACKED)
NOT_COUNTED = (FAILED, EXPIRED)
EVENT = "de.allmende.actuation.switching"
HISTORY_KEPT = 10_000
"""Switchings whose steps the live view keeps in memory (newest first out last)."""
ANSWER_GRACE = 2.0
"""Seconds an event about an unknown queue item waits for an enqueue answer in flight."""
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
STATES_DE = {
    REQUESTED: "angefragt",
    QUEUED: "beim Netzwerkserver eingereiht",
    SENT: "gesendet",
    ACKED: "vom Steuergerät bestätigt",
    CONFIRMED: "Licht ist an (Rückmeldung des Steuergeräts)",
    FAILED: "fehlgeschlagen",
    EXPIRED: "abgelaufen",
    COALESCED: "Licht ist schon an – verlängert",
}
ORDER = {REQUESTED: 0, QUEUED: 1, SENT: 2, ACKED: 3, CONFIRMED: 4}


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def night_of(local: datetime) -> str:
    """The evening a night began: noon to noon, so 01:00 belongs to the day before."""
    day = local.date() if local.time() >= time(12) else local.date() - timedelta(days=1)
    return day.isoformat()


class Refused(Problem):
    """A press the node does not turn into a command, with the reason in plain German."""

    def __init__(self, status: int, title: str, de: str, en: str, **extra: Any) -> None:
        super().__init__(status, title, en, reason={"de": de, "en": en}, **extra)


@dataclass
class Settings:
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    http_timeout: float = 5.0
    extension_lead: float = 60.0  # seconds before a window ends that its extension goes out
    sweep_every: float = 1.0


class Actuation:
    """The actuation room's state: one per running app."""

    def __init__(
        self,
        node: Node,
        *,
        clock: Callable[[], datetime] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.node = node
        self.clock = clock or (lambda: datetime.now(UTC))
        self.settings = settings or Settings()
        self._locks: dict[str, asyncio.Lock] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dispatching: set[str] = set()
        """Switchings whose command is being sent now (dispatch), which the sweep skips."""
        self._http: aiohttp.ClientSession | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._policy: tuple[str, SwitchPolicy] | None = None
        self._history: collections.OrderedDict[str, list[dict[str, Any]]] = (
            collections.OrderedDict()
        )
        self._pending: list[tuple[list[Any], list[dict[str, Any]], asyncio.Future[None]]] = []
        self._flushing = False
        secret = node.key.private.private_bytes_raw()
        self._pseudonym_key = hashlib.sha256(b"allmende actuation pseudonym\0" + secret).digest()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.http_timeout)
        )
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    async def settle(self) -> None:
        """Wait until every command task started so far has ended (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- reading ----------------------------------------------------------------------------

    def now(self) -> datetime:
        """The clock in UTC: the database keeps times without their zone."""
        return self.clock().astimezone(UTC)

    def pseudonym(self, subject: str) -> str:
        """Keyed with the node's secret: the same person gives the same pseudonym here, and
        nobody without the key can tell who it is."""
        return hmac.new(self._pseudonym_key, subject.encode(), hashlib.sha256).hexdigest()[:24]

    def switching(self, switching_id: str) -> Switching | None:
        with Session(self.node.engine) as session:
            return session.get(Switching, switching_id)

    def policy(self) -> SwitchPolicy | None:
        with Session(self.node.engine) as session:
            row = session.get(ActuationPolicy, 1)
        if row is None:
            return None
        stamp = row.installed.isoformat() + str(len(row.document))
        if self._policy is None or self._policy[0] != stamp:
            self._policy = (stamp, verified(json.loads(row.document), self.node.admin_keys()))
        return self._policy[1]

    def waiter(self, switching_id: str) -> asyncio.Event:
        return self._changed.setdefault(switching_id, asyncio.Event())

    def _notify(self, switching_id: str) -> None:
        event = self._changed.pop(switching_id, None)
        if event is not None:
            event.set()

    # -- pressing ---------------------------------------------------------------------------

    async def press(
        self, segment_id: str, person: Person, channel: str
    ) -> tuple[Switching, Verdict]:
        """Turn a press into a switching (new, or coalesced into the lit window)."""
        lock = self._locks.setdefault(segment_id, asyncio.Lock())
        async with lock:
            return await self._press(segment_id, person, channel)

    def _check_segment(self, segment: Segment, now: datetime) -> datetime:
        local = now.astimezone(ZoneInfo(segment.timezone))
        if segment.locked:
            why = segment.lock_reason or "Wartung"
            raise Refused(
                409,
                "Locked",
                f"Der Abschnitt ist gesperrt ({why}).",
                f"The segment is locked ({why}).",
            )
        window = (time.fromisoformat(segment.dark_from), time.fromisoformat(segment.dark_until))
        if not within(local.time(), window):
            span = f"{segment.dark_from}–{segment.dark_until}"
            raise Refused(
                409,
                "Not needed now",
                f"Um diese Zeit brennt das Licht ohnehin; auf Knopfdruck nur {span} Uhr.",
                f"The lights are on anyway at this time; on demand only {span}.",
            )
        if daylight.is_light(segment.lat, segment.lon, now):
            raise Refused(
                409,
                "Daylight",
                "Es ist hell genug; das Licht wird nicht gebraucht.",
                "It is light enough; the lights are not needed.",
            )
        return local

    async def _press(
        self, segment_id: str, person: Person, channel: str
    ) -> tuple[Switching, Verdict]:
        now = self.now()
        pseudonym = self.pseudonym(person.subject)
        segment, controller, policy, used, window = await asyncio.to_thread(
            self._facts, segment_id, pseudonym, now
        )
        local = self._check_segment(segment, now)
        if policy is None:
            raise Refused(
                403,
                "No policy",
                "Die Gemeinde hat noch nicht festgelegt, wer schalten darf.",
                "The municipality has not yet decided who may switch.",
            )
        night = night_of(local)
        verdict = policy.decide(person, segment.id, local, used)
        if not verdict.allowed:
            raise Refused(403, "Forbidden", verdict.reason_de, verdict.reason_en, remaining=0)
        lit = segment.on_until is not None and utc(segment.on_until) > now
        row = Switching(
            id=uuid.uuid4().hex,
            segment_id=segment.id,
            controller_id=controller.id,
            pseudonym=pseudonym,
            channel=channel,
            night=night,
            state=REQUESTED,
            created=now,
            updated=now,
            expires=now + timedelta(seconds=segment.duration),
            seconds=segment.duration,
            watts=segment.watts * segment.lamps,
        )
        if window is not None and (lit or window.state in IN_FLIGHT):
            row.state, row.coalesced_into = COALESCED, window.id
            already = segment.extend_pending
            segment.extend_pending = True
            minutes = segment.duration // 60
            note = (
                say("The extension is already noted.")
                if already
                else say(
                    "The light is already on and stays on %(minutes)s minutes longer.",
                    minutes=minutes,
                )
            )
            row.reason = said(note, "de")  # a switching's state is kept in German
            await self._commit([row, segment], [self._event(row)])
            return row, dataclasses_replace(verdict, reason=_with_left(note, verdict))
        segment.on_until = now + timedelta(seconds=segment.duration)
        segment.window_switching, segment.extend_pending = row.id, False
        await self._commit([row, segment], [self._event(row)])
        self._spawn(self.dispatch(row.id))
        return row, verdict

    def _facts(
        self, segment_id: str, pseudonym: str, now: datetime
    ) -> tuple[Segment, Controller, SwitchPolicy | None, int, Switching | None]:
        """What a press is decided on, read in one go off the event loop."""
        segment, controller = self._load(segment_id)
        try:
            policy = self.policy()
        except PolicyRefused:
            policy = None
        local = now.astimezone(ZoneInfo(segment.timezone))
        used = self._used(pseudonym, night_of(local))
        return segment, controller, policy, used, self._window_switching(segment)

    def _load(self, segment_id: str) -> tuple[Segment, Controller]:
        with Session(self.node.engine) as session:
            segment = session.get(Segment, segment_id)
            if segment is None:
                raise Problem(404, "Not Found", f"no segment {segment_id!r}")
            controller = session.get(Controller, segment.controller_id)
            if controller is None:
                raise Problem(409, "Conflict", f"segment {segment_id!r} has no controller")
            return segment, controller

    def _used(self, pseudonym: str, night: str) -> int:
        with Session(self.node.engine) as session:
            return int(
                session.exec(
                    select(func.count())
                    .select_from(Switching)
                    .where(Switching.pseudonym == pseudonym, Switching.night == night)
                    .where(col(Switching.state).not_in(NOT_COUNTED))
                ).one()
            )

    def _window_switching(self, segment: Segment) -> Switching | None:
        if segment.window_switching is None:
            return None
        with Session(self.node.engine) as session:
            return session.get(Switching, segment.window_switching)

    def _event(self, row: Switching, **extra: Any) -> dict[str, Any]:
        data = {
            "switching": row.id,
            "segment": row.segment_id,
            "controller": row.controller_id,
            "person": row.pseudonym,
            "channel": row.channel,
            "state": row.state,
            "reason": row.reason,
            "attempts": row.attempts,
            "coalescedInto": row.coalesced_into,
            "time": utc(row.updated).isoformat(),
            **extra,
        }
        return self.node.event(EVENT, data, subject=row.segment_id)

    async def _commit(self, rows: list[Any], events: list[dict[str, Any]]) -> None:
        """Write rows and their events in one transaction, shared with the commits that
        arrive meanwhile (group commit: one fsync for many presses); returns once durable."""
        from allmende.node.actuation.registry import switching_json

        snapshots = [switching_json(row) for row in rows if isinstance(row, Switching)]
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, events, done))
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush())
        await done
        for snapshot in snapshots:
            kept = self._history.setdefault(snapshot["id"], [])
            if not kept or (kept[-1]["state"], kept[-1]["reason"]) != (
                snapshot["state"],
                snapshot["reason"],
            ):
                kept.append(snapshot)
            self._history.move_to_end(snapshot["id"])
            while len(self._history) > HISTORY_KEPT:
                self._history.popitem(last=False)
            self._notify(snapshot["id"])

    def changes(self, switching_id: str) -> list[dict[str, Any]] | None:
        """Every state a switching went through while this process ran (for the live view:
        a change seen only as its successor would hide a step), or None if none was seen."""
        kept = self._history.get(switching_id)
        return list(kept) if kept else None

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []

                def write(batch: list[Any] = batch) -> None:
                    with db.transaction(self.node.engine) as session:
                        for rows, _events, _done in batch:
                            for row in rows:
                                session.merge(row)
                        session.flush()
                        self.node.log.append(
                            session, [e for _r, events, _d in batch for e in events]
                        )

                try:
                    await self.node.write(write)
                except Exception as exc:  # each waiting caller learns it, nobody hangs
                    for _rows, _events, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                self.node.project_soon()
                for _rows, _events, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._flushing = False

    # -- sending ----------------------------------------------------------------------------

    def _request(self, row: Switching, controller: Controller) -> HttpRequest:
        codec = codecs.resolve(json.loads(controller.codec))
        command = codecs.encode(codec, row.seconds, confirmed=controller.confirmed)
        if controller.network == "tts":
            return tts.push_request(
                controller.server,
                application_id=controller.application_id or "",
                webhook_id=controller.webhook_id or "",
                device_id=controller.device_id,
                api_key=controller.credential,
                command=command,
                correlation=row.id,
            )
        return cs.enqueue_request(
            controller.server,
            dev_eui=controller.dev_eui,
            api_token=controller.credential,
            command=command,
            expires_at=utc(row.expires),
        )

    async def dispatch(self, switching_id: str) -> None:
        """Send one switching's command: at most the bounded retries, within its expiry.
        While it is sent, the sweeper leaves it alone: the sending ends it, checking the
        expiry before each try, so the command ends with the sending's own reason."""
        self._dispatching.add(switching_id)
        try:
            await self._send(switching_id)
        finally:
            self._dispatching.discard(switching_id)

    async def _send(self, switching_id: str) -> None:
        row, controller = await asyncio.to_thread(self._row_and_controller, switching_id)
        if row is None or controller is None or row.state != REQUESTED or row.attempts:
            return  # somebody sent it already: never twice
        request = self._request(row, controller)
        assert self._http is not None, "the room is not started"
        reason = "nicht gesendet"
        delays = (0.0, *self.settings.retry_delays)
        for delay in delays:
            if delay:
                await asyncio.sleep(delay)
            if self.now() >= utc(row.expires):
                reason = "Befehl abgelaufen, bevor der Netzwerkserver ihn annahm"
                break
            row.attempts += 1
            try:
                async with self._http.request(
                    request.method, request.url, json=request.body, headers=request.headers
                ) as answer:
                    status = answer.status
                    text = await answer.read()
            except TimeoutError:
                row.reason = "Netzwerkserver antwortete nicht; ob der Befehl ankam, ist offen"
                row.updated = self.now()
                await self._commit([row], [self._event(row)])
                return  # not retried: it may have arrived; the events or the expiry tell
            except aiohttp.ClientError as exc:
                reason = f"Netzwerkserver nicht erreichbar ({type(exc).__name__})"
                continue
            if 200 <= status < 300:
                await self._queued(row, controller, text)
                return
            reason = f"Netzwerkserver antwortete {status}"
            if status not in RETRY_STATUS:
                break
        await self._finish(row, FAILED, f"{reason}; {row.attempts} Versuch(e)")

    def _row_and_controller(self, switching_id: str) -> tuple[Switching | None, Controller | None]:
        with Session(self.node.engine) as session:
            row = session.get(Switching, switching_id)
            controller = session.get(Controller, row.controller_id) if row else None
            return row, controller

    async def _queued(self, row: Switching, controller: Controller, text: bytes) -> None:
        if controller.network == "chirpstack":
            try:
                row.queue_item = cs.queue_item_id(json.loads(text))
            except (ValueError, InvalidEvent) as exc:
                await self._finish(row, FAILED, f"unverständliche Antwort: {exc}")
                return
        lock = self._locks.setdefault(row.segment_id, asyncio.Lock())
        async with lock:
            fresh = (await asyncio.to_thread(self.switching, row.id)) or row
            fresh.attempts, fresh.queue_item = row.attempts, row.queue_item
            if fresh.state == REQUESTED:
                fresh.state = QUEUED  # else its events were faster than the answer
            if fresh.state in FINAL:
                return
            fresh.reason = fresh.reason or self._latency_note(controller)
            fresh.updated = self.now()
            await self._commit([fresh], [self._event(fresh)])

    @staticmethod
    def _latency_note(controller: Controller) -> str:
        if controller.lorawan_class == "A":
            minutes = max(1, controller.uplink_interval // 60)
            return (
                "Das Steuergerät empfängt nur nach seiner nächsten Meldung, "
                f"spätestens in etwa {minutes} Minuten."
            )
        return "Das Steuergerät empfängt sofort; meist in wenigen Sekunden."

    async def _finish(self, row: Switching, state: str, reason: str) -> None:
        row.state, row.reason, row.updated = state, reason[:500], self.now()
        segment = await asyncio.to_thread(self._segment, row.segment_id)
        rows: list[Any] = [row]
        if segment is not None and segment.window_switching == row.id:
            segment.on_until, segment.window_switching, segment.extend_pending = None, None, False
            rows.append(segment)
        await self._commit(rows, [self._event(row)])

    def _segment(self, segment_id: str) -> Segment | None:
        with Session(self.node.engine) as session:
            return session.get(Segment, segment_id)

    # -- what the network server reports ----------------------------------------------------

    async def on_event(self, network: str, event: DownlinkEvent) -> Switching:
        """Advance a switching by a downlink event; a forged or replayed one changes nothing."""
        row, controller = await self._found(network, event)
        device = controller.device_id if network == "tts" else controller.dev_eui
        if event.device.lower() != device.lower():
            raise Problem(422, "Unprocessable Content", "the event names another device")
        lock = self._locks.setdefault(row.segment_id, asyncio.Lock())
        async with lock:
            fresh: Switching | None = await asyncio.to_thread(self.switching, row.id)
            return await self._advance(fresh or row, controller, event)

    async def _found(self, network: str, event: DownlinkEvent) -> tuple[Switching, Controller]:
        """ChirpStack may report a queue item before its enqueue answer reached us: while a
        command is being sent, look again for a moment."""
        loop = asyncio.get_running_loop()
        end = loop.time() + ANSWER_GRACE
        while True:
            # taken before the look: a send that ends during it has stored its queue item,
            # so the next look finds it (checked after, the event was refused in between)
            in_flight = bool(self._tasks)
            try:
                return await asyncio.to_thread(self._find, network, event)
            except Problem:
                if network != "chirpstack" or not in_flight or loop.time() > end:
                    raise
            await asyncio.sleep(0.02)

    def _find(self, network: str, event: DownlinkEvent) -> tuple[Switching, Controller]:
        with Session(self.node.engine) as session:
            row = None
            if network == "tts" and event.correlation:
                row = session.get(Switching, event.correlation[:32])
            elif network == "chirpstack" and event.queue_item:
                row = session.exec(
                    select(Switching).where(Switching.queue_item == event.queue_item)
                ).first()
            if row is None:
                raise Problem(404, "Not Found", "no switching of this node has this downlink")
            controller = session.get(Controller, row.controller_id)
            if controller is None or controller.network != network:
                raise Problem(422, "Unprocessable Content", "the downlink went to another network")
            return row, controller

    async def _advance(
        self, row: Switching, controller: Controller, event: DownlinkEvent
    ) -> Switching:
        target = {
            EventKind.QUEUED: QUEUED,
            EventKind.SENT: SENT,
            EventKind.ACK: ACKED,
        }.get(event.kind)
        if row.state in FINAL:
            raise Problem(409, "Conflict", f"the switching is {row.state} already")
        if target is not None:
            if ORDER[row.state] > ORDER[target] or (row.state == target and target != QUEUED):
                raise Problem(409, "Conflict", f"the switching is {row.state} already (replayed?)")
            if row.state == target:
                return row  # our own enqueue answer and the server's queued event
            if target == ACKED and not controller.confirmed:
                raise Problem(422, "Unprocessable Content", "an ack for an unconfirmed command")
            row.state, row.updated = target, self.now()
            rows: list[Any] = [row]
            events = [self._event(row)]
            if (
                target == ACKED or (target == SENT and not controller.confirmed)
            ) and row.on_from is None:
                events.append(await self._actuated(row, controller))
            await self._commit(rows, events)
            return row
        if event.kind is EventKind.NACK and controller.lorawan_class == "A":
            row.reason, row.updated = (
                "Nicht bestätigt; der Netzwerkserver sendet erneut.",
                self.now(),
            )
            await self._commit([row], [self._event(row)])
            return row
        state = EXPIRED if event.kind is EventKind.EXPIRED else FAILED
        reason = event.reason or ("nicht bestätigt" if event.kind is EventKind.NACK else state)
        await self._finish(row, state, f"Netzwerkserver: {reason}")
        return row

    async def _actuated(self, row: Switching, controller: Controller) -> dict[str, Any]:
        """The public record: a sosa:Actuation without any person (into `sosa.DATASET`)."""
        row.on_from = self.now()
        row.on_until = row.on_from + timedelta(seconds=row.seconds)
        return self.node.event(
            sosa.RECORDED,
            sosa.actuation_event_data(self.node.base_url, row, controller.id),
            subject=sosa.DATASET,
        )

    async def on_uplink(
        self, network: str, device: str, payload: bytes, decoded: dict[str, Any] | None
    ) -> Switching | None:
        """A controller's uplink that reports its relay on confirms its sent command."""
        found = await asyncio.to_thread(self._awaiting, network, device)
        if found is None:
            return None
        row, controller = found
        on = codecs.relay_on(codecs.resolve(json.loads(controller.codec)), payload, decoded)
        if not on:
            return None
        lock = self._locks.setdefault(row.segment_id, asyncio.Lock())
        async with lock:
            fresh = await asyncio.to_thread(self.switching, row.id)
            if fresh is None or fresh.state not in (SENT, ACKED):
                return None
            fresh.state, fresh.updated = CONFIRMED, self.now()
            fresh.reason = "Das Steuergerät meldet: Licht ist an."
            events = [self._event(fresh)]
            if fresh.on_from is None:
                events.append(await self._actuated(fresh, controller))
            await self._commit([fresh], events)
            return fresh

    def _awaiting(self, network: str, device: str) -> tuple[Switching, Controller] | None:
        with Session(self.node.engine) as session:
            column = Controller.device_id if network == "tts" else Controller.dev_eui
            controller = session.exec(
                select(Controller).where(
                    Controller.network == network, func.lower(column) == device.lower()
                )
            ).first()
            if controller is None:
                return None
            row = session.exec(
                select(Switching)
                .where(Switching.controller_id == controller.id)
                .where(col(Switching.state).in_((SENT, ACKED)))
                .order_by(col(Switching.created).desc())
            ).first()
            return (row, controller) if row is not None else None

    # -- the clock --------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_every)
            try:
                await self.sweep()
            except Exception:  # the sweeper must outlive one bad row
                log.exception("actuation sweep failed")

    async def sweep(self) -> None:
        """Expire commands past their expiry; send the extensions that are due."""
        now = self.now()
        due, extend = await asyncio.to_thread(self._due, now)
        for row in due:
            lock = self._locks.setdefault(row.segment_id, asyncio.Lock())
            async with lock:
                if row.id in self._dispatching:
                    continue  # the sending ends it (see dispatch)
                fresh = await asyncio.to_thread(self.switching, row.id)
                if fresh is not None and fresh.state in (REQUESTED, QUEUED, SENT):
                    if fresh.state == SENT and fresh.on_from is not None:
                        continue  # an unconfirmed command that was sent: done as far as known
                    why = fresh.reason if fresh.state == REQUESTED and fresh.attempts else None
                    await self._finish(
                        fresh,
                        EXPIRED,
                        why or f"keine Bestätigung bis {utc(fresh.expires):%H:%M} UTC",
                    )
        for segment in extend:
            lock = self._locks.setdefault(segment.id, asyncio.Lock())
            async with lock:
                await self._extend(segment.id, now)

    def _due(self, now: datetime) -> tuple[list[Switching], list[Segment]]:
        lead = timedelta(seconds=self.settings.extension_lead)
        with Session(self.node.engine) as session:
            due = list(
                session.exec(
                    select(Switching)
                    .where(col(Switching.state).in_((REQUESTED, QUEUED, SENT)))
                    .where(Switching.expires <= now)
                )
            )
            extend = [
                s
                for s in session.exec(select(Segment).where(Segment.extend_pending == True))  # noqa: E712
                if s.on_until is not None and utc(s.on_until) - lead <= now
            ]
        return due, extend

    async def _extend(self, segment_id: str, now: datetime) -> None:
        """One command for the window's extension, made out to nobody (channel extension)."""
        segment, controller = await asyncio.to_thread(self._load, segment_id)
        if not segment.extend_pending or segment.on_until is None:
            return
        start = max(now, utc(segment.on_until) - timedelta(seconds=self.settings.extension_lead))
        row = Switching(
            id=uuid.uuid4().hex,
            segment_id=segment.id,
            controller_id=controller.id,
            pseudonym="-",
            channel="extension",
            night=night_of(now.astimezone(ZoneInfo(segment.timezone))),
            state=REQUESTED,
            created=now,
            updated=now,
            expires=now + timedelta(seconds=segment.duration),
            seconds=segment.duration,
            watts=segment.watts * segment.lamps,
        )
        segment.on_until = start + timedelta(seconds=segment.duration)
        segment.window_switching, segment.extend_pending = row.id, False
        await self._commit([row, segment], [self._event(row)])
        self._spawn(self.dispatch(row.id))


def _with_left(note: str, verdict: Verdict) -> str:
    """The note, and how many presses are left tonight if they are counted."""
    if verdict.remaining is None:
        return note
    return say("%(note)s %(left)s more time(s) tonight.", note=note, left=verdict.remaining)


def dataclasses_replace(verdict: Verdict, **changes: Any) -> Verdict:
    import dataclasses

    return dataclasses.replace(verdict, **changes)


def today(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()
