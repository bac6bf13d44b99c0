"""ODRL 2.2 policy inheritance (`inheritFrom`) and shared policy-level properties.

A child policy takes on everything of its parents (model, section 2.9): their rules, their
policy-level assets and parties, their profiles and conflict terms. Parents are looked up
by the caller (`parents`), never fetched, and may inherit in turn; a cycle is an error.
Where the merged policies disagree on `conflict`, the result is `invalid`: the model voids
a policy with several conflict terms wherever its rules conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from allmende.policies.model import ConflictTerm, Policy, PolicyError, Rule

Lookup = Mapping[str, Policy] | Callable[[str], Policy | None]
_SHARED = ("assigner", "assignee", "target")


def inherit(child: Policy, parents: Lookup) -> Policy:
    """`child` with its parents merged in, ready to evaluate (no `inherit_from` left)."""
    return _resolve(child, parents, frozenset({child.uid or ""}))


def _resolve(child: Policy, parents: Lookup, seen: frozenset[str]) -> Policy:
    if not child.inherit_from:
        return child
    found: list[Policy] = []
    for uid in child.inherit_from:
        if uid in seen:
            raise PolicyError("inheritFrom", f"inheritance from {uid} is circular")
        parent = parents.get(uid) if isinstance(parents, Mapping) else parents(uid)
        if parent is None:
            raise PolicyError("inheritFrom", f"parent policy {uid} is not known")
        found.append(_resolve(parent, parents, seen | {uid}))
    family = [child, *found]
    rules = {
        name: [(policy, rule) for policy in family for rule in getattr(policy, name)]
        for name in ("permissions", "prohibitions", "obligations")
    }
    shared: dict[str, str | None] = {}
    for name in _SHARED:
        values = list(dict.fromkeys(v for p in family if (v := getattr(p, name)) is not None))
        if len(values) > 1:
            # Several policy-level values: each rule without its own gets one copy per value.
            for kind, pairs in rules.items():
                rules[kind] = [
                    (
                        policy,
                        replace(rule, **{name: value}) if getattr(rule, name) is None else rule,
                    )
                    for policy, rule in pairs
                    for value in (values if getattr(rule, name) is None else [None])
                ]
        shared[name] = values[0] if len(values) == 1 else None
    conflicts = {p.conflict for p in family if p.conflict is not None}
    return replace(
        child,
        inherit_from=(),
        profile=tuple(dict.fromkeys(uri for p in family for uri in p.profile)),
        conflict=conflicts.pop()
        if len(conflicts) == 1
        else (ConflictTerm.INVALID if conflicts else None),
        permissions=tuple(rule for _, rule in rules["permissions"]),
        prohibitions=tuple(rule for _, rule in rules["prohibitions"]),
        obligations=tuple(rule for _, rule in rules["obligations"]),
        assigner=shared["assigner"],
        assignee=shared["assignee"],
        target=shared["target"],
    )


def atomic(policy: Policy) -> Policy:
    """The policy with its shared assigner, assignee and target copied into every top-level
    rule that names none (model, 2.7.1), which is how the model prints expanded policies."""

    def push(rule: Rule) -> Rule:
        missing = {n: getattr(policy, n) for n in _SHARED if getattr(rule, n) is None}
        return replace(rule, **{n: v for n, v in missing.items() if v is not None})

    return replace(
        policy,
        assigner=None,
        assignee=None,
        target=None,
        permissions=tuple(push(r) for r in policy.permissions),
        prohibitions=tuple(push(r) for r in policy.prohibitions),
        obligations=tuple(push(r) for r in policy.obligations),
    )
