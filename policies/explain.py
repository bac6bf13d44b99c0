"""A policy in plain words, German or English, for the people a dataset page is for.

Derived from the rules themselves, not from a stored text, so the words can never promise
more than the policy grants. The policy's own title and description, when it has them,
come first.
"""

from __future__ import annotations

from allmende.policies.model import Constraint, Literal, LogicalConstraint, Policy, Ref, Rule
from allmende.policies.terms import ALLMENDE, ODRL

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
    shown = _duration if left == "elapsedTime" else _value
    values = ", ".join(shown(v, language) for v in constraint.right_operand)
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


WHO, PURPOSE, UNTIL, DUTIES, FORBIDDEN = "who", "purpose", "until", "duties", "forbidden"
HEADINGS = {
    WHO: ("Wer darf sie nutzen?", "Who may use it?"),
    PURPOSE: ("Wofür?", "For what?"),
    UNTIL: ("Bis wann?", "Until when?"),
    DUTIES: ("Mit welchen Pflichten?", "With which duties?"),
    FORBIDDEN: ("Was ist verboten?", "What is not allowed?"),
}
"""The questions a dataset page answers about its terms, in this order."""
_WHO_OPERANDS = {"recipient", "amtMembership", "organisationType", "spatial"}
_UNTIL_WORDS = {
    "lteq": ("bis einschließlich ", "up to and including "),
    "lt": ("bis vor dem ", "until before "),
}
_DURATION = {"D": ("Tage", "days"), "M": ("Monate", "months"), "Y": ("Jahre", "years")}


def _leaves(constraints: tuple[Constraint | LogicalConstraint, ...]) -> list[Constraint]:
    """Constraints joined by `and` (directly or nested); alternatives are left to the
    sentences, which spell them out."""
    found: list[Constraint] = []
    for constraint in constraints:
        if isinstance(constraint, Constraint):
            found.append(constraint)
        elif _name(constraint.operator) in ("and", "andSequence"):
            found.extend(_leaves(constraint.constraints))
    return found


def _duration(value: Literal | Ref, language: str) -> str:
    text = str(value.value) if isinstance(value, Literal) else value.iri
    if text.startswith("P") and text[1:-1].isdigit() and text[-1] in _DURATION:
        return f"{text[1:-1]} {_pick(_DURATION[text[-1]], language)}"
    return text


def _until(constraint: Constraint, language: str) -> str | None:
    """An end the constraint sets, in words: a last date, or a span from the agreement."""
    left, operator = _name(constraint.left_operand), _name(constraint.operator)
    if not constraint.right_operand:
        return None
    value = constraint.right_operand[0]
    if left == "dateTime" and operator in _UNTIL_WORDS:
        return _pick(_UNTIL_WORDS[operator], language) + _value(value, language)
    if left == "elapsedTime" and operator in ("lt", "lteq"):
        span = _duration(value, language)
        return (
            f"{span} ab Abschluss der Vereinbarung"
            if language == "de"
            else (f"{span} from the agreement")
        )
    return None


def plain_terms(
    policy: Policy | None, language: str, *, open_data: bool, publisher: str, licence: str = ""
) -> list[tuple[str, str]]:
    """Who may use the data, for what, until when, with which duties, and what is not
    allowed: one plain answer per question, never silent about a restriction.

    `open_data`: the dataset is open data (open licence, public access); otherwise it opens
    only under an agreement with `publisher`, and the page must say so even when the
    dataset carries no policy of its own."""
    de = language == "de"
    permissions = policy.permissions if policy else ()
    constraints = [c for rule in permissions for c in _leaves(rule.constraints)]
    by_operand: dict[str, list[Constraint]] = {}
    for constraint in constraints:
        by_operand.setdefault(_name(constraint.left_operand), []).append(constraint)

    if open_data:
        who = "Alle: offene Daten" if de else "Anyone: open data"
    else:
        who = (
            f"Nur wer eine Vereinbarung mit {publisher} hat; ohne sie zeigt dieser Knoten "
            "weder Messwerte noch Sensoren oder Orte"
            if de
            else f"Only holders of an agreement with {publisher}; without one, this node "
            "shows no readings, sensors or places"
        )
    if policy and policy.assignee:
        who += f" ({'nur' if de else 'only'} {policy.assignee})"
    conditions = [
        _constraint(c, language)
        for operand in sorted(_WHO_OPERANDS & by_operand.keys())
        for c in by_operand[operand]
    ]
    if conditions:
        who += "; " + ("Bedingung: " if de else "condition: ") + "; ".join(conditions)

    purposes = [_value(v, language) for c in by_operand.get("purpose", []) for v in c.right_operand]
    purpose = (
        (("nur für: " if de else "only for: ") + ", ".join(purposes))
        if purposes
        else ("für jeden Zweck" if de else "any purpose")
    )

    ends = [
        text
        for operand in ("dateTime", "elapsedTime")
        for c in by_operand.get(operand, [])
        if (text := _until(c, language))
    ]
    if ends:
        until = "; ".join(ends)
    elif open_data:
        until = "unbefristet" if de else "no end date"
    else:
        until = (
            "solange die Vereinbarung gilt (die Gemeinde kann sie widerrufen)"
            if de
            else "as long as the agreement holds (the municipality may revoke it)"
        )

    owed = [rule for permission in permissions for rule in permission.duties]
    owed += list(policy.obligations) if policy else []
    duty_texts = []
    for duty in owed:
        note = next((str(d.value) for d in duty.description), "")
        duty_texts.append(_rule(duty, language) + (f" ({note})" if note else ""))
    if open_data and licence:
        duty_texts.append(
            f"die Bedingungen der Lizenz „{licence}“"
            if de
            else f"the terms of the licence {licence}"
        )
    duties = "; ".join(duty_texts) or ("keine" if de else "none")

    answers = [(WHO, who), (PURPOSE, purpose), (UNTIL, until), (DUTIES, duties)]
    if policy and policy.prohibitions:
        answers.append((FORBIDDEN, "; ".join(_rule(p, language) for p in policy.prohibitions)))
    return [(_pick(HEADINGS[key], language), text) for key, text in answers]
