"""What negotiations and transfers share: state changes under a lock, and reactions in order.

A consumer's message and the provider's own reactions may arrive at the same process at
once; each change is a compare-and-set of the state under the process's lock, so the
state machine sees them one after the other. Reactions run as tasks started by the state
change that triggers them (never by polling), after the consumer has had its answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlmodel import Session, col, select

from allmende.node.auth import mint_token
from allmende.node.dsp.callbacks import NOT_YET, CallbackFailed, Sender
from allmende.node.dsp.messages import DspError, message
from allmende.node.dsp.models import PROVIDER, Negotiation, Transfer
from allmende.node.dsp.plans import PAUSE_SECONDS, Plans
from allmende.node.dsp.states import (
    NEGOTIATION,
    NEGOTIATION_FINAL,
    NEGOTIATION_REPEATS,
    TRANSFER,
    TRANSFER_FINAL,
    Step,
    next_state,
)
from allmende.node.runtime import Node

log = logging.getLogger(__name__)
Row = TypeVar("Row", Negotiation, Transfer)


class Processes(ABC, Generic[Row]):
    """The provider's side of one kind of process (negotiation or transfer)."""

    model: type[Row]
    table: dict[str, Step]
    final: frozenset[str]
    area: str
    """The path segment of the process kind: `negotiations` or `transfers`."""
    process_type: str
    termination_type: str
    terminate_step = "terminate"
    role = PROVIDER
    plan_key: str
    """The row's field that selects its plan: dataset_id or agreement_id."""

    def __init__(self, node: Node, plans: Plans, sender: Sender) -> None:
        self.node = node
        self.plans = plans
        self.sender = sender
        self._locks: dict[str, asyncio.Lock] = {}
        self._beginning = asyncio.Lock()
        """One first message at a time: looked up and inserted in turn (they are rare)."""
        self._tasks: set[asyncio.Task[None]] = set()

    def _lock(self, pid: str) -> asyncio.Lock:
        return self._locks.setdefault(pid, asyncio.Lock())

    def _load(self, pid: str) -> Row | None:
        with Session(self.node.engine) as session:
            return session.get(self.model, pid)

    async def get(self, participant: str, pid: str) -> Row:
        """The process, if it is this participant's; others' processes do not exist for them."""
        row = await asyncio.to_thread(self._load, pid)
        if row is None or row.role != self.role or row.participant != participant:
            raise DspError(404, f"no process {pid!r} of yours here", code="NotFound")
        return row

    async def begin(
        self, participant: str, consumer_pid: str, make: Callable[[], Awaitable[Row]]
    ) -> tuple[Row, bool]:
        """The process a consumer's first message begins (`make` checks and inserts it),
        or the one it began already, and whether it is new: a consumer that did not hear
        the answer in time sends the same message again (EDC does, when busy), and a second
        process for it would run its own plan beside the first."""
        async with self._beginning:
            found = await asyncio.to_thread(self._begun, participant, consumer_pid)
            if found is not None:
                return found, False
            return await make(), True

    def _begun(self, participant: str, consumer_pid: str) -> Row | None:
        model: Any = self.model
        with Session(self.node.engine) as session:
            query = select(model).where(
                col(model.role) == self.role,
                col(model.participant) == participant,
                col(model.consumer_pid) == consumer_pid,
                col(model.state) != "TERMINATED",  # one that ended may be begun anew
            )
            return session.exec(query).first()

    async def insert(self, row: Row) -> Row:
        def save() -> Row:
            with Session(self.node.engine) as session:
                session.add(row)
                session.commit()
                session.refresh(row)
                return row

        return await asyncio.to_thread(save)

    repeats: ClassVar[dict[str, frozenset[str]]] = {}
    """Steps whose message is acknowledged again in these states (states.NEGOTIATION_REPEATS)."""

    async def move(
        self, pid: str, step: str, *, participant: str | None = None, **changes: Any
    ) -> Row:
        """Take `step` if the state machine allows it now; raise DspError 400 if not, and
        AlreadyTaken if the step's message came again for a step already taken."""
        async with self._lock(pid):
            row = await (
                self.get(participant, pid)
                if participant is not None
                else asyncio.to_thread(self._load, pid)
            )
            if row is None:
                raise DspError(404, f"no process {pid!r}", code="NotFound")
            target = next_state(self.table, step, row.state)
            if target is None and row.state in self.repeats.get(step, ()):
                raise AlreadyTaken(row)
            if target is None:
                raise DspError(
                    400,
                    f"{step} is not possible in state {row.state}",
                    code="InvalidStateTransition",
                    pids=row.pids,
                )

            moved = await self._write(pid, state=target, **changes)
            if target in self.final:
                self._locks.pop(pid, None)
            return moved

    async def record(self, pid: str, **changes: Any) -> Row:
        """Change what the process knows (not its state), in turn with its state changes."""
        async with self._lock(pid):
            return await self._write(pid, **changes)

    async def _write(self, pid: str, **changes: Any) -> Row:
        def update() -> Row:
            with Session(self.node.engine) as session:
                current = session.get(self.model, pid)
                if current is None:
                    raise DspError(404, f"no process {pid!r}", code="NotFound")
                current.updated = datetime.now(UTC)
                for name, value in changes.items():
                    setattr(current, name, value)
                session.add(current)
                session.commit()
                session.refresh(current)
                return current

        return await asyncio.to_thread(update)

    def plan(self, row: Row, trigger: str) -> tuple[str, ...]:
        """The actions the node's plan names for this process reaching `trigger`."""
        choose = self.plans.negotiation if self.area == "negotiations" else self.plans.transfer
        return choose(getattr(row, self.plan_key), trigger, consumer=self.role != PROVIDER)

    def react(self, pid: str, actions: tuple[str, ...]) -> None:
        """Run the plan's actions for a state change, one after the other, in the background."""
        if actions:
            self._spawn(self._run(pid, actions))

    async def _run(self, pid: str, actions: tuple[str, ...]) -> None:
        for action in actions:
            try:
                await self.act(pid, action)
            except DspError as exc:
                log.info("reaction %s on %s stopped: %s", action, pid, exc)
                return
            except Exception:
                log.exception("reaction %s on %s failed", action, pid)
                return

    async def act(self, pid: str, action: str) -> None:
        if action == "pause":
            await asyncio.sleep(PAUSE_SECONDS)
            return
        row = await asyncio.to_thread(self._load, pid)
        if row is not None and row.state not in self.final:
            await self.do(row, action)

    @abstractmethod
    async def do(self, row: Row, action: str) -> None:
        """One action of a plan other than a pause, on a process that is still open."""

    def repeated(self, row: Row) -> None:
        """After answering a repeated message (AlreadyTaken), in the background: send again
        what the counterpart may have missed."""
        self._spawn(self.again(row))

    async def again(self, row: Row) -> None:
        """What a repeated message is answered with besides 200 (nothing by default)."""

    async def terminate(self, row: Row, reason: str) -> None:
        row = await self.move(row.pid, self.terminate_step, reason=reason)
        await self.terminated(row)
        await self.send(
            row,
            "termination",
            self.termination_type,
            code="Terminated",
            reason=[reason],
            notify_failure=False,
        )

    async def terminated(self, row: Row) -> None:
        """What else ends with the process."""

    async def send(
        self,
        row: Row,
        path: str,
        type_: str,
        *,
        notify_failure: bool = True,
        again: frozenset[int] = NOT_YET,
        **fields: Any,
    ) -> None:
        """Post a message to the counterpart; one that cannot take it ends the process.
        `again`: the answers after which it is offered again (callbacks.NOT_YET)."""
        body = message(type_, **row.pids, **fields)
        url = f"{row.callback}/{self.area}/{row.peer_pid}/{path}"
        try:
            await self.sender.post(url, body, token=self.token(row), again=again)
        except (TimeoutError, CallbackFailed, OSError) as exc:
            log.warning("%s for %s not delivered: %s", type_, row.pid, exc)
            if notify_failure:
                await self.terminate(row, f"the consumer did not take {type_}: {exc}")

    def token(self, row: Row) -> str:
        """Who sends: the node, by a short token its JWKS verifies, for the counterpart."""
        node = self.node
        return mint_token(
            node.key, row.participant, role="participant", subject=node.id, issuer=node.id, ttl=300
        )

    def describe(self, row: Row) -> dict[str, Any]:
        return message(self.process_type, **row.pids, state=row.state)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class AlreadyTaken(Exception):
    """The counterpart's message repeats a step the process has already taken."""

    def __init__(self, row: Any) -> None:
        super().__init__(f"already {row.state}")
        self.row = row


class NegotiationProcesses(Processes[Negotiation]):
    model = Negotiation
    table = NEGOTIATION
    repeats = NEGOTIATION_REPEATS
    final = NEGOTIATION_FINAL
    area = "negotiations"
    plan_key = "dataset_id"
    process_type = "ContractNegotiation"
    termination_type = "ContractNegotiationTerminationMessage"


class TransferProcesses(Processes[Transfer]):
    model = Transfer
    table = TRANSFER
    final = TRANSFER_FINAL
    area = "transfers"
    plan_key = "agreement_id"
    process_type = "TransferProcess"
    termination_type = "TransferTerminationMessage"


def new_pid() -> str:
    """Process ids are URNs: the DSP context reads `providerPid` as an IRI."""
    return f"urn:uuid:{uuid.uuid4()}"
