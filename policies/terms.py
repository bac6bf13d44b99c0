"""The vocabulary the policy layer understands, spelled out once.

ODRL 2.2 terms (actions and their `includedIn` tree, operators, left operands) plus the few
terms of our own under the Allmende namespace: three left operands and two small concept
hierarchies (purposes and organisation types) so that `isA` has something to reason over.
Everything else is an unknown term, and unknown terms never grant anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ODRL = "http://www.w3.org/ns/odrl/2/"
ALLMENDE = "https://w3id.org/allmende/ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
DSPACE = "https://w3id.org/dspace/2025/1/"

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"

# Policy metadata the ODRL 2.2 model recommends (section 2.8), beyond title and description.
POLICY_METADATA = tuple(
    DCT + name for name in ("creator", "issued", "modified", "coverage", "replaces", "isReplacedBy")
)
IS_REPLACED_BY = DCT + "isReplacedBy"
ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"


def odrl(name: str) -> str:
    return ODRL + name


def allmende(name: str) -> str:
    return ALLMENDE + name


# Operators (ODRL 2.2 common vocabulary) and the logical operators of LogicalConstraint.
EQ, NEQ, GT, GTEQ, LT, LTEQ = (odrl(n) for n in ("eq", "neq", "gt", "gteq", "lt", "lteq"))
IS_A, HAS_PART, IS_PART_OF = (odrl(n) for n in ("isA", "hasPart", "isPartOf"))
IS_ALL_OF, IS_ANY_OF, IS_NONE_OF = (odrl(n) for n in ("isAllOf", "isAnyOf", "isNoneOf"))
OPERATORS = frozenset(
    {EQ, NEQ, GT, GTEQ, LT, LTEQ, IS_A, HAS_PART, IS_PART_OF, IS_ALL_OF, IS_ANY_OF, IS_NONE_OF}
)
AND, OR, XONE, AND_SEQUENCE = (odrl(n) for n in ("and", "or", "xone", "andSequence"))

# Party functions of the Common Vocabulary besides assigner and assignee (a duty's
# `attributedParty` is whom to attribute, its `compensatedParty` whom to pay, ...).
PARTY_FUNCTIONS = tuple(
    f"{verb}{role}Party"
    for verb in ("attribut", "compensat", "consent", "contract", "inform", "track")
    for role in ("ed", "ing")
)
LOGICAL_OPERATORS = (AND, OR, XONE, AND_SEQUENCE)

# Left operands we evaluate: ODRL's own ...
DATE_TIME = odrl("dateTime")
ELAPSED_TIME = odrl("elapsedTime")
PURPOSE = odrl("purpose")
SPATIAL = odrl("spatial")
RECIPIENT = odrl("recipient")
COUNT = odrl("count")
# ... and ours.
AMT_MEMBERSHIP = allmende("amtMembership")
ORGANISATION_TYPE = allmende("organisationType")
AGGREGATION = allmende("aggregation")

# Actions: the ODRL 2.2 Common Vocabulary's `includedIn` tree (child -> parent), as the
# Recommendation of 15 February 2018 states it. `use` and `transfer` are the roots; `display`
# is included in `play`, `extract` in `reproduce`, the Creative Commons actions in `use`.
CC = "http://creativecommons.org/ns#"
USE = odrl("use")
TRANSFER = odrl("transfer")
READ = odrl("read")
MODIFY = odrl("modify")
DISTRIBUTE = odrl("distribute")
ATTRIBUTE = odrl("attribute")
DELETE = odrl("delete")
_USE_CHILDREN = [
    "acceptTracking",
    "aggregate",
    "annotate",
    "anonymize",
    "archive",
    "attribute",
    "compensate",
    "concurrentUse",
    "delete",
    "derive",
    "digitize",
    "distribute",
    "ensureExclusivity",
    "execute",
    "grantUse",
    "include",
    "index",
    "inform",
    "install",
    "modify",
    "move",
    "nextPolicy",
    "obtainConsent",
    "play",
    "present",
    "print",
    "read",
    "reproduce",
    "reviewPolicy",
    "stream",
    "synchronize",
    "textToSpeech",
    "transform",
    "translate",
    "uninstall",
    "watermark",
]
_CC_ACTIONS = [
    "Attribution",
    "CommercialUse",
    "DerivativeWorks",
    "Distribution",
    "Notice",
    "Reproduction",
    "ShareAlike",
    "Sharing",
    "SourceCode",
]
ACTION_PARENT: Mapping[str, str] = MappingProxyType(
    {
        **{odrl(name): USE for name in _USE_CHILDREN},
        **{CC + name: USE for name in _CC_ACTIONS},
        odrl("display"): odrl("play"),
        odrl("extract"): odrl("reproduce"),
        odrl("give"): TRANSFER,
        odrl("sell"): TRANSFER,
    }
)
ACTION_REPLACED_BY: Mapping[str, str] = MappingProxyType(
    {
        **{odrl(name): MODIFY for name in ("write", "writeTo", "append", "appendTo")},
        odrl("copy"): odrl("reproduce"),
        odrl("pay"): odrl("compensate"),
        odrl("license"): odrl("grantUse"),
        odrl("export"): odrl("transform"),
        odrl("commercialize"): CC + "CommercialUse",
        odrl("share"): CC + "Sharing",
        odrl("shareAlike"): CC + "ShareAlike",
        odrl("attachPolicy"): CC + "Notice",
        odrl("attachSource"): CC + "SourceCode",
    }
)
"""Deprecated ODRL actions and the term the vocabulary says replaces them (`skos:exactMatch`):
`write` is `modify`, so a permission to write is one to modify and the other way round.
The deprecated actions without a replacement (`lease`, `lend`, `preview`, ...) stay unknown."""
ACTIONS = frozenset({USE, TRANSFER, *ACTION_PARENT})


def _descendants(parent_of: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each term with itself and everything below it (transitively)."""
    below: dict[str, set[str]] = {}
    for child in parent_of:
        node: str | None = child
        seen: set[str] = set()
        while node is not None and node not in seen:
            seen.add(node)
            below.setdefault(node, set()).add(child)
            node = parent_of.get(node)
    for term in (*parent_of.values(), *parent_of):
        below.setdefault(term, set()).add(term)
    return {term: frozenset(terms) for term, terms in below.items()}


