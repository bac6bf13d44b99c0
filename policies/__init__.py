"""ODRL 2.2 usage policies: model, JSON-LD/RDF forms, evaluation, signing, templates.

Pure: nothing here touches the network, the database or `node/`. The node reads a policy
(`from_jsonld`), decides requests against it (`evaluate`) and signs offers and agreements
(`policies.signing`); RDF conversion lives in `policies.rdf` (it needs rdflib).
"""

from allmende.policies.evaluator import (
    CompiledPolicy,
    Decision,
    DutyToFulfil,
    Outcome,
    Request,
    compile_policy,
    evaluate,
    obligations,
    permits_federation_sharing,
    policy_problems,
)
from allmende.policies.inheritance import atomic, inherit
from allmende.policies.jsonld import from_jsonld, to_jsonld
from allmende.policies.model import (
    Collection,
    CollectionKind,
    ConflictTerm,
    Constraint,
    Literal,
    LogicalConstraint,
    Policy,
    PolicyError,
    PolicyType,
    Ref,
    Rule,
    RuleKind,
)

__all__ = [
    "Collection",
    "CollectionKind",
    "CompiledPolicy",
    "ConflictTerm",
    "Constraint",
    "Decision",
    "DutyToFulfil",
    "Literal",
    "LogicalConstraint",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyType",
    "Ref",
    "Request",
    "Rule",
    "RuleKind",
    "atomic",
    "compile_policy",
    "evaluate",
    "from_jsonld",
    "inherit",
    "obligations",
    "permits_federation_sharing",
    "policy_problems",
    "to_jsonld",
]
