"""ODRL 2.2 policies as a handful of immutable values.

The model keeps what a policy *says*, exactly as written (IRIs expanded, nothing inferred),
so that it serialises back to the same JSON-LD or RDF. Meaning is given by the evaluator.
Frozen dataclasses make policies hashable and safe to share between requests and threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from allmende.policies.terms import LOGICAL_OPERATORS


class PolicyError(ValueError):
    """A policy document that cannot be read as ODRL; `field` names where (a JSON path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class PolicyType(StrEnum):
    SET = "Set"
    OFFER = "Offer"
    AGREEMENT = "Agreement"


class ConflictTerm(StrEnum):
    PERM = "perm"
    PROHIBIT = "prohibit"
    INVALID = "invalid"


class RuleKind(StrEnum):
    PERMISSION = "permission"
    PROHIBITION = "prohibition"
    DUTY = "duty"


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal value; JSON numbers and booleans stay native and carry no datatype."""

    value: str | int | float | bool
    datatype: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Ref:
    """An IRI used as a value (`{"@id": ...}` in JSON-LD)."""

    iri: str


Value: TypeAlias = Literal | Ref


@dataclass(frozen=True, slots=True)
class Constraint:
    """`leftOperand operator rightOperand`; several right operand values form a set."""

    left_operand: str
    operator: str
    right_operand: tuple[Value, ...]
    unit: str | None = None
    data_type: str | None = None
    uid: str | None = None

    def __post_init__(self) -> None:
        if not self.right_operand:
            raise PolicyError("rightOperand", "a constraint needs a right operand")


@dataclass(frozen=True, slots=True)
class LogicalConstraint:
    """`and`, `or`, `xone` or `andSequence` over other constraints (order kept)."""

    operator: str
    constraints: tuple[Constraint | LogicalConstraint, ...]
    uid: str | None = None

    def __post_init__(self) -> None:
        if self.operator not in LOGICAL_OPERATORS:
            raise PolicyError("", f"not a logical operator: {self.operator}")
        if not self.constraints:
            raise PolicyError("", "a logical constraint needs at least one operand")


AnyConstraint: TypeAlias = Constraint | LogicalConstraint


class CollectionKind(StrEnum):
    ASSET = "AssetCollection"
    PARTY = "PartyCollection"


@dataclass(frozen=True, slots=True)
class Collection:
    """How a rule's target (AssetCollection) or assignee (PartyCollection) is a collection.

    The rule is about every member: an asset `partOf` the collection, a party `memberOf`
    (or `partOf`) it. `refinements` narrow the members by their own characteristics; the
    model then names the collection by `source` instead of `uid` (`by_source`).
    """

    kind: CollectionKind
    refinements: tuple[AnyConstraint, ...] = ()
    by_source: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A Permission, Prohibition or Duty.

    `duties` are a permission's (or duty's) pre-conditions, `remedies` what a violated
    prohibition requires, `consequences` what an unfulfilled duty adds. `refinements`
    narrow the action itself (ODRL `action.refinement`). `parties` are the further
    functions of the Common Vocabulary (`attributedParty`, `compensatedParty`, ...) as
    (function IRI, party IRI) pairs, e.g. whom to attribute or to pay.
    """

    kind: RuleKind
    action: str
    uid: str | None = None
    target: str | None = None
    assigner: str | None = None
    assignee: str | None = None
    refinements: tuple[AnyConstraint, ...] = ()
    constraints: tuple[AnyConstraint, ...] = ()
    target_collection: Collection | None = None
    assignee_collection: Collection | None = None
    parties: tuple[tuple[str, str], ...] = ()
    duties: tuple[Rule, ...] = ()
    remedies: tuple[Rule, ...] = ()
    consequences: tuple[Rule, ...] = ()
    description: tuple[Literal, ...] = ()

    def __post_init__(self) -> None:
        if self.duties and self.kind is RuleKind.PROHIBITION:
            raise PolicyError("duty", "a prohibition has remedies, not duties")
        if self.remedies and self.kind is not RuleKind.PROHIBITION:
            raise PolicyError("remedy", "only a prohibition has remedies")
        if self.consequences and self.kind is not RuleKind.DUTY:
            raise PolicyError("consequence", "only a duty has consequences")
        for group in (self.duties, self.remedies, self.consequences):
            if any(rule.kind is not RuleKind.DUTY for rule in group):
                raise PolicyError("duty", "duties, remedies and consequences are duties")


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Policy:
    """An ODRL Set, Offer or Agreement.

    Policy-level `assigner`, `assignee` and `target` apply to every rule that does not name
    its own. `conflict` stays `None` when the document does not say; the evaluator then uses
    `invalid`, as the ODRL 2.2 model says. `timestamp` is the DSP agreement time
    (xsd:dateTime, as written). `inherit_from` names parent policies whose rules this one
    takes on (`policies.inheritance.inherit` resolves them; until then nothing is decided).
    `metadata` keeps the Dublin Core terms the model recommends besides title, description
    and licence (`creator`, `issued`, `modified`, `coverage`, `replaces`, `isReplacedBy`) as
    (property IRI, value) pairs; a policy that `isReplacedBy` another is void.
    """

    uid: str | None = None
    type: PolicyType = PolicyType.SET
    assigner: str | None = None
    assignee: str | None = None
    target: str | None = None
    permissions: tuple[Rule, ...] = ()
    prohibitions: tuple[Rule, ...] = ()
    obligations: tuple[Rule, ...] = ()
    conflict: ConflictTerm | None = None
    profile: tuple[str, ...] = ()
    inherit_from: tuple[str, ...] = ()
    timestamp: str | None = None
    license: str | None = None
    title: tuple[Literal, ...] = ()
    description: tuple[Literal, ...] = ()
    metadata: tuple[tuple[str, Value], ...] = ()

    def __post_init__(self) -> None:
        for name, rules, kind in (
            ("permission", self.permissions, RuleKind.PERMISSION),
            ("prohibition", self.prohibitions, RuleKind.PROHIBITION),
            ("obligation", self.obligations, RuleKind.DUTY),
        ):
            if any(rule.kind is not kind for rule in rules):
                raise PolicyError(name, f"every {name} must be a {kind.value}")
        if not (self.permissions or self.prohibitions or self.obligations):
            raise PolicyError("permission", "a policy needs at least one rule")
