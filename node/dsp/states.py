"""The two state machines of the Dataspace Protocol, as tables the provider checks against.

Each step names who takes it (the consumer by a message, the provider by a reaction) and
the states it may start from; anything else is refused with the protocol's error and
changes nothing. Terminal states accept no step at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    target: str
    allowed_from: frozenset[str]


def _step(target: str, *sources: str) -> Step:
    return Step(target, frozenset(sources))


NEGOTIATION_FINAL = frozenset({"FINALIZED", "TERMINATED"})
_NEGOTIATION_OPEN = ("REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED")

NEGOTIATION: dict[str, Step] = {
    # what the consumer sends
    "request": _step("REQUESTED", "OFFERED"),
    "accept": _step("ACCEPTED", "OFFERED"),
    "verify": _step("VERIFIED", "AGREED"),
    "consumer-terminate": _step("TERMINATED", *_NEGOTIATION_OPEN),
    # what the provider does in reaction
    "offer": _step("OFFERED", "REQUESTED"),
    "agree": _step("AGREED", "REQUESTED", "ACCEPTED"),
    "finalize": _step("FINALIZED", "VERIFIED"),
    "terminate": _step("TERMINATED", *_NEGOTIATION_OPEN),
}

NEGOTIATION_REPEATS: dict[str, frozenset[str]] = {
    "verify": frozenset({"VERIFIED", "FINALIZED"}),
    "agree": frozenset({"AGREED", "VERIFIED"}),
}
"""Messages a counterpart may send again for a step already taken, and the states in which
they are acknowledged instead of refused. A counterpart that did not get our answer in time
sends its message again: Eclipse EDC, when busy, takes the node's agreement twice and so
verifies twice; the second verification, refused on a finalized negotiation, made EDC
terminate a negotiation that had succeeded on both sides."""

TRANSFER_FINAL = frozenset({"COMPLETED", "TERMINATED"})

TRANSFER: dict[str, Step] = {
    "consumer-start": _step("STARTED", "SUSPENDED"),
    "consumer-complete": _step("COMPLETED", "STARTED"),
    "consumer-suspend": _step("SUSPENDED", "STARTED"),
    "consumer-terminate": _step("TERMINATED", "REQUESTED", "STARTED", "SUSPENDED"),
    "start": _step("STARTED", "REQUESTED", "SUSPENDED"),
    "complete": _step("COMPLETED", "STARTED"),
    "suspend": _step("SUSPENDED", "STARTED"),
    "terminate": _step("TERMINATED", "REQUESTED", "STARTED", "SUSPENDED"),
}


def next_state(table: dict[str, Step], step: str, current: str) -> str | None:
    """The state after `step`, or None when the step is not allowed from `current`."""
    rule = table[step]
    return rule.target if current in rule.allowed_from else None