def _ancestors(parent_of: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each term with itself and everything above it (transitively)."""
    above: dict[str, frozenset[str]] = {}
    for term in (*parent_of, *parent_of.values()):
        chain: list[str] = []
        node: str | None = term
        while node is not None and node not in chain:
            chain.append(node)
            node = parent_of.get(node)
        above[term] = frozenset(chain)
    return above


ACTIONS_COVERED: Mapping[str, frozenset[str]] = MappingProxyType(_descendants(ACTION_PARENT))
"""A rule about action A is also about every action A includes: `use` covers `read`."""


class ActionVocabulary:
    """Actions and how they relate: `includedIn` (a rule about an action is about every action
    it includes), `implies` (exercising an action needs the implied one not to be prohibited)
    and replaced terms (a deprecated action means its replacement).

    `ODRL_ACTIONS` is the ODRL 2.2 Common Vocabulary, which states no `implies`; a profile
    adds its own actions with `extend` (or `policies.rdf.actions_from_graph` reads them from
    the profile's RDF, e.g. `ex:myAction odrl:includedIn odrl:use; odrl:implies odrl:distribute`).
    """

    __slots__ = (
        "_ancestors",
        "_covered",
        "_implied",
        "_replaced",
        "implies",
        "parent",
        "replaced_by",
    )

    def __init__(
        self,
        parent: Mapping[str, str],
        implies: Mapping[str, frozenset[str]] | None = None,
        replaced_by: Mapping[str, str] | None = None,
    ) -> None:
        self.parent: Mapping[str, str] = MappingProxyType(dict(parent))
        self.implies: Mapping[str, frozenset[str]] = MappingProxyType(dict(implies or {}))
        self.replaced_by: Mapping[str, str] = MappingProxyType(dict(replaced_by or {}))
        self._covered = _descendants(self.parent)
        self._ancestors = _ancestors(self.parent)
        self._implied: dict[str, frozenset[str]] = {}
        self._replaced = dict(self.replaced_by)  # a plain dict: looked up on every decision

    def extend(
        self,
        parent: Mapping[str, str] | None = None,
        implies: Mapping[str, frozenset[str]] | None = None,
        replaced_by: Mapping[str, str] | None = None,
    ) -> ActionVocabulary:
        """This vocabulary plus a profile's actions (the profile's statements win)."""
        merged_implies = dict(self.implies)
        for action, implied in (implies or {}).items():
            merged_implies[action] = merged_implies.get(action, frozenset()) | implied
        return ActionVocabulary(
            {**self.parent, **(parent or {})},
            merged_implies,
            {**self.replaced_by, **(replaced_by or {})},
        )

    def canonical(self, action: str) -> str:
        """The term to reason with: a replaced (deprecated) action becomes its replacement."""
        return self._replaced.get(action, action)

    def covered(self, action: str) -> frozenset[str]:
        """The action and every action it includes, transitively."""
        return self._covered.get(action, frozenset({action}))

    def ancestors(self, action: str) -> frozenset[str]:
        """The action and every action that includes it, transitively."""
        return self._ancestors.get(action, frozenset({action}))

    def implied(self, action: str) -> frozenset[str]:
        """Actions that exercising `action` implies (its own and those of its ancestors)."""
        found = self._implied.get(action)
        if found is None:
            found = frozenset(
                self.canonical(implied)
                for ancestor in self.ancestors(action)
                for implied in self.implies.get(ancestor, ())
            )
            self._implied[action] = found
        return found


ODRL_ACTIONS = ActionVocabulary(ACTION_PARENT, {}, ACTION_REPLACED_BY)
"""The ODRL 2.2 Common Vocabulary's actions, the default for every evaluation."""

# Purposes (`odrl:purpose` right operands and request purposes), a small is-a tree.
_PURPOSE_PARENT_NAMES = {
    "research": "nonCommercial",
    "academicResearch": "research",
    "statistics": "nonCommercial",
    "education": "nonCommercial",
    "journalism": "nonCommercial",
    "civicInformation": "nonCommercial",
    "publicTask": "nonCommercial",
    "municipalPlanning": "publicTask",
    "emergencyResponse": "publicTask",
    "marketing": "commercial",
    "productDevelopment": "commercial",
    "commercialResearch": "commercial",
}
PURPOSE_PARENT: Mapping[str, str] = MappingProxyType(
    {allmende(child): allmende(parent) for child, parent in _PURPOSE_PARENT_NAMES.items()}
)
PURPOSE_ANCESTORS: Mapping[str, frozenset[str]] = MappingProxyType(_ancestors(PURPOSE_PARENT))

# Organisation types (`allmende:organisationType`), also an is-a tree.
_ORGANISATION_PARENT_NAMES = {
    "municipality": "publicBody",
    "municipalAssociation": "publicBody",
    "county": "publicBody",
    "stateAgency": "publicBody",
    "university": "researchOrganisation",
    "researchInstitute": "researchOrganisation",
    "utility": "company",
    "association": "nonProfit",
}
ORGANISATION_PARENT: Mapping[str, str] = MappingProxyType(
    {allmende(child): allmende(parent) for child, parent in _ORGANISATION_PARENT_NAMES.items()}
)
ORGANISATION_ANCESTORS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        **_ancestors(ORGANISATION_PARENT),
        **{allmende(n): frozenset({allmende(n)}) for n in ("citizen", "researchOrganisation")},
    }
)
