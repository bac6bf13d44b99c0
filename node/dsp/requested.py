"""What a consumer asks for in a ContractRequestMessage: the offer it accepts, and the
context its constraints state (the purpose it will use the data for, the recipient, the
place), so that the grant, the agreement, its tokens and enforcement all work with the
purpose the consumer declared and not with none.

An EDC connector sends the offer's whole policy back; a consumer that only names the
offer (`@id`) accepts it as it stands and declares nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from allmende.policies import terms
from allmende.policies.jsonld import from_jsonld, to_jsonld
from allmende.policies.model import (
    AnyConstraint,
    Constraint,
    LogicalConstraint,
    Policy,
    PolicyError,
    PolicyType,
    Ref,
    Rule,
)
from allmende.policies.terms import DSP_CONTEXT

RULE_KEYS = ("permission", "prohibition", "obligation", "odrl:permission", "odrl:prohibition")
"""An offer carrying any of these states its terms; one without names the offer only."""

_DECLARING = (terms.EQ, terms.IS_A, terms.IS_ANY_OF, terms.IS_PART_OF)
"""Operators with which a single right operand value says what the consumer will do."""


@dataclass(frozen=True)
class Requested:
    """The consumer's side of a request: its policy (None: the offer as it is) and what the
    policy's constraints declare."""

    policy: Policy | None = None
    purpose: str | None = None
    recipient: str | None = None
    place: str | None = None
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """What the consumer proved about itself when it asked (node.identity: the claims of
    its credentials, e.g. its Amt membership), for constraints on the assignee."""


def _leaves(constraints: tuple[AnyConstraint, ...]) -> Iterator[Constraint]:
    """Constraints that must all hold: top-level ones and the members of `and`."""
    for constraint in constraints:
        if isinstance(constraint, Constraint):
            yield constraint
        elif isinstance(constraint, LogicalConstraint) and constraint.operator == terms.AND:
            yield from _leaves(constraint.constraints)


def _declared(rules: tuple[Rule, ...], left_operand: str) -> str | None:
    """The one value the permissions' constraints on `left_operand` name, if exactly one."""
    values = {
        value.iri if isinstance(value, Ref) else str(value.value)
        for rule in rules
        for constraint in _leaves(rule.constraints)
        if constraint.left_operand == left_operand
        and constraint.operator in _DECLARING
        and len(constraint.right_operand) == 1
        for value in constraint.right_operand
    }
    return values.pop() if len(values) == 1 else None


def _readable_context(context: Any) -> list[Any]:
    """The message's context as far as it can bear on the offer: the DSP context and inline
    definitions. Other remote contexts (EDC adds `https://w3id.org/edc/dspace/v0.0.1`) are
    left out: the DSP context is protected, so they cannot change its terms, and a key
    only they could define stays unknown, which the reader refuses."""
    entries = context if isinstance(context, list) else [context]
    return [DSP_CONTEXT, *(entry for entry in entries if isinstance(entry, dict))]


def _unquoted(value: Any) -> Any:
    """EDC 0.15 sends an IRI right operand as the JSON text of `{"@id": ...}`: the object."""
    if isinstance(value, dict):
        return {
            key: _unquoted(_operand(item) if key.endswith("rightOperand") else item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_unquoted(item) for item in value]
    return value


def _operand(value: Any) -> Any:
    return [_parsed(item) for item in value] if isinstance(value, list) else _parsed(value)


def _parsed(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("{") and '"@id"' in value:
        try:
            found = json.loads(value)
        except ValueError:
            return value
        if isinstance(found, dict) and set(found) == {"@id"} and isinstance(found["@id"], str):
            return found
    return value


def read_request(
    offer: Mapping[str, Any],
    context: Any = DSP_CONTEXT,
    attributes: Mapping[str, Any] | None = None,
) -> Requested:
    """The terms of a request's offer; raises PolicyError (naming the field) if its policy
    cannot be read. `attributes`: what the consumer proved about itself."""
    proved = dict(attributes or {})
    if not any(key in offer for key in RULE_KEYS):
        return Requested(attributes=proved)
    document = _unquoted({**offer, "@type": "Offer"})
    policy = from_jsonld({"@context": _readable_context(context), **document})
    return Requested(
        policy=policy,
        purpose=_declared(policy.permissions, terms.PURPOSE),
        recipient=_declared(policy.permissions, terms.RECIPIENT),
        place=_declared(policy.permissions, terms.SPATIAL),
        attributes=proved,
    )


def stored(body: Mapping[str, Any], attributes: Mapping[str, Any] | None = None) -> str:
    """The request's offer as the negotiation keeps it, with the context to read it by and
    what the consumer proved when it asked."""
    kept = {"@context": body.get("@context", DSP_CONTEXT), "offer": body["offer"]}
    return json.dumps({**kept, "attributes": dict(attributes or {})})


def load(received: str | None) -> Requested:
    """The stored request's terms (a process from before they were kept: none)."""
    if not received:
        return Requested()
    kept = json.loads(received)
    return read_request(kept["offer"], kept["@context"], kept.get("attributes"))


def _rules_only(policy: Policy) -> Any:
    """The policy's rules as JSON, without what DSP adds (ids, parties, target, time) and
    without titles and descriptions: words for people, which EDC does not keep."""
    bare = dataclasses.replace(
        policy,
        uid=None,
        type=PolicyType.SET,
        assigner=None,
        assignee=None,
        target=None,
        timestamp=None,
        title=(),
        description=(),
    )
    return _wordless(to_jsonld(bare, with_context=False))


def _wordless(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _wordless(item)
            for key, item in value.items()
            if not key.endswith(("title", "description"))
        }
    if isinstance(value, list):
        return [_wordless(item) for item in value]
    return value


def differences(requested: Policy, offered: Policy) -> str | None:
    """None when the request asks for exactly the offer's rules, else what differs: the
    agreement repeats the offer, and a consumer such as EDC refuses an agreement that is
    not the policy it asked for."""
    mine, theirs = _rules_only(offered), _rules_only(requested)
    changed = sorted(
        key
        for key in set(mine) | set(theirs)
        if key != "@type" and mine.get(key) != theirs.get(key)
    )
    if not changed:
        return None
    return (
        f"the requested policy differs from the offer in {', '.join(changed)}; "
        "request the offer as the catalog states it"
    )


__all__ = ["PolicyError", "Requested", "differences", "load", "read_request", "stored"]
