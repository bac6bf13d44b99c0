"""What each left operand means: constraints compiled into three-valued checks.

A check answers True, False or None (cannot tell). None comes from a missing request value
(the caller may supply it and ask again) or from a term we do not understand: an unknown
left operand, an operator that makes no sense for it, a malformed right operand or a unit.
The latter are found once, at compile time, and recorded in `Check.problem`, so that a
misunderstood term can never turn into a permit.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from allmende.policies.jsonld import describe_values
from allmende.policies.model import AnyConstraint, Constraint, Literal, LogicalConstraint, Ref
from allmende.policies.terms import (
    AGGREGATION,
    ALLMENDE,
    AMT_MEMBERSHIP,
    AND,
    AND_SEQUENCE,
    COUNT,
    DATE_TIME,
    ELAPSED_TIME,
    EQ,
    GT,
    GTEQ,
    HAS_PART,
    IS_A,
    IS_ALL_OF,
    IS_ANY_OF,
    IS_NONE_OF,
    IS_PART_OF,
    LT,
    LTEQ,
    NEQ,
    ODRL,
    OPERATORS,
    OR,
    ORGANISATION_ANCESTORS,
    ORGANISATION_TYPE,
    PURPOSE,
    PURPOSE_ANCESTORS,
    RECIPIENT,
    SPATIAL,
    XONE,
)
from allmende.policies.values import (
    aware,
    parse_date_or_datetime,
    parse_duration,
    region_code,
    region_within,
)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@lru_cache(maxsize=4096)
def concept(value: str) -> str:
    """A purpose or organisation type as an IRI: bare names are Allmende concepts."""
    if value.startswith("allmende:"):
        return ALLMENDE + value.removeprefix("allmende:")
    if ":" in value:
        return value
    return ALLMENDE + value


@lru_cache(maxsize=4096)
def action_iri(value: str) -> str:
    """A request action as an IRI: `read` and `odrl:read` are ODRL's read."""
    if value.startswith("odrl:"):
        return ODRL + value.removeprefix("odrl:")
    return value if ":" in value else ODRL + value


@lru_cache(maxsize=4096)
def region_key(value: str) -> str:
    return region_code(value) or value


class Env:
    """The request as the checks read it: normalised once per evaluation."""

    __slots__ = (
        "action",
        "aggregated",
        "assignee",
        "attributes",
        "count",
        "part_of",
        "place",
        "purpose",
        "purpose_up",
        "recipient",
        "start",
        "target",
        "target_attributes",
        "target_env",
        "time",
    )

    def __init__(
        self,
        *,
        action: str,
        assignee: str | None,
        target: str | None,
        attributes: Mapping[str, Any] | None,
        purpose: str | None,
        time: datetime | None,
        place: str | None,
        count: int | None,
        start: datetime | None,
        aggregated: bool | None,
        recipient: str | None,
        part_of: frozenset[str] = frozenset(),
        target_attributes: Mapping[str, Any] | None = None,
    ) -> None:
        self.action = action_iri(action)
        self.part_of = part_of
        self.target_attributes = target_attributes if target_attributes is not None else _EMPTY
        self.target_env: Env | None = None
        self.assignee = assignee
        self.target = target
        self.attributes = attributes if attributes is not None else _EMPTY
        self.purpose = concept(purpose) if purpose else None
        self.purpose_up = (
            PURPOSE_ANCESTORS.get(self.purpose, frozenset({self.purpose}))
            if self.purpose
            else frozenset()
        )
        self.time = aware(time) if time is not None else None
        self.place = place
        self.count = count
        self.start = aware(start) if start is not None else None
        self.aggregated = aggregated
        self.recipient = recipient if recipient is not None else assignee

    def attribute(self, name: str) -> frozenset[str] | None:
        """A verified attribute as a set of strings (short name or full Allmende IRI)."""
        value = self.attributes.get(name, self.attributes.get(ALLMENDE + name))
        if value is None:
            return None
        if isinstance(value, str):
            return frozenset({value})
        return frozenset(str(item) for item in value)

    def member_of(self) -> frozenset[str]:
        """Party collections the assignee belongs to (`memberOf` or ODRL's `partOf`)."""
        return (self.attribute("memberOf") or frozenset()) | (
            self.attribute("partOf") or frozenset()
        )

    def of_target(self) -> Env:
        """The target asset as a member of an AssetCollection sees a refinement.

        `spatial` is where the asset is about, `dateTime` when it is from, any other left
        operand reads the asset's attributes; nothing about the request leaks in.
        """
        if self.target_env is None:
            facts = self.target_attributes
            moment = facts.get("dateTime")
            self.target_env = Env(
                action=self.action,
                assignee=None,
                target=self.target,
                attributes=facts,
                purpose=None,
                time=moment if isinstance(moment, datetime) else None,
                place=facts.get("spatial") if isinstance(facts.get("spatial"), str) else None,
                count=None,
                start=None,
                aggregated=None,
                recipient=None,
            )
        return self.target_env


