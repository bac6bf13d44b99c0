"""ODRL 2.2 usage policies: model, JSON-LD/RDF forms, evaluation, signing, templates.

Pure: nothing here touches the network, the database or `node/`. The node reads a policy
(`from_jsonld`), decides requests against it (`evaluate`) and signs offers and agreements
(`policies.signing`); RDF conversion lives in `policies.rdf` (it needs rdflib).
"""

from policies.evaluator import (
    CompiledPolicy,
    Decision,
    DutyToFulfil,
    Outcome,
    Request,
    compile_policy,
    evaluate,
    permits_federation_sharing,
    policy_problems,
)
from policies.jsonld import from_jsonld, to_jsonld
from policies.model import (
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
    "compile_policy",
    "evaluate",
    "from_jsonld",
    "permits_federation_sharing",
    "policy_problems",
    "to_jsonld",
]
