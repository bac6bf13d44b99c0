"""Who may switch, when, how often, where: the municipality's signed ODRL policy.

The policy permits the action `allmende:switch` (vocab/allmende.ttl) with ODRL's own
constraints, which `policies.evaluate` decides:

- `count` (lteq/lt): presses per person per night, the node counting the night from
  noon to noon in the village's time zone; the extension of a lit window counts too;
- `spatial` (eq/isAnyOf/isNoneOf): the segment ids the permission covers (none: all);
- the permission's `assignee`: `allmende:residents` (everyone with a resident account of
  this node), a person's IRI (`{base}/residents/{name}`, one permission each for a list),
  or none (anyone, also without an account).

Time of day has no ODRL left operand, so the node reads one of its own:
`allmende:timeOfDay isPartOf "22:00/06:00"` (local time, may span midnight), as a
constraint of a permission itself. The node decides it here and hands the rest of the
rule to the evaluator; anywhere else (inside or/xone, a refinement) it stays unknown to
the evaluator and so never permits.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from allmende.node.messages import said, say
from allmende.policies import (
    Literal,
    Outcome,
    Policy,
    Request,
    evaluate,
    from_jsonld,
    policy_problems,
)
from allmende.policies.model import Constraint, PolicyError
from allmende.policies.signing import SignatureError, sign_policy, signed_policy, verify_document
from allmende.policies.terms import COUNT, LT, LTEQ, allmende

SWITCH = allmende("switch")
TIME_OF_DAY = allmende("timeOfDay")
RESIDENTS = allmende("residents")
IS_PART_OF = "http://www.w3.org/ns/odrl/2/isPartOf"


class PolicyRefused(ValueError):
    """A policy the node will not install; the message says why."""


@dataclass(frozen=True)
class Person:
    """Who pressed: `subject` is stable for one person (account, button, phone number)."""

    subject: str
    resident: bool = False
    iri: str | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    """A Message: said to residents in German, to apps in English or German as they ask."""
    remaining: int | None = None  # presses left tonight after this one, if counted

    @property
    def reason_de(self) -> str:
        return said(self.reason, "de")

    @property
    def reason_en(self) -> str:
        return said(self.reason, "en")


def _window(value: Any) -> tuple[time, time]:
    if not isinstance(value, Literal) or not isinstance(value.value, str):
        raise PolicyRefused('timeOfDay needs a literal like "22:00/06:00"')
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.value.split("/"))
    except ValueError:
        raise PolicyRefused(f'timeOfDay {value.value!r} is not like "22:00/06:00"') from None
    return start, end


def within(moment: time, window: tuple[time, time]) -> bool:
    start, end = window
    return start <= moment < end if start <= end else moment >= start or moment < end


@dataclass(frozen=True)
class SwitchPolicy:
    """A checked policy: the windows of each permission and the rest for the evaluator."""

    document: dict[str, Any]
    policy: Policy
    windows: tuple[tuple[tuple[time, time], ...], ...]  # per permission
    limits: tuple[int | None, ...]  # per permission: presses per night

    @classmethod
    def read(cls, document: Mapping[str, Any]) -> SwitchPolicy:
        try:
            policy = from_jsonld(dict(document))
        except (
            PolicyError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            RecursionError,
        ) as exc:
            raise PolicyRefused(f"not an ODRL policy: {exc}"[:500]) from None
        permissions, windows, limits = [], [], []
        for rule in policy.permissions:
            own = tuple(
                c
                for c in rule.constraints
                if isinstance(c, Constraint) and c.left_operand == TIME_OF_DAY
            )
            for constraint in own:
                if constraint.operator != IS_PART_OF or len(constraint.right_operand) != 1:
                    raise PolicyRefused("timeOfDay takes isPartOf and one window")
            windows.append(tuple(_window(c.right_operand[0]) for c in own))
            rest = tuple(c for c in rule.constraints if c not in own)
            limits.append(_limit(rest))
            permissions.append(dataclasses.replace(rule, constraints=rest))
        if not any(rule.action == SWITCH for rule in policy.permissions):
            raise PolicyRefused("the policy permits no allmende:switch")
        rest_policy = dataclasses.replace(policy, permissions=tuple(permissions))
        problems = policy_problems(rest_policy)
        if problems:
            raise PolicyRefused("; ".join(problems))
        return cls(dict(document), rest_policy, tuple(windows), tuple(limits))

    def decide(self, person: Person, segment: str, local: datetime, used: int) -> Verdict:
        """May `person` switch `segment` now, having pressed `used` times tonight?"""
        request = Request(
            action=SWITCH,
            assignee=person.iri or f"urn:allmende:person:{person.subject}",
            attributes={"memberOf": [RESIDENTS]} if person.resident else {},
            target=segment,
            place=segment,
            use_count=used + 1,
            time=local,
        )
        current = self._at(local)
        if current is None:
            return self._time_refusal()
        decision = evaluate(current, request)
        if decision.outcome is Outcome.PERMIT:
            limit = self._limit_for(local)
            left = None if limit is None else max(0, limit - used - 1)
            if left is None:
                return Verdict(True, say("Switching the lights on."))
            on = say("Switching the lights on. %(left)s more time(s) tonight.", left=left)
            return Verdict(True, on, left)
        return self._why(current, person, local, request)

    def _at(self, local: datetime) -> Policy | None:
        """The policy with the permissions whose time-of-day windows hold now (None: none)."""
        moment = local.timetz().replace(tzinfo=None)
        kept = tuple(
            rule
            for rule, windows in zip(self.policy.permissions, self.windows, strict=True)
            if all(within(moment, w) for w in windows)
        )
        if not kept:
            return None
        return dataclasses.replace(self.policy, permissions=kept)

    def _limit_for(self, local: datetime) -> int | None:
        moment = local.timetz().replace(tzinfo=None)
        found = [
            limit
            for limit, windows in zip(self.limits, self.windows, strict=True)
            if all(within(moment, w) for w in windows)
        ]
        return None if not found or None in found else max(x for x in found if x is not None)

    def _time_refusal(self) -> Verdict:
        spans = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for windows in self.windows for a, b in windows)
        return Verdict(False, say("Not possible at this time (allowed: %(spans)s).", spans=spans))

    def _why(self, current: Policy, person: Person, local: datetime, request: Request) -> Verdict:
        """The plain reason, found by asking again with one condition lifted at a time."""
        if evaluate(current, dataclasses.replace(request, use_count=1)).outcome is Outcome.PERMIT:
            limit = self._limit_for(local)
            again = say(
                "Not possible again tonight: at most %(limit)s times per night.", limit=limit
            )
            return Verdict(False, again, 0)
        resident = dataclasses.replace(request, attributes={"memberOf": [RESIDENTS]})
        if not person.resident and evaluate(current, resident).outcome is Outcome.PERMIT:
            return Verdict(False, say("Only for residents who are signed in."))
        return Verdict(False, say("You may not switch this segment."))


def _limit(constraints: tuple[Any, ...]) -> int | None:
    limits = []
    for c in constraints:
        if isinstance(c, Constraint) and c.left_operand == COUNT and len(c.right_operand) == 1:
            value = c.right_operand[0]
            if isinstance(value, Literal) and isinstance(value.value, int | float):
                limits.append(int(value.value) - (1 if c.operator == LT else 0))
            if c.operator not in (LT, LTEQ):
                return None
    return min(limits) if limits else None


def sign(document: Mapping[str, Any], key: Any, kid: str) -> dict[str, Any]:
    """Check and sign a policy as the municipality (the node's key is the municipality's)."""
    SwitchPolicy.read(document)
    return sign_policy(dict(document), key, kid)


def verified(signed: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> SwitchPolicy:
    """A signed document checked against the node's keys, read."""
    try:
        verify_document(signed, keys)
        signed_policy(signed)
    except (SignatureError, PolicyError, ValueError) as exc:
        raise PolicyRefused(f"signature: {exc}") from None
    return SwitchPolicy.read(signed["policy"])


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True)
