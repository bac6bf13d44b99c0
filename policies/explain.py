"""A policy in plain words, German or English, for the people a dataset page is for.

Derived from the rules themselves, not from a stored text, so the words can never promise
more than the policy grants. The policy's own title and description, when it has them,
come first. The words are the English message ids of the `policies` catalog
(policies/texts.py), translated for the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable

from allmende.policies import texts
from allmende.policies.model import Constraint, Literal, LogicalConstraint, Policy, Ref, Rule
from allmende.policies.terms import ALLMENDE, ODRL
from allmende.policies.texts import N_, NP_

ACTIONS = {
    "use": N_("use"),
    "read": N_("read"),
    "reproduce": N_("reproduce"),
    "distribute": N_("distribute"),
    "aggregate": N_("aggregate"),
    "derive": N_("derive"),
    "modify": N_("modify"),
    "commercialize": N_("commercialise"),
    "transfer": N_("transfer"),
    "attribute": N_("attribute the source"),
    "delete": N_("delete the data"),
    "inform": N_("inform"),
    "compensate": N_("compensate"),
}
OPERANDS = {
    "purpose": N_("the purpose"),
    "dateTime": N_("the time"),
    "elapsedTime": N_("the time since the agreement"),
    "spatial": N_("the place"),
    "recipient": N_("the recipient"),
    "count": N_("the number of uses"),
    "amtMembership": N_("the membership in the Amt"),
    "organisationType": N_("the organisation type"),
    "aggregation": N_("aggregation"),
}
OPERATORS = {
    "eq": N_("is"),
    "neq": N_("is not"),
    "gt": N_("is after"),
    "gteq": N_("is at least"),
    "lt": N_("is before"),
    "lteq": N_("is at most"),
    "isA": N_("is a kind of"),
    "hasPart": N_("includes"),
    "isPartOf": N_("is within"),
    "isAllOf": N_("is all of"),
    "isAnyOf": N_("is one of"),
    "isNoneOf": N_("is none of"),
}
JOINS = {
    "and": N_("and"),
    "andSequence": N_("and then"),
    "or": N_("or"),
    "xone": N_("or (exactly one)"),
}
VALUES = {
    "research": N_("research"),
    "academicResearch": N_("academic research"),
    "nonCommercial": N_("non-commercial"),
    "commercial": N_("commercial"),
    "publicTask": N_("public task"),
    "statistics": N_("statistics"),
    "education": N_("education"),
}


def _tr(language: str) -> Callable[[str], str]:
    return texts.gettext(language)


def _name(iri: str) -> str:
    for prefix in (ODRL, ALLMENDE):
        if iri.startswith(prefix):
            return iri.removeprefix(prefix)
    return iri


def term_label(iri: str, language: str = "de") -> str:
    """A purpose or other term in plain words, e.g. allmende:research as "Forschung"."""
    name = _name(iri)
    return _tr(language)(VALUES[name]) if name in VALUES else name


def _value(value: Literal | Ref, language: str) -> str:
    if isinstance(value, Ref):
        return term_label(value.iri, language)
    if isinstance(value.value, bool):
        return _tr(language)(N_("yes") if value.value else N_("no"))
    if isinstance(value.value, str) and value.value[:4].isdigit():
        return texts.day_text(value.value, language) or value.value
    return str(value.value)


def _word(table: dict[str, str], name: str, language: str) -> str:
    return _tr(language)(table[name]) if name in table else name


def _constraint(constraint: Constraint | LogicalConstraint, language: str) -> str:
    _ = _tr(language)
    if isinstance(constraint, LogicalConstraint):
        operator = _name(constraint.operator)
        join = f" {_(JOINS[operator])} " if operator in JOINS else " / "
        return "(" + join.join(_constraint(c, language) for c in constraint.constraints) + ")"
    left = _name(constraint.left_operand)
    operator = _name(constraint.operator)
    shown = _duration if left == "elapsedTime" else _value
    values = ", ".join(shown(v, language) for v in constraint.right_operand)
    unit = f" {_name(constraint.unit)}" if constraint.unit else ""
    return _("%(operand)s %(operator)s %(value)s") % {
        "operand": _word(OPERANDS, left, language),
        "operator": _word(OPERATORS, operator, language),
        "value": values + unit,
    }


def _action(rule: Rule, language: str) -> str:
    return _word(ACTIONS, _name(rule.action), language)


def _rule(rule: Rule, language: str) -> str:
    text = _action(rule, language)
    if rule.constraints:
        _ = _tr(language)
        conditions = f" {_('and')} ".join(_constraint(c, language) for c in rule.constraints)
        text = _("%(action)s if %(conditions)s") % {"action": text, "conditions": conditions}
    return text


def explain(policy: Policy, language: str = "de") -> list[str]:
    """Sentences, most important first: what is allowed, under which conditions, what is owed."""
    _ = _tr(language)
    sentences: list[str] = []
    for literal in policy.description:
        if literal.language in (language, None):
            sentences.append(str(literal.value))
            break
    for permission in policy.permissions:
        sentences.append(_("Allowed: %(rule)s.") % {"rule": _rule(permission, language)})
        for duty in permission.duties:
            note = next((str(d.value) for d in duty.description), "")
            rule = _rule(duty, language) + (f" ({note})" if note else "")
            sentences.append(_("Owed in return: %(rule)s.") % {"rule": rule})
    for prohibition in policy.prohibitions:
        sentences.append(_("Not allowed: %(rule)s.") % {"rule": _rule(prohibition, language)})
    for obligation in policy.obligations:
        sentences.append(_("Obligation: %(rule)s.") % {"rule": _rule(obligation, language)})
    return sentences


WHO, PURPOSE, UNTIL, DUTIES, FORBIDDEN = "who", "purpose", "until", "duties", "forbidden"
HEADINGS = {
    WHO: N_("Who may use it?"),
    PURPOSE: N_("For what?"),
    UNTIL: N_("Until when?"),
    DUTIES: N_("With which duties?"),
    FORBIDDEN: N_("What is not allowed?"),
}
"""The questions a dataset page answers about its terms, in this order."""
_WHO_OPERANDS = {"recipient", "amtMembership", "organisationType", "spatial"}
_UNTIL_WORDS = {"lteq": N_("up to and including %(end)s"), "lt": N_("until before %(end)s")}
_DURATION = {
    "D": NP_("%(num)s day", "%(num)s days"),
    "M": NP_("%(num)s month", "%(num)s months"),
    "Y": NP_("%(num)s year", "%(num)s years"),
}


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
        count = int(text[1:-1])
        singular, plural = _DURATION[text[-1]]
        return texts.translations(language).ngettext(singular, plural, count) % {"num": count}
    return text


def _until(constraint: Constraint, language: str) -> str | None:
    """An end the constraint sets, in words: a last date, or a span from the agreement."""
    _ = _tr(language)
    left, operator = _name(constraint.left_operand), _name(constraint.operator)
    if not constraint.right_operand:
        return None
    value = constraint.right_operand[0]
    if left == "dateTime" and operator in _UNTIL_WORDS:
        return _(_UNTIL_WORDS[operator]) % {"end": _value(value, language)}
    if left == "elapsedTime" and operator in ("lt", "lteq"):
        return _("%(span)s from the agreement") % {"span": _duration(value, language)}
    return None


def plain_terms(
    policy: Policy | None, language: str, *, open_data: bool, publisher: str, licence: str = ""
) -> list[tuple[str, str]]:
    """Who may use the data, for what, until when, with which duties, and what is not
    allowed: one plain answer per question, never silent about a restriction.

    `open_data`: the dataset is open data (open licence, public access); otherwise it opens
    only under an agreement with `publisher`, and the page must say so even when the
    dataset carries no policy of its own."""
    _ = _tr(language)
    permissions = policy.permissions if policy else ()
    constraints = [c for rule in permissions for c in _leaves(rule.constraints)]
    by_operand: dict[str, list[Constraint]] = {}
    for constraint in constraints:
        by_operand.setdefault(_name(constraint.left_operand), []).append(constraint)

    if open_data:
        who = _("Anyone: open data")
    else:
        who = _(
            "Only holders of an agreement with %(publisher)s; without one, this node "
            "shows no readings, sensors or places"
        ) % {"publisher": publisher}
    if policy and policy.assignee:
        who += " (" + _("only %(party)s") % {"party": policy.assignee} + ")"
    conditions = [
        _constraint(c, language)
        for operand in sorted(_WHO_OPERANDS & by_operand.keys())
        for c in by_operand[operand]
    ]
    if conditions:
        who += "; " + _("condition: %(conditions)s") % {"conditions": "; ".join(conditions)}

    purposes = [_value(v, language) for c in by_operand.get("purpose", []) for v in c.right_operand]
    purpose = (
        _("only for: %(purposes)s") % {"purposes": ", ".join(purposes)}
        if purposes
        else _("any purpose")
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
        until = _("no end date")
    else:
        until = _("as long as the agreement holds (the municipality may revoke it)")

    owed = [rule for permission in permissions for rule in permission.duties]
    owed += list(policy.obligations) if policy else []
    duty_texts = []
    for duty in owed:
        note = next((str(d.value) for d in duty.description), "")
        duty_texts.append(_rule(duty, language) + (f" ({note})" if note else ""))
    if open_data and licence:
        duty_texts.append(_("the terms of the licence „%(licence)s“") % {"licence": licence})
    duties = "; ".join(duty_texts) or _("none")

    answers = [(WHO, who), (PURPOSE, purpose), (UNTIL, until), (DUTIES, duties)]
    if policy and policy.prohibitions:
        answers.append((FORBIDDEN, "; ".join(_rule(p, language) for p in policy.prohibitions)))
    return [(_(HEADINGS[key]), text) for key, text in answers]
