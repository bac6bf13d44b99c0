"""A policy in plain words, German or English, for the people a dataset page is for.

Derived from the rules themselves, not from a stored text, so the words can never promise
more than the policy grants. The policy's own title and description, when it has them,
come first.
"""

from __future__ import annotations

from policies.model import Constraint, Literal, LogicalConstraint, Policy, Ref, Rule
from policies.terms import ALLMENDE, ODRL

ACTIONS = {
    "use": ("nutzen", "use"),
    "read": ("lesen", "read"),
    "reproduce": ("vervielfältigen", "reproduce"),
    "distribute": ("weitergeben", "distribute"),
    "aggregate": ("aggregieren", "aggregate"),
    "derive": ("ableiten", "derive"),
    "modify": ("verändern", "modify"),
    "commercialize": ("kommerziell verwerten", "commercialise"),
    "transfer": ("übertragen", "transfer"),
    "attribute": ("die Quelle nennen", "attribute the source"),
    "delete": ("die Daten löschen", "delete the data"),
    "inform": ("informieren", "inform"),
    "compensate": ("vergüten", "compensate"),
}
OPERANDS = {
    "purpose": ("der Zweck", "the purpose"),
    "dateTime": ("der Zeitpunkt", "the time"),
    "elapsedTime": ("die Zeit seit Vertragsbeginn", "the time since the agreement"),
    "spatial": ("der Ort", "the place"),
    "recipient": ("der Empfänger", "the recipient"),
    "count": ("die Zahl der Nutzungen", "the number of uses"),
    "amtMembership": ("die Mitgliedschaft im Amt", "the membership in the Amt"),
    "organisationType": ("die Organisationsart", "the organisation type"),
    "aggregation": ("die Aggregation", "aggregation"),
}
OPERATORS = {
    "eq": ("ist", "is"),
    "neq": ("ist nicht", "is not"),
    "gt": ("liegt nach", "is after"),
    "gteq": ("ist frühestens", "is at least"),
    "lt": ("liegt vor", "is before"),
    "lteq": ("ist höchstens", "is at most"),
    "isA": ("ist eine Art von", "is a kind of"),
    "hasPart": ("umfasst", "includes"),
    "isPartOf": ("liegt in", "is within"),
    "isAllOf": ("ist alles von", "is all of"),
    "isAnyOf": ("ist eines von", "is one of"),
    "isNoneOf": ("ist keines von", "is none of"),
}
JOINS = {
    "and": (" und ", " and "),
    "andSequence": (" und danach ", " and then "),
    "or": (" oder ", " or "),
    "xone": (" oder (genau eines) ", " or (exactly one) "),
}
VALUES = {
    "research": ("Forschung", "research"),
    "academicResearch": ("akademische Forschung", "academic research"),
    "nonCommercial": ("nicht kommerziell", "non-commercial"),
    "commercial": ("kommerziell", "commercial"),
    "publicTask": ("öffentliche Aufgabe", "public task"),
    "statistics": ("Statistik", "statistics"),
    "education": ("Bildung", "education"),
}


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "de" else pair[1]


def _name(iri: str) -> str:
    for prefix in (ODRL, ALLMENDE):
        if iri.startswith(prefix):
            return iri.removeprefix(prefix)
    return iri


def term_label(iri: str, language: str = "de") -> str:
    """A purpose or other term in plain words, e.g. allmende:research as "Forschung"."""
    name = _name(iri)
    return _pick(VALUES[name], language) if name in VALUES else name


def _value(value: Literal | Ref, language: str) -> str:
    if isinstance(value, Ref):
        return term_label(value.iri, language)
    if isinstance(value.value, bool):
        return ("ja" if value.value else "nein") if language == "de" else str(value.value).lower()
    return str(value.value)


def _constraint(constraint: Constraint | LogicalConstraint, language: str) -> str:
    if isinstance(constraint, LogicalConstraint):
        join = _pick(JOINS.get(_name(constraint.operator), (" / ", " / ")), language)
        return "(" + join.join(_constraint(c, language) for c in constraint.constraints) + ")"
    left = _name(constraint.left_operand)
    operator = _name(constraint.operator)
    values = ", ".join(_value(v, language) for v in constraint.right_operand)
    unit = f" {_name(constraint.unit)}" if constraint.unit else ""
    return (
        f"{_pick(OPERANDS.get(left, (left, left)), language)} "
        f"{_pick(OPERATORS.get(operator, (operator, operator)), language)} {values}{unit}"
    )


def _action(rule: Rule, language: str) -> str:
    name = _name(rule.action)
    return _pick(ACTIONS.get(name, (name, name)), language)


def _rule(rule: Rule, language: str) -> str:
    text = _action(rule, language)
    if rule.constraints:
        word = " wenn " if language == "de" else " if "
        text += word + (" und " if language == "de" else " and ").join(
            _constraint(c, language) for c in rule.constraints
        )
    return text


def explain(policy: Policy, language: str = "de") -> list[str]:
    """Sentences, most important first: what is allowed, under which conditions, what is owed."""
    sentences: list[str] = []
    for literal in policy.description:
        if literal.language in (language, None):
            sentences.append(str(literal.value))
            break
    for permission in policy.permissions:
        lead = "Erlaubt: " if language == "de" else "Allowed: "
        sentences.append(lead + _rule(permission, language) + ".")
        for duty in permission.duties:
            lead = "Dabei Pflicht: " if language == "de" else "Owed in return: "
            note = next((str(d.value) for d in duty.description), "")
            sentences.append(lead + _rule(duty, language) + (f" ({note})" if note else "") + ".")
    for prohibition in policy.prohibitions:
        lead = "Verboten: " if language == "de" else "Not allowed: "
        sentences.append(lead + _rule(prohibition, language) + ".")
    for obligation in policy.obligations:
        lead = "Pflicht: " if language == "de" else "Obligation: "
        sentences.append(lead + _rule(obligation, language) + ".")
    return sentences