Test = Callable[[Env], bool | None]


@dataclass(frozen=True, slots=True)
class Check:
    """A compiled constraint; `missing` explains a None when there is no `problem`."""

    test: Test
    label: str
    missing: str = ""
    problem: str | None = None


class Unsupported(Exception):
    """Raised while compiling a constraint we cannot give a meaning to."""


def short(iri: str) -> str:
    for prefix, namespace in (("", ODRL), ("allmende:", ALLMENDE)):
        if iri.startswith(namespace):
            return prefix + iri.removeprefix(namespace)
    return iri


def label(constraint: AnyConstraint) -> str:
    if isinstance(constraint, LogicalConstraint):
        inner = f" {short(constraint.operator)} ".join(label(c) for c in constraint.constraints)
        return f"({inner})"
    values = describe_values(constraint.right_operand)
    return f"{short(constraint.left_operand)} {short(constraint.operator)} {values}"


def compile_constraint(constraint: AnyConstraint) -> Check:
    if isinstance(constraint, LogicalConstraint):
        return _logical(constraint)
    text = label(constraint)
    compiler = _COMPILERS.get(constraint.left_operand)
    if compiler is None:
        return _broken(text, f"unknown left operand {constraint.left_operand}")
    if constraint.operator not in OPERATORS:
        return _broken(text, f"unknown operator {constraint.operator}")
    if constraint.unit is not None:
        return _broken(text, f"unit {constraint.unit} is not supported")
    try:
        test, missing = compiler(constraint.operator, constraint.right_operand)
    except Unsupported as exc:
        return _broken(text, str(exc))
    return Check(test, text, f"the request has no {missing}")


def _broken(text: str, problem: str) -> Check:
    return Check(_never, text, problem=problem)


def _never(env: Env) -> None:
    return None


def _all(results: list[bool | None]) -> bool | None:
    return False if False in results else (None if None in results else True)


def _any(results: list[bool | None]) -> bool | None:
    return True if True in results else (None if None in results else False)


def _exactly_one(results: list[bool | None]) -> bool | None:
    true = results.count(True)
    if true > 1 or (true == 0 and None not in results):
        return False
    return None if None in results else True


_COMBINE = {AND: _all, OR: _any, XONE: _exactly_one}


def _logical(constraint: LogicalConstraint) -> Check:
    parts = tuple(compile_constraint(c) for c in constraint.constraints)
    tests = tuple(part.test for part in parts)
    problem = next((part.problem for part in parts if part.problem), None)
    text = label(constraint)
    if constraint.operator == AND_SEQUENCE:
        # In order: a later operand is only looked at once the earlier ones hold.
        def sequence(env: Env) -> bool | None:
            for part in tests:
                result = part(env)
                if result is not True:
                    return result
            return True

        return Check(sequence, text, "an operand cannot be evaluated yet", problem)
    combine = _COMBINE[constraint.operator]
    return Check(
        lambda env: combine([part(env) for part in tests]),
        text,
        "some operands cannot be evaluated",
        problem,
    )


def _texts(values: Iterable[Literal | Ref]) -> list[str]:
    return [value.iri if isinstance(value, Ref) else str(value.value) for value in values]


def _one(values: tuple[Literal | Ref, ...]) -> Literal | Ref:
    if len(values) != 1:
        raise Unsupported("this operator takes exactly one right operand value")
    return values[0]


_ORDER = {
    EQ: operator.eq,
    NEQ: operator.ne,
    LT: operator.lt,
    LTEQ: operator.le,
    GT: operator.gt,
    GTEQ: operator.ge,
}
Compiled = tuple[Test, str]


