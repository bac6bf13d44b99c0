"""Agreements: a dataset's signed offer, bound to one assignee, and the tokens that use it.

An agreement is the dataset's offer turned into an `odrl:Agreement` for one assignee, at
one time, signed by the node as provider (`policies.signing`), so the partner can prove
later what was agreed. A token (a short-lived EdDSA JWT, role `access`) names the
agreement and the purpose of a use; enforcement re-evaluates the agreement on every use.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from allmende.node.auth import mint_token
from allmende.node.catalog.models import PUBLISHED, full_description, load_dataset
from allmende.node.catalog.rdf import dataset_iri
from allmende.node.messages import Joined, say
from allmende.node.runtime import Node
from allmende.node.usage.models import Agreement
from allmende.policies import terms
from allmende.policies.evaluator import Request, evaluate
from allmende.policies.jsonld import from_jsonld, to_jsonld
from allmende.policies.model import Policy, PolicyType, Rule, RuleKind
from allmende.policies.signing import sign_policy

TOKEN_TTL = 3600
MAX_TOKEN_TTL = 24 * 3600


class AgreementError(ValueError):
    """Terms that cannot be agreed; the message names what is wrong."""


def purpose_iri(value: str | None) -> str | None:
    """A purpose as an IRI; `allmende:research` or `research` name our own purposes."""
    if value is None or "://" in value:
        return value
    return terms.ALLMENDE + value.removeprefix("allmende:")


def dataset_offer(node: Node, dataset_id: str) -> dict[str, Any]:
    """The published dataset's offer; open data without a policy offers `use` unconditionally.

    Raises AgreementError when there is no such published dataset.
    """
    with Session(node.engine) as session:
        row = load_dataset(session, dataset_id)
        if row is None or row.status != PUBLISHED:
            raise AgreementError(
                say("there is no published dataset '%(dataset)s'", dataset=dataset_id)
            )
        offer = full_description(session, row).get("policy")
    if offer:
        return dict(offer)
    target = dataset_iri(node.base_url, dataset_id)
    return to_jsonld(
        Policy(
            type=PolicyType.OFFER,
            uid=f"{target}#offer",
            target=target,
            assigner=node.id,
            permissions=(Rule(kind=RuleKind.PERMISSION, action=terms.USE),),
        )
    )


def grant(
    node: Node,
    dataset_id: str,
    assignee: str,
    *,
    purpose: str | None = None,
    attributes: dict[str, Any] | None = None,
    expires: datetime | None = None,
    recipient: str | None = None,
    place: str | None = None,
    assigner: str | None = None,
) -> Agreement:
    """Bind the dataset's offer to `assignee`; refuse terms its policy would never permit.
    `recipient` and `place` are what the assignee declared (a DSP request's constraints);
    the agreement's attributes keep them beside the verified facts. `assigner`: how the
    node names itself to this assignee (its DID for a partner known by DCP), else the
    offer's."""
    now = datetime.now(UTC)
    offer = dataset_offer(node, dataset_id)
    agreement_id = f"urn:uuid:{uuid.uuid4()}"
    offered = from_jsonld(offer)
    policy = dataclasses.replace(
        offered,
        assigner=assigner or offered.assigner,
        uid=agreement_id,
        type=PolicyType.AGREEMENT,
        assignee=assignee,
        timestamp=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    declared = {"recipient": recipient, "place": place}
    row_attributes = {**(attributes or {}), **{k: v for k, v in declared.items() if v}}
    check = Request(
        action=terms.USE,
        assignee=assignee,
        target=policy.target,
        attributes=row_attributes,
        purpose=purpose_iri(purpose),
        recipient=recipient,
        place=place,
        time=now,
        agreement_start=now,
    )
    decision = evaluate(policy, check)
    if not decision.permitted:
        reasons = Joined(decision.reasons or (decision.outcome.value,))
        raise AgreementError(
            say("the dataset's policy does not permit this use: %(reasons)s", reasons=reasons)
        )
    document = sign_policy(to_jsonld(policy), node.key.private, node.key.kid)
    agreement = Agreement(
        id=agreement_id,
        dataset_id=dataset_id,
        assignee=assignee,
        purpose=purpose_iri(purpose),
        attributes=json.dumps(row_attributes),
        document=json.dumps(document, ensure_ascii=False),
        created=now,
        expires=expires,
    )
    with Session(node.engine) as session:
        session.add(agreement)
        session.commit()
        session.refresh(agreement)
    return agreement


def revoke(node: Node, agreement_id: str) -> Agreement | None:
    """Stop an agreement now: enforcement reads it on every use."""
    with Session(node.engine) as session:
        agreement = session.get(Agreement, agreement_id)
        if agreement is None:
            return None
        if agreement.revoked is None:
            agreement.revoked = datetime.now(UTC)
            session.add(agreement)
            session.commit()
            session.refresh(agreement)
        return agreement


def access_token(
    node: Node,
    agreement: Agreement,
    *,
    purpose: str | None = None,
    ttl: int = TOKEN_TTL,
    transfer: str | None = None,
) -> str:
    """A short-lived token for using the agreement's dataset for one purpose.

    A token issued for a DSP transfer names it; it works only while the transfer runs.
    """
    extra = {"transfer": transfer} if transfer is not None else {}
    return mint_token(
        node.key,
        node.id,
        role="access",
        subject=agreement.assignee,
        ttl=ttl,
        extra={
            "agreement": agreement.id,
            "dataset": agreement.dataset_id,
            "purpose": purpose_iri(purpose) or agreement.purpose,
            **extra,
        },
    )
