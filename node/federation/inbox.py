"""The inbox: every peer event passes here, whichever way it came (feed or Kafka).

An event is taken only when its source is a trusted peer, its signature (or its place in
a signed batch) verifies against that peer's keys, its type is one the federation shares,
and everything it names lies in the peer's own namespace. Whatever fails is refused and
counted; an event already in the log (a replay, a redelivery) is dropped and counted.
Accepted events, the pooled catalog rows and the transport's new position are committed in
one transaction, so a crash repeats work but never skips or doubles it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session

from allmende.node.apps import federation as app_events
from allmende.node.catalog.models import PUBLISHED, RETRACTED
from allmende.node.catalog.projection import RETRACTED as RETRACTED_EVENT
from allmende.node.catalog.rdf import dataset_triples
from allmende.node.db import transaction
from allmende.node.events.envelope import check_envelope, parse_time
from allmende.node.events.log import EventLog, SignedEvent
from allmende.node.events.signing import VerificationError, batch_statement, verify_event
from allmende.node.federation.models import PooledDataset, Position
from allmende.node.federation.sharing import APPS, CATALOG, OBSERVATIONS, REPORTS, stream_of
from allmende.node.federation.trust import PeerEntry, TrustList
from allmende.node.reports import events as report_events
from allmende.node.runtime import Node
from allmende.policies import jws

log = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, OWN = "accepted", "duplicate", "own"
UNKNOWN_SIGNER, UNSIGNED, BAD_SIGNATURE = "unknown-signer", "unsigned", "bad-signature"
UNSUPPORTED, OUT_OF_NAMESPACE, MALFORMED = "unsupported-type", "out-of-namespace", "malformed"


class Refused(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class Receipt:
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        return self.counts[ACCEPTED]

    @property
    def refused(self) -> int:
        return sum(
            n for reason, n in self.counts.items() if reason not in {ACCEPTED, DUPLICATE, OWN}
        )


class _BatchChecks:
    """Each batch statement is verified once per bundle, however many members it has."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str], str | None] = {}

    def check(self, signed: SignedEvent, keys: Mapping[str, Ed25519PublicKey]) -> None:
        batch = signed.batch
        assert batch is not None
        key = (batch.id, batch.signature)
        if key not in self._done:
            try:
                jws.verify_detached(batch_statement(batch.id, batch.digests), batch.signature, keys)
                self._done[key] = None
            except jws.SignatureError as exc:
                self._done[key] = str(exc)
        if self._done[key] is not None:
            raise VerificationError(f"batch {batch.id!r}: {self._done[key]}")
        if not 0 <= batch.index < len(batch.digests) or (
            jws.digest(signed.event) != batch.digests[batch.index]
        ):
            raise VerificationError(f"batch {batch.id!r}: event {batch.index} does not match")


def _check_namespace(signed: SignedEvent, peer: PeerEntry) -> None:
    event = signed.event
    data = event.get("data")
    if not isinstance(data, dict):
        raise Refused(MALFORMED, "event data must be an object")
    stream = stream_of(event["type"])
    if stream == CATALOG:
        if data.get("id") != event.get("subject") or not isinstance(data.get("base"), str):
            raise Refused(MALFORMED, "a catalog event names its dataset and its base")
        if not peer.owns(data["base"]):
            raise Refused(OUT_OF_NAMESPACE, f"base {data['base']!r} is not the peer's")
        if event["type"] != RETRACTED_EVENT:
            try:
                dataset_triples(data, complete=False)
            except Exception as exc:  # a description our catalog cannot read is refused whole
                raise Refused(MALFORMED, f"unreadable dataset description: {exc}") from exc
    elif stream == OBSERVATIONS:
        graph = data.get("graph")
        if data.get("dataset") != event.get("subject") or not isinstance(graph, str):
            raise Refused(MALFORMED, "an observation event names its dataset and its graph")
        if not peer.owns(graph):
            raise Refused(OUT_OF_NAMESPACE, f"graph {graph!r} is not the peer's")
        if "content" in data and not isinstance(data["content"], str):
            raise Refused(MALFORMED, "content must be N-Triples text")
    elif stream == REPORTS:
        try:
            report_events.check(event, peer.owns)
        except ValueError as exc:
            raise Refused(MALFORMED, str(exc)) from None
    elif stream == APPS:
        try:
            app_events.check(event, peer.owns)
        except ValueError as exc:
            raise Refused(MALFORMED, str(exc)) from None
    else:
        raise Refused(UNSUPPORTED, f"event type {event['type']!r} is not shared")


def _pooled_row(event: dict[str, Any]) -> PooledDataset:
    data = event["data"]
    retracted = event["type"] == RETRACTED_EVENT
    title = data.get("title") or {}
    return PooledDataset(
        origin=event["source"],
        id=data["id"],
        base=data["base"],
        status=RETRACTED if retracted else PUBLISHED,
        title=(title.get("de") or title.get("en") or data["id"])[:500]
        if isinstance(title, dict)
        else str(title)[:500],
        document=json.dumps(data, ensure_ascii=False),
        event_id=event["id"],
        modified=parse_time(event["time"]),
    )