def _comparison(op: str) -> Callable[[Any, Any], bool]:
    if op not in _ORDER:
        raise Unsupported(f"operator {short(op)} does not compare this left operand")
    return _ORDER[op]


def _date_time(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    compare = _comparison(op)
    value = _one(values)
    if not isinstance(value, Literal) or not isinstance(value.value, str):
        raise Unsupported("dateTime needs an xsd:date or xsd:dateTime literal")
    try:
        bound = parse_date_or_datetime(value.value)
    except ValueError:
        raise Unsupported(f"not an xsd:date or xsd:dateTime: {value.value!r}") from None
    if isinstance(bound, datetime):
        instant = bound
        return (lambda env: None if env.time is None else compare(env.time, instant)), "time"
    day = bound
    # A date is a whole day, in the timezone of the request's own clock.
    return (lambda env: None if env.time is None else compare(env.time.date(), day)), "time"


def due_from(constraint: Constraint, start: datetime | None) -> datetime | bool | None:
    """The deadline a duty constraint sets (elapsedTime or dateTime upper bound).

    Returns False when the constraint is not a deadline, None when it is one but the
    agreement start it is relative to is unknown.
    """
    if constraint.operator not in (EQ, LT, LTEQ) or len(constraint.right_operand) != 1:
        return False
    value = constraint.right_operand[0]
    if not isinstance(value, Literal) or not isinstance(value.value, str):
        return False
    try:
        if constraint.left_operand == ELAPSED_TIME:
            duration = parse_duration(value.value)
            return None if start is None else duration.after(start)
        if constraint.left_operand == DATE_TIME and constraint.operator != EQ:
            bound = parse_date_or_datetime(value.value)
            if isinstance(bound, datetime):
                return bound
            whole_day = timedelta(days=1) if constraint.operator == LTEQ else timedelta()
            return datetime.combine(bound, datetime.min.time(), UTC) + whole_day
    except ValueError:
        return False
    return False


def _elapsed_time(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    # elapsedTime eq P30D means "may be exercised during 30 days" (ODRL's own example).
    compare = {EQ: operator.le, LT: operator.lt, LTEQ: operator.le}.get(op) or {
        GT: operator.gt,
        GTEQ: operator.ge,
    }.get(op)
    if compare is None:
        raise Unsupported(f"operator {short(op)} does not apply to elapsedTime")
    value = _one(values)
    if not isinstance(value, Literal) or not isinstance(value.value, str):
        raise Unsupported("elapsedTime needs an xsd:duration literal")
    try:
        duration = parse_duration(value.value)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None

    def test(env: Env) -> bool | None:
        if env.time is None or env.start is None:
            return None
        return bool(compare(env.time, duration.after(env.start)))

    return test, "time or agreement start"


def _count(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    compare = _comparison(op)
    value = _one(values)
    try:
        if isinstance(value, Ref) or isinstance(value.value, bool):
            raise ValueError
        limit = int(value.value) if not isinstance(value.value, float) else value.value
    except ValueError:
        raise Unsupported("count needs a number") from None
    return (lambda env: None if env.count is None else compare(env.count, limit)), "use count"


def _hierarchy_sets(
    op: str, rights: frozenset[str], single: str | None
) -> Callable[[frozenset[str], frozenset[str]], bool]:
    """Set operators over concepts: (exact values, values with their ancestors) -> bool."""
    if op == EQ and single is not None:
        return lambda exact, up: single in exact
    if op == NEQ and single is not None:
        return lambda exact, up: single not in exact
    if op == IS_A and single is not None:
        return lambda exact, up: single in up
    if op == IS_ANY_OF:
        return lambda exact, up: not up.isdisjoint(rights)
    if op == IS_ALL_OF:
        return lambda exact, up: rights <= up
    if op == IS_NONE_OF:
        return lambda exact, up: up.isdisjoint(rights)
    raise Unsupported(f"operator {short(op)} does not apply here (or needs one value)")


def _purpose(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    rights = frozenset(concept(text) for text in _texts(values))
    single = next(iter(rights)) if len(rights) == 1 else None
    check = _hierarchy_sets(op, rights, single)

    def test(env: Env) -> bool | None:
        if env.purpose is None:
            return None
        return check(frozenset({env.purpose}), env.purpose_up)

    return test, "purpose"


def _organisation_type(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    rights = frozenset(concept(text) for text in _texts(values))
    single = next(iter(rights)) if len(rights) == 1 else None
    check = _hierarchy_sets(op, rights, single)

    def test(env: Env) -> bool | None:
        raw = env.attribute("organisationType")
        if raw is None:
            return None
        exact = frozenset(concept(value) for value in raw)
        up = frozenset().union(*(ORGANISATION_ANCESTORS.get(v, frozenset({v})) for v in exact))
        return check(exact, up)

    return test, "verified attribute organisationType"


def _amt_membership(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    if op == IS_A:
        raise Unsupported("isA does not apply to amtMembership")
    rights = frozenset(region_key(text) for text in _texts(values))
    single = next(iter(rights)) if len(rights) == 1 else None
    check = _hierarchy_sets(op, rights, single)

    def test(env: Env) -> bool | None:
        raw = env.attribute("amtMembership")
        if raw is None:
            return None
        memberships = frozenset(region_key(value) for value in raw)
        return check(memberships, memberships)

    return test, "verified attribute amtMembership"


def _spatial(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    rights = tuple(_texts(values))
    single = rights[0] if len(rights) == 1 else None
    test_place: Callable[[str], bool]
    if op in (EQ, NEQ) and single is not None:
        key, equal = region_key(single), op == EQ
        test_place = lambda place: (region_key(place) == key) is equal  # noqa: E731
    elif op == IS_PART_OF and single is not None:
        test_place = lambda place: region_within(place, single)  # noqa: E731
    elif op == HAS_PART:
        test_place = lambda place: all(region_within(r, place) for r in rights)  # noqa: E731
    elif op == IS_ANY_OF:
        test_place = lambda place: any(region_within(place, r) for r in rights)  # noqa: E731
    elif op == IS_NONE_OF:
        test_place = lambda place: not any(region_within(place, r) for r in rights)  # noqa: E731
    else:
        raise Unsupported(f"operator {short(op)} does not apply to spatial (or needs one value)")
    return (lambda env: None if env.place is None else test_place(env.place)), "place"


def _recipient(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    rights = frozenset(_texts(values))
    single = next(iter(rights)) if len(rights) == 1 else None
    test_party: Callable[[Env, str], bool]
    if op in (EQ, NEQ) and single is not None:
        equal = op == EQ
        test_party = lambda env, party: (party == single) is equal  # noqa: E731
    elif op == IS_ANY_OF:
        test_party = lambda env, party: party in rights  # noqa: E731
    elif op == IS_NONE_OF:
        test_party = lambda env, party: party not in rights  # noqa: E731
    elif op == IS_PART_OF and single is not None:

        def test_party(env: Env, party: str) -> bool:
            own = party == env.assignee and single in env.member_of()
            return party == single or own

    else:
        raise Unsupported(f"operator {short(op)} does not apply to recipient (or needs one value)")
    return (
        lambda env: None if env.recipient is None else test_party(env, env.recipient)
    ), "recipient or assignee"


def _aggregation(op: str, values: tuple[Literal | Ref, ...]) -> Compiled:
    if op not in (EQ, NEQ):
        raise Unsupported(f"operator {short(op)} does not apply to aggregation")
    value = _one(values)
    flag = value.value if isinstance(value, Literal) else None
    if isinstance(flag, str) and flag in ("true", "false"):
        flag = flag == "true"
    if not isinstance(flag, bool):
        raise Unsupported("aggregation needs true or false")
    wanted = flag if op == EQ else not flag
    return (
        lambda env: None if env.aggregated is None else env.aggregated is wanted
    ), "aggregation flag"


_COMPILERS: Mapping[str, Callable[[str, tuple[Literal | Ref, ...]], Compiled]] = {
    DATE_TIME: _date_time,
    ELAPSED_TIME: _elapsed_time,
    COUNT: _count,
    PURPOSE: _purpose,
    SPATIAL: _spatial,
    RECIPIENT: _recipient,
    AMT_MEMBERSHIP: _amt_membership,
    ORGANISATION_TYPE: _organisation_type,
    AGGREGATION: _aggregation,
}
"""Left operand IRI -> compiler. Anything not listed here is unknown (never permits)."""
