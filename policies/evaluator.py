"""Decide a request against a policy: permit, deny or indeterminate, with duties and reasons.

Semantics (ODRL 2.2, made explicit where the spec leaves room):

- Only what a permission allows is allowed. A rule is about its action and every action
  that action includes, transitively (`odrl:includedIn` of the ODRL 2.2 Common Vocabulary:
  `use` covers `read`, `distribute`, `play` and so `display`, ...); a deprecated action
  means its replacement (`write` is `modify`). This holds for prohibitions too: a
  prohibition of `use` covers `print`.
- A rule is about its target, or every asset `partOf` it (an AssetCollection; the request
  names the collections its target belongs to), and about its assignee, or every party
  `memberOf`/`partOf` it (a PartyCollection). A collection's refinements must hold for the
  member: the target's own facts (`Request.target_attributes`), the assignee's attributes.
- Constraints are three-valued: a missing request value or a term we do not understand
  gives "cannot tell", which never becomes a permit.
- Conflicts follow the policy's `conflict` term: `perm` lets a permission win, `prohibit`
  lets a prohibition win, `invalid` - the ODRL 2.2 default when the policy is silent -
  voids the policy where a permission and a prohibition both apply to the request, so
  nothing is permitted (deny, with the reason). Conflicts are found per request: rules
  that never meet do not void each other. A prohibition also applies to a request for an
  action that `implies` the prohibited one (a profile's `odrl:implies`).
- A permit lists the duties to fulfil: the chosen permission's duties (nested duties and
  consequences included) and the policy's obligations. A duty's `elapsedTime` or
  `dateTime` upper bound becomes its due date; its other constraints decide whether it
  applies at all (when that cannot be told, the duty is kept).
- Duties have a state when the caller knows it (`Request.duty_state`, by the duty's
  reference): a duty not fulfilled leaves its permission unusable once it is due (no due
  date: at once), and the decision names it in `pending`, with the consequences that now
  apply too. Policy obligations are not pre-conditions of a permission: unfulfilled, they
  are reported in `pending` without blocking. A deny by a prohibition lists its
  `remedies`: what the assignee owes if they exercised the action anyway.
- Among several applicable permissions, the one with the fewest duties wins (then document
  order), so an Amt member is not asked for what a stranger must do.
- A policy that inherits from a parent (`inheritFrom`) decides nothing until the parent is
  merged in (`policies.inheritance.inherit`); one that `dct:isReplacedBy` another is void
  (the model: process the replacement instead), so it decides nothing either.

Policies are compiled once (and cached per policy object) so that a decision costs a few
microseconds: the node checks every download and every federated observation.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from allmende.policies.model import (
    Collection,
    ConflictTerm,
    Constraint,
    Literal,
    Policy,
    Ref,
    Rule,
    RuleKind,
)
from allmende.policies.operands import (
    Check,
    Env,
    action_iri,
    compile_constraint,
    due_from,
    label,
    short,
)
from allmende.policies.terms import (
    DISTRIBUTE,
    IS_REPLACED_BY,
    LT,
    ODRL,
    ODRL_ACTIONS,
    ActionVocabulary,
)
from allmende.policies.texts import say
from allmende.policies.values import parse_datetime
from allmende.vocab.messages import Message


class Outcome(StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    INDETERMINATE = "indeterminate"


@dataclass(frozen=True, slots=True)
class Request:
    """One exercise of an action, with the context the policy may ask about.

    `attributes` are verified facts about the assignee (`amtMembership`,
    `organisationType`, `memberOf`), each a string or a list of strings. `use_count`
    counts this exercise too (the 10th use has use_count 10). `agreement_start` defaults to
    the policy's `timestamp`. Naive datetimes are read as UTC.

    `target_part_of` are the asset collections the target is `partOf` (transitively, from
    the asset's metadata), `target_attributes` the target's own facts for a collection's
    refinements (`spatial`, `dateTime` as a datetime, others by name). `duty_state` maps a
    duty's reference (its uid, else its place such as `permission[0].duty[0]`) to whether
    it is fulfilled; a duty missing from it counts as agreed and not yet due.
    """

    action: str
    assignee: str | None = None
    target: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    purpose: str | None = None
    time: datetime | None = None
    place: str | None = None
    use_count: int | None = None
    agreement_start: datetime | None = None
    aggregated: bool | None = None
    recipient: str | None = None
    target_part_of: frozenset[str] = frozenset()
    target_attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    duty_state: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class DutyToFulfil:
    """A duty the assignee takes on with a permit.

    `duties` must be fulfilled first (a duty's own duties), `consequences` apply if this
    one is not. `conditions` are the duty's constraints that are not its due date,
    `refinements` narrow its action (pay 5 EUR), `parties` name whom it concerns
    (`attributedParty`, `compensatedParty`, ... as (function IRI, party IRI)).
    `before_use` marks a duty to fulfil before the permission is exercised (the model's
    `event lt policyUsage`): its state must be known for a permit.
    """

    action: str
    rule: str
    target: str | None = None
    due: datetime | None = None
    conditions: tuple[str, ...] = ()
    description: tuple[Literal, ...] = ()
    duties: tuple[DutyToFulfil, ...] = ()
    consequences: tuple[DutyToFulfil, ...] = ()
    refinements: tuple[str, ...] = ()
    parties: tuple[tuple[str, str], ...] = ()
    before_use: bool = False


_BEFORE_USE = Constraint(ODRL + "event", LT, (Ref(ODRL + "policyUsage"),))


def _before_use(constraint: Constraint) -> bool:
    """`event lt policyUsage`: the duty is done before the permission is exercised."""
    return (
        constraint.left_operand == _BEFORE_USE.left_operand
        and constraint.operator == LT
        and constraint.right_operand == _BEFORE_USE.right_operand
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome, the rules that decided it and why.

    `duties` are taken on with a permit; `pending` are duties known not to be fulfilled
    (on a deny: those that leave the permission unusable); `remedies` are what a deny's
    prohibitions require if the action is exercised anyway.
    """

    outcome: Outcome
    policy: str | None
    rules: tuple[str, ...] = ()
    duties: tuple[DutyToFulfil, ...] = ()
    reasons: tuple[str, ...] = ()
    pending: tuple[DutyToFulfil, ...] = ()
    remedies: tuple[DutyToFulfil, ...] = ()

    @property
    def permitted(self) -> bool:
        return self.outcome is Outcome.PERMIT


class _Indeterminate(Exception):
    """A duty whose meaning or due date cannot be worked out for this request."""


class _Duty:
    __slots__ = (
        "action",
        "assignee",
        "before_use",
        "conditions",
        "consequences",
        "deadlines",
        "description",
        "duties",
        "gates",
        "parties",
        "problem",
        "ref",
        "refinements",
        "static",
        "target",
    )

    def __init__(self, rule: Rule, ref: str, assignee: str | None = None) -> None:
        self.ref = ref
        self.assignee = rule.assignee if rule.assignee is not None else assignee
        self.action = rule.action
        self.target = rule.target
        self.description = rule.description
        self.parties = rule.parties
        # A duty's refinements say what exactly to do (pay 5 EUR): shown, not decided.
        self.refinements = tuple(label(c) for c in rule.refinements)
        self.deadlines: list[Constraint] = []
        self.before_use = False
        gates: list[Check] = []
        for constraint in (*rule.refinements, *rule.constraints):
            if isinstance(constraint, Constraint) and due_from(constraint, None) is not False:
                self.deadlines.append(constraint)
            elif constraint == _BEFORE_USE or (
                isinstance(constraint, Constraint) and _before_use(constraint)
            ):
                self.before_use = True
            elif constraint not in rule.refinements:
                gates.append(compile_constraint(constraint))
        self.gates = tuple(gates)
        self.conditions = tuple(gate.label for gate in gates) + (
            (label(_BEFORE_USE),) if self.before_use else ()
        )
        self.duties = _duties(rule.duties, f"{ref}.duty")
        self.consequences = _duties(rule.consequences, f"{ref}.consequence")
        nested = (*self.duties, *self.consequences)
        self.problem: str | None = next(
            (f"{ref}: {gate.label}: {gate.problem}" for gate in gates if gate.problem),
            next((duty.problem for duty in nested if duty.problem), None),
        )
        # Most duties (attribute, inform) do not depend on the request: build them once.
        self.static: DutyToFulfil | None = None
        if not (self.problem or self.gates or self.deadlines) and all(d.static for d in nested):
            self.static = DutyToFulfil(
                action=self.action,
                rule=self.ref,
                target=self.target,
                conditions=self.conditions,
                description=self.description,
                duties=_statics(self.duties) or (),
                consequences=_statics(self.consequences) or (),
                refinements=self.refinements,
                parties=self.parties,
                before_use=self.before_use,
            )

    def fulfil(self, env: Env) -> DutyToFulfil | None:
        """The duty for this request, None when its constraints say it does not apply."""
        if self.static is not None:
            return self.static
        if self.problem:
            raise _Indeterminate(self.problem)
        if any(gate.test(env) is False for gate in self.gates):
            return None
        due: datetime | None = None
        for constraint in self.deadlines:
            moment = due_from(constraint, env.start)
            if not isinstance(moment, datetime):
                raise _Indeterminate(f"{self.ref}: due date needs the agreement start")
            due = moment if due is None else min(due, moment)
        return DutyToFulfil(
            action=self.action,
            rule=self.ref,
            target=self.target,
            due=due,
            conditions=self.conditions,
            description=self.description,
            duties=_fulfil_all(self.duties, env),
            consequences=_fulfil_all(self.consequences, env),
            refinements=self.refinements,
            parties=self.parties,
            before_use=self.before_use,
        )


def _refinements(collection: Collection | None) -> tuple[Check, ...]:
    if collection is None:
        return ()
    return tuple(compile_constraint(c) for c in collection.refinements)


def _duties(rules: tuple[Rule, ...], path: str, assignee: str | None = None) -> tuple[_Duty, ...]:
    return tuple(_Duty(rule, rule.uid or f"{path}[{i}]", assignee) for i, rule in enumerate(rules))


def _fulfil_all(duties: tuple[_Duty, ...], env: Env) -> tuple[DutyToFulfil, ...]:
    return tuple(d for d in (duty.fulfil(env) for duty in duties) if d is not None)


def _statics(duties: tuple[_Duty, ...]) -> tuple[DutyToFulfil, ...] | None:
    """The duties, if none of them depends on the request; else None."""
    statics = tuple(duty.static for duty in duties if duty.static is not None)
    return statics if len(statics) == len(duties) else None


class _Rule:
    __slots__ = (
        "assignee",
        "assignee_checks",
        "before_use",
        "checks",
        "duties",
        "permit_reason",
        "ref",
        "remedies",
        "static_duties",
        "target",
        "target_checks",
    )

    def __init__(self, rule: Rule, ref: str, policy: Policy) -> None:
        self.ref = ref
        self.target = rule.target if rule.target is not None else policy.target
        self.assignee = rule.assignee if rule.assignee is not None else policy.assignee
        self.checks = tuple(compile_constraint(c) for c in (*rule.refinements, *rule.constraints))
        self.target_checks = _refinements(rule.target_collection)
        self.assignee_checks = _refinements(rule.assignee_collection)
        self.duties = _duties(rule.duties, f"{ref}.duty")
        self.remedies = _duties(rule.remedies, f"{ref}.remedy")
        self.static_duties = _statics(self.duties)
        self.before_use = any(duty.before_use for duty in self.duties)
        self.permit_reason = (say("%(rule)s permits it", rule=ref),)

    def all_checks(self) -> tuple[Check, ...]:
        return (*self.checks, *self.target_checks, *self.assignee_checks)

    def applies(self, env: Env, reasons: list[str]) -> bool | None:
        """Does this rule apply to the request? Adds a reason when not (or not surely)."""
        unknown: Message | None = None
        if self.target is not None:
            if env.target is None:
                unknown = say("%(rule)s: the request names no target", rule=self.ref)
            elif env.target != self.target and self.target not in env.part_of:
                reasons.append(
                    say("%(rule)s: is about target %(target)s", rule=self.ref, target=self.target)
                )
                return False
        if self.assignee is not None:
            if env.assignee is None:
                unknown = say("%(rule)s: the request names no assignee", rule=self.ref)
            elif env.assignee != self.assignee and self.assignee not in env.member_of():
                reasons.append(
                    say(
                        "%(rule)s: is for assignee %(assignee)s",
                        rule=self.ref,
                        assignee=self.assignee,
                    )
                )
                return False
        checks: Any = self.checks
        if self.target_checks or self.assignee_checks:
            checks = [(check, env) for check in (*self.checks, *self.assignee_checks)]
            checks += [(check, env.of_target()) for check in self.target_checks]
        for item in checks:
            check, facts = item if isinstance(item, tuple) else (item, env)
            result = check.test(facts)
            if result is False:
                reasons.append(
                    say("%(rule)s: %(check)s is not satisfied", rule=self.ref, check=check.label)
                )
                return False
            if result is None and unknown is None:
                why = check.problem or check.missing
                unknown = say(
                    "%(rule)s: cannot evaluate %(check)s: %(why)s",
                    rule=self.ref,
                    check=check.label,
                    why=why,
                )
        if unknown is not None:
            reasons.append(unknown)
            return None
        return True


class CompiledPolicy:
    """A policy prepared for fast, repeated decisions."""

    __slots__ = (
        "actions",
        "conflict",
        "obligations",
        "permissions",
        "prohibitions",
        "replaced_by",
        "start",
        "uid",
        "unresolved",
    )

    def __init__(self, policy: Policy, actions: ActionVocabulary = ODRL_ACTIONS) -> None:
        self.uid = policy.uid  # no reference to the policy itself: see compile_policy
        self.unresolved = policy.inherit_from
        self.replaced_by = tuple(
            value.iri if isinstance(value, Ref) else str(value.value)
            for prop, value in policy.metadata
            if prop == IS_REPLACED_BY
        )
        self.actions = actions
        self.conflict = policy.conflict or ConflictTerm.INVALID
        self.start = parse_datetime(policy.timestamp) if policy.timestamp else None
        self.permissions = _index(policy.permissions, RuleKind.PERMISSION, policy, actions)
        self.prohibitions = _index(policy.prohibitions, RuleKind.PROHIBITION, policy, actions)
        self.obligations = _duties(policy.obligations, "obligation", policy.assignee)

    def _prohibitions(self, action: str) -> tuple[tuple[_Rule, str | None], ...]:
        """Prohibitions about the action, then those about an action it implies (named)."""
        implies = self.actions.implied(action) if self.actions.implies else ()
        direct = self.prohibitions.get(action)
        if direct is None and not implies:
            return ()
        found: tuple[tuple[_Rule, str | None], ...] = tuple((rule, None) for rule in direct or ())
        for implied in implies:
            seen = {id(rule) for rule, _ in found}
            found += tuple(
                (rule, implied)
                for rule in self.prohibitions.get(implied, ())
                if id(rule) not in seen
            )
        return found

    def evaluate(self, request: Request) -> Decision:
        if self.replaced_by:
            why = say(
                "the policy is replaced by %(policies)s (dct:isReplacedBy)",
                policies=", ".join(self.replaced_by),
            )
            return Decision(Outcome.INDETERMINATE, self.uid, (), (), (why,))
        if self.unresolved:
            parents = ", ".join(self.unresolved)
            why = say(
                "the policy inherits from %(parents)s, which is not merged in (inheritance.inherit)",
                parents=parents,
            )
            return Decision(Outcome.INDETERMINATE, self.uid, (), (), (why,))
        env = Env(
            action=self.actions.canonical(action_iri(request.action)),
            assignee=request.assignee,
            target=request.target,
            attributes=request.attributes,
            purpose=request.purpose,
            time=request.time,
            place=request.place,
            count=request.use_count,
            start=request.agreement_start or self.start,
            aggregated=request.aggregated,
            recipient=request.recipient,
            part_of=request.target_part_of,
            target_attributes=request.target_attributes,
        )
        states = request.duty_state
        reasons: list[str] = []
        granted: list[tuple[_Rule, tuple[DutyToFulfil, ...]]] = []
        blocked: list[DutyToFulfil] = []
        permission_unknown = False
        for rule in self.permissions.get(env.action, ()):
            applies = rule.applies(env, reasons)
            if applies:
                duties = rule.static_duties
                try:
                    duties = _fulfil_all(rule.duties, env) if duties is None else duties
                except _Indeterminate as exc:
                    reasons.append(str(exc))
                    permission_unknown = True
                    continue
                if not (states or rule.before_use):
                    granted.append((rule, duties))
                    continue
                unusable = [d for d in duties if _blocks(d, env, states)]
                unknown = [d for d in duties if d.before_use and d.rule not in states]
                if unusable:
                    blocked += [d for d in unusable if d not in blocked]
                    reasons += [_not_fulfilled(rule.ref, d) for d in unusable]
                elif unknown:
                    permission_unknown = True
                    reasons += [
                        say(
                            "%(rule)s: %(duty)s (%(action)s) must be fulfilled before use, and"
                            " whether it is, is not known",
                            rule=rule.ref,
                            duty=d.rule,
                            action=short(d.action),
                        )
                        for d in unknown
                    ]
                else:
                    granted.append((rule, duties))
            elif applies is None:
                permission_unknown = True
        prohibited: list[tuple[_Rule, str | None]] = []
        prohibition_unknown = False
        for rule, implied in self._prohibitions(env.action):
            applies = rule.applies(env, reasons)
            if applies:
                prohibited.append((rule, implied))
            elif applies is None:
                prohibition_unknown = True
        decision = self._decide(
            env, granted, permission_unknown, prohibited, prohibition_unknown, reasons, states
        )
        if blocked and decision.outcome is not Outcome.PERMIT:
            return replace(decision, pending=(*decision.pending, *blocked))
        return decision

    def _decide(
        self,
        env: Env,
        granted: list[tuple[_Rule, tuple[DutyToFulfil, ...]]],
        permission_unknown: bool,
        prohibited: list[tuple[_Rule, str | None]],
        prohibition_unknown: bool,
        reasons: list[str],
        states: Mapping[str, bool],
    ) -> Decision:
        uid = self.uid
        if not prohibited and granted and not prohibition_unknown:
            return self._permit(env, granted, states)  # the common case, first
        refs = tuple(rule.ref for rule, _ in prohibited)
        why = tuple(
            say("%(rule)s prohibits it", rule=rule.ref)
            if implied is None
            else say(
                "%(rule)s prohibits %(implied)s, which %(action)s implies",
                rule=rule.ref,
                implied=short(implied),
                action=short(env.action),
            )
            for rule, implied in prohibited
        )
        if self.conflict is ConflictTerm.PERM:
            if granted:
                return self._permit(env, granted, states)
        elif prohibited:
            if granted and self.conflict is ConflictTerm.INVALID:
                conflict = say(
                    "%(permission)s and %(prohibition)s conflict: the policy is void",
                    permission=granted[0][0].ref,
                    prohibition=refs[0],
                )
                return Decision(Outcome.DENY, uid, (granted[0][0].ref, *refs), (), (conflict, *why))
            return Decision(Outcome.DENY, uid, refs, (), why, remedies=_remedies(prohibited, env))
        elif granted and not prohibition_unknown:
            return self._permit(env, granted, states)
        if not granted and not permission_unknown:
            denial = (say("no permission for %(action)s", action=short(env.action)), *why)
            return Decision(
                Outcome.DENY,
                uid,
                refs,
                (),
                (*denial, *reasons),
                remedies=_remedies(prohibited, env),
            )
        return Decision(Outcome.INDETERMINATE, uid, (), (), tuple(reasons))

    def _permit(
        self,
        env: Env,
        granted: list[tuple[_Rule, tuple[DutyToFulfil, ...]]],
        states: Mapping[str, bool],
    ) -> Decision:
        rule, duties = granted[0] if len(granted) == 1 else min(granted, key=_weight)
        if self.obligations:
            try:
                duties = (*duties, *_fulfil_all(self.obligations, env))
            except _Indeterminate as exc:
                return Decision(Outcome.INDETERMINATE, self.uid, (), (), (str(exc),))
        pending = tuple(d for d in duties if states.get(d.rule) is False) if states else ()
        return Decision(
            Outcome.PERMIT, self.uid, (rule.ref,), duties, rule.permit_reason, pending=pending
        )


def _blocks(duty: DutyToFulfil, env: Env, states: Mapping[str, bool]) -> bool:
    """A duty known not to be fulfilled makes its permission unusable once it is due."""
    if states.get(duty.rule) is not False:
        return False
    return duty.before_use or duty.due is None or env.time is None or duty.due <= env.time


def _not_fulfilled(ref: str, duty: DutyToFulfil) -> Message:
    values = {"rule": ref, "duty": duty.rule, "action": short(duty.action)}
    if duty.consequences:
        then = ", ".join(short(c.action) for c in duty.consequences)
        return say(
            "%(rule)s: duty %(duty)s (%(action)s) is not fulfilled; its consequences apply too"
            " (%(then)s)",
            then=then,
            **values,
        )
    return say("%(rule)s: duty %(duty)s (%(action)s) is not fulfilled", **values)


def _remedies(prohibited: list[tuple[_Rule, str | None]], env: Env) -> tuple[DutyToFulfil, ...]:
    """What the applicable prohibitions require if their action is exercised anyway."""
    remedies: list[DutyToFulfil] = []
    for rule, _ in prohibited:
        try:
            remedies += _fulfil_all(rule.remedies, env)
        except _Indeterminate:
            remedies += [
                DutyToFulfil(action=d.action, rule=d.ref, target=d.target) for d in rule.remedies
            ]
    return tuple(remedies)


def _weight(granted: tuple[_Rule, tuple[DutyToFulfil, ...]]) -> int:
    return _count_duties(granted[1])


def _count_duties(duties: tuple[DutyToFulfil, ...]) -> int:
    return sum(1 + _count_duties(d.duties) for d in duties)


def _index(
    rules: tuple[Rule, ...], kind: RuleKind, policy: Policy, actions: ActionVocabulary
) -> dict[str, tuple[_Rule, ...]]:
    """Action IRI -> the rules about it (directly or through an including action)."""
    index: dict[str, list[_Rule]] = {}
    for position, rule in enumerate(rules):
        compiled = _Rule(rule, rule.uid or f"{kind.value}[{position}]", policy)
        for action in actions.covered(actions.canonical(rule.action)):
            index.setdefault(action, []).append(compiled)
    return {action: tuple(compiled) for action, compiled in index.items()}


_COMPILED: dict[int, tuple[weakref.ref[Policy], CompiledPolicy]] = {}


def compile_policy(policy: Policy, actions: ActionVocabulary | None = None) -> CompiledPolicy:
    """The compiled form of `policy`, kept for as long as the policy object lives.

    With a profile's `actions` the result is not cached: keep it while the profile holds.
    """
    if actions is not None and actions is not ODRL_ACTIONS:
        return CompiledPolicy(policy, actions)
    key = id(policy)
    entry = _COMPILED.get(key)
    if entry is not None and entry[0]() is policy:
        return entry[1]
    compiled = CompiledPolicy(policy)
    _COMPILED[key] = (weakref.ref(policy), compiled)
    weakref.finalize(policy, _forget, key)
    return compiled


def _forget(key: int) -> None:
    entry = _COMPILED.get(key)
    if entry is not None and entry[0]() is None:
        del _COMPILED[key]


def evaluate(
    policy: Policy | CompiledPolicy, request: Request, actions: ActionVocabulary | None = None
) -> Decision:
    """Decide `request` under `policy` (pure: same inputs, same decision).

    `actions` replaces the ODRL Common Vocabulary's actions, e.g. with a profile's extension;
    a `CompiledPolicy` keeps the vocabulary it was compiled with.
    """
    if isinstance(policy, Policy):
        policy = compile_policy(policy, actions)
    return policy.evaluate(request)


def policy_problems(policy: Policy) -> list[str]:
    """Terms the evaluator cannot give a meaning to (each makes some decision indeterminate).

    Worth checking before a node publishes a policy: a constraint on an unknown left
    operand is legal ODRL but can never be satisfied here.
    """
    compiled = compile_policy(policy)
    rules = {
        id(rule): rule
        for index in (compiled.permissions, compiled.prohibitions)
        for group in index.values()
        for rule in group
    }
    problems = [
        f"{rule.ref}: {check.label}: {check.problem}"
        for rule in rules.values()
        for check in rule.all_checks()
        if check.problem
    ]
    duties = [duty for rule in rules.values() for duty in rule.duties]
    problems += [duty.problem for duty in (*duties, *compiled.obligations) if duty.problem]
    return problems


def obligations(policy: Policy | CompiledPolicy, request: Request) -> tuple[DutyToFulfil, ...]:
    """The policy's obligations (model, 2.6.4) that bind the request's assignee and are not
    known to be fulfilled, each with its consequences, so a caller can show what is owed.

    An obligation binds its assignee (or the policy's); one without names everyone. Whether
    an obligation has a deadline or a condition is decided as for any duty.
    """
    if isinstance(policy, Policy):
        policy = compile_policy(policy)
    env = Env(
        action=action_iri(request.action),
        assignee=request.assignee,
        target=request.target,
        attributes=request.attributes,
        purpose=request.purpose,
        time=request.time,
        place=request.place,
        count=request.use_count,
        start=request.agreement_start or policy.start,
        aggregated=request.aggregated,
        recipient=request.recipient,
    )
    binding = tuple(
        duty
        for duty in policy.obligations
        if duty.assignee is None
        or duty.assignee == request.assignee
        or duty.assignee in env.member_of()
    )
    owed: list[DutyToFulfil] = []
    for duty in binding:
        try:
            found = duty.fulfil(env)
        except _Indeterminate:  # its due date cannot be told: owed all the same
            found = DutyToFulfil(action=duty.action, rule=duty.ref, target=duty.target)
        if found is not None and request.duty_state.get(found.rule) is not True:
            owed.append(found)
    return tuple(owed)


def permits_federation_sharing(policy: Policy, target: str | None = None) -> bool:
    """May this dataset's data be passed on (`distribute`) to peer nodes, unconditionally?

    True only if a permission covering `distribute` holds with no request context at all
    (no assignee, purpose, time or place) and nothing prohibits it: whatever depends on
    who receives the data, why or when cannot be promised for every peer in advance.
    """
    request = Request(action=DISTRIBUTE, target=target if target is not None else policy.target)
    return evaluate(policy, request).outcome is Outcome.PERMIT