class Inbox:
    def __init__(self, node: Node, trust: TrustList) -> None:
        self.node = node
        self.trust = trust
        self.totals: Counter[tuple[str, str]] = Counter()
        """(peer id or "unknown", outcome) -> events, since start."""

    def check(self, events: Sequence[SignedEvent]) -> tuple[list[SignedEvent], Receipt]:
        """Everything that can be decided without the database. CPU-bound: call off-loop."""
        peers = {peer.id: peer for peer in self.trust.peers()}
        receipt = Receipt()
        batches = _BatchChecks()
        passed: list[SignedEvent] = []
        for signed in events:
            try:
                check_envelope(signed.event)
            except ValueError as exc:
                self._count(receipt, "unknown", MALFORMED, str(exc))
                continue
            source = signed.event["source"]
            if source == self.node.id:
                receipt.counts[OWN] += 1
                continue
            peer = peers.get(source)
            if peer is None:
                self._count(receipt, "unknown", UNKNOWN_SIGNER, f"{source!r} is not trusted")
                continue
            try:
                if signed.signature is not None:
                    verify_event(signed.event, signed.signature, peer.keys)
                elif signed.batch is not None:
                    batches.check(signed, peer.keys)
                else:
                    raise Refused(UNSIGNED, "the event carries no signature")
                _check_namespace(signed, peer)
            except VerificationError as exc:
                self._count(receipt, peer.id, BAD_SIGNATURE, str(exc))
                continue
            except Refused as exc:
                self._count(receipt, peer.id, exc.reason, str(exc))
                continue
            passed.append(signed)
        return passed, receipt

    def _count(self, receipt: Receipt, peer: str, reason: str, detail: str) -> None:
        receipt.counts[reason] += 1
        self.totals[(peer, reason)] += 1
        log.warning(
            "refused a federation event",
            extra={"peer": peer, "reason": reason, "detail": detail[:300]},
        )

    def store(
        self,
        events: Sequence[SignedEvent],
        receipt: Receipt,
        position: tuple[str, int] | None = None,
    ) -> None:
        """Append what passed, with pooled catalog rows and the position, in one transaction."""
        with transaction(self.node.engine) as session:
            for _, run in groupby(events, key=lambda s: stream_of(s.event["type"]) == REPORTS):
                self._append(session, list(run), receipt)
            if position is not None:
                _save_position(session, *position)

    def _append(self, session: Session, run: list[SignedEvent], receipt: Receipt) -> None:
        """A run of reports event by event (receiving one may log an event of this node's
        right after it); any other run in one go."""
        reports = stream_of(run[0].event["type"]) == REPORTS
        records = None if reports else EventLog.append_foreign_many(session, run)
        for i, signed in enumerate(run):
            record = EventLog.append_foreign(session, signed) if records is None else records[i]
            if record is None:
                receipt.counts[DUPLICATE] += 1
                self.totals[(signed.event["source"], DUPLICATE)] += 1
                continue
            receipt.counts[ACCEPTED] += 1
            self.totals[(signed.event["source"], ACCEPTED)] += 1
            if reports:
                report_events.receive(
                    session,
                    signed.event,
                    self.node.id,
                    self.node.log.append,
                    self.node.base_url,
                    key=self.node.key,  # opens reports sealed to this village
                )
            elif stream_of(signed.event["type"]) == CATALOG:
                session.merge(_pooled_row(signed.event))

    async def _fetch_new_keys(self, events: Sequence[SignedEvent]) -> None:
        """Peers pinned by JWKS URL: fetch their keys when a proof names an unknown key id."""
        peers = {peer.id: peer for peer in await asyncio.to_thread(self.trust.peers)}
        wanted: dict[str, PeerEntry] = {}
        for signed in events:
            source = signed.event.get("source") if isinstance(signed.event, dict) else None
            kid = _key_id(signed)
            if not isinstance(source, str) or source in wanted or kid is None:
                continue
            peer = peers.get(source)
            if peer is not None and peer.jwks_url and kid not in peer.keys:
                wanted[source] = peer
        if wanted:
            async with aiohttp.ClientSession() as session:
                for peer in wanted.values():
                    await self.trust.refresh_keys(peer, session)

    async def receive(
        self, events: Sequence[SignedEvent], position: tuple[str, int] | None = None
    ) -> Receipt:
        """Check, store and project a bundle; returns once it is committed."""
        await self._fetch_new_keys(events)
        passed, receipt = await asyncio.to_thread(self.check, events)
        if passed or position is not None:
            await self.node.write(lambda: self.store(passed, receipt, position))
        if receipt.accepted:
            self.node.project_soon()
        return receipt


def _key_id(signed: SignedEvent) -> str | None:
    token = signed.signature or (signed.batch.signature if signed.batch else None)
    try:
        header = json.loads(jws.b64url_decode(str(token).split(".")[0])) if token else None
    except ValueError:
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def load_position(node: Node, name: str) -> int:
    with Session(node.engine) as session:
        row = session.get(Position, name)
        return row.seq if row is not None else 0


def _save_position(session: Session, name: str, seq: int) -> None:
    session.merge(Position(name=name, seq=seq))
