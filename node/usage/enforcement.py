"""Enforcement: every use of a restricted dataset is decided here, and written down.

Downloads, the observations API, SPARQL and transfers ask the same question: does this
request carry a token of ours, for this dataset, bound to an agreement that is neither
revoked nor expired and whose policy permits the use now, for the token's purpose? Each
answer (permit or deny, and why) goes into the audit log in the same step.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlmodel import Session

from allmende.node.auth import AuthError, verify_token
from allmende.node.http.problems import Problem
from allmende.node.http.security import CHALLENGE, bearer
from allmende.node.messages import Joined, say
from allmende.node.runtime import Node
from allmende.node.usage.models import Agreement, AuditEntry
from allmende.policies import terms
from allmende.policies.evaluator import Request, evaluate
from allmende.policies.signing import signed_policy
from allmende.vocab.messages import stored

PERMIT, DENY = "permit", "deny"
ANONYMOUS = "anonymous"
AGGREGATED_CHANNELS: dict[str, bool | None] = {"observations": False, "download": None}
"""What a channel tells the `allmende:aggregation` operand: the observations API gives
single sensors' values; for other channels it is not known, so an aggregated-only policy
stays undecided there (never a permit)."""


@dataclass(frozen=True)
class Verdict:
    decision: str
    reason: str
    status: int = 200
    subject: str = ANONYMOUS
    purpose: str | None = None
    agreement: str | None = None
    duties: tuple[str, ...] = ()

    @property
    def permitted(self) -> bool:
        return self.decision == PERMIT


TOKEN_CHECKS: dict[str, Callable[[Node, Any, str], str | None]] = {}
"""Checks for claims that other rooms put into access tokens (e.g. the DSP transfer a
token belongs to), called with the claim's value and the dataset used: a returned text is
the reason to deny."""


def bound_agreements(claims: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Dataset -> (agreement, purpose) an access token is bound to: a partner's token names
    one (claims `dataset`, `agreement`, `purpose`); an app's token may name several, one per
    dataset the resident allowed (claim `agreements`: dataset -> {agreement, purpose})."""
    many = claims.get("agreements")
    if isinstance(many, dict):
        return {
            str(dataset): (entry["agreement"], _text(entry.get("purpose")))
            for dataset, entry in many.items()
            if isinstance(entry, dict) and isinstance(entry.get("agreement"), str)
        }
    if isinstance(claims.get("agreement"), str):
        dataset = claims.get("dataset")
        key = dataset if isinstance(dataset, str) else ""
        return {key: (claims["agreement"], _text(claims.get("purpose")))}
    return {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def decide(node: Node, token: str | None, dataset_id: str, channel: str) -> Verdict:
    """The decision for one use, recorded before it is returned."""
    verdict = _judge(node, token, dataset_id, channel, datetime.now(UTC))
    _record(node, verdict, dataset_id, channel)
    return verdict


def decide_agreement(
    node: Node, agreement_id: str, subject: str, dataset_id: str, channel: str
) -> Verdict:
    """The decision for a use named by agreement (a transfer request), recorded likewise."""
    with Session(node.engine) as session:
        agreement = session.get(Agreement, agreement_id)
    if agreement is None or agreement.assignee != subject:
        verdict = Verdict(DENY, say("unknown agreement"), 403, subject, agreement=agreement_id)
    else:
        context = {"subject": subject, "purpose": agreement.purpose, "agreement": agreement_id}
        verdict = _judge_agreement(agreement, dataset_id, channel, datetime.now(UTC), context)
    _record(node, verdict, dataset_id, channel)
    return verdict


def _record(node: Node, verdict: Verdict, dataset_id: str, channel: str) -> None:
    with Session(node.engine) as session:
        session.add(
            AuditEntry(
                time=datetime.now(UTC),
                dataset_id=dataset_id,
                channel=channel,
                subject=verdict.subject[:300],
                purpose=verdict.purpose,
                agreement_id=verdict.agreement,
                decision=verdict.decision,
                reason=stored(verdict.reason, 500),
            )
        )
        session.commit()


def _judge(node: Node, token: str | None, dataset_id: str, channel: str, now: datetime) -> Verdict:
    if token is None:
        return Verdict(DENY, say("no access token"), 401)
    try:
        principal = verify_token(token, {node.key.kid: node.key.public}, node.id)
    except AuthError as exc:
        return Verdict(DENY, str(exc), 401)
    claims = principal.claims
    bound = bound_agreements(claims)
    if principal.role != "access" or not bound:
        return Verdict(DENY, say("not an access token"), 403, principal.subject)
    agreement_id, purpose = bound.get(dataset_id) or next(iter(bound.values()))
    denied: dict[str, Any] = {
        "subject": principal.subject,
        "purpose": purpose,
        "agreement": agreement_id,
    }
    for claim, check in TOKEN_CHECKS.items():
        if claim in claims and (reason := check(node, claims[claim], dataset_id)):
            return Verdict(DENY, reason, 403, **denied)
    with Session(node.engine) as session:
        agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        return Verdict(DENY, say("unknown agreement"), 403, **denied)
    if dataset_id not in bound:
        return Verdict(DENY, _not_for(dataset_id), 403, **denied)
    if agreement.assignee != principal.subject:
        return Verdict(DENY, say("the token is not the assignee's"), 403, **denied)
    return _judge_agreement(agreement, dataset_id, channel, now, denied)


def _judge_agreement(
    agreement: Agreement, dataset_id: str, channel: str, now: datetime, context: dict[str, Any]
) -> Verdict:
    if agreement.dataset_id != dataset_id:
        return Verdict(DENY, _not_for(dataset_id), 403, **context)
    if agreement.revoked is not None:
        return Verdict(DENY, say("the agreement was revoked"), 403, **context)
    if agreement.expires is not None and _aware(agreement.expires) <= now:
        return Verdict(DENY, say("the agreement has expired"), 403, **context)
    policy = signed_policy(json.loads(agreement.document))
    attributes = json.loads(agreement.attributes)
    decision = evaluate(
        policy,
        Request(
            action=terms.USE,
            assignee=agreement.assignee,
            target=policy.target,
            attributes=attributes,
            # the place the assignee declared when it agreed (grant keeps it) is where it uses
            place=attributes.get("place") if isinstance(attributes.get("place"), str) else None,
            purpose=context["purpose"],
            time=now,
            agreement_start=_aware(agreement.created),
            aggregated=AGGREGATED_CHANNELS.get(channel),
        ),
    )
    if not decision.permitted:
        reasons = Joined(decision.reasons or (decision.outcome.value,))
        why = say("the agreement's policy does not permit this use: %(reasons)s", reasons=reasons)
        return Verdict(DENY, why, 403, **context)
    duties = tuple(duty.action for duty in decision.duties)
    return Verdict(PERMIT, say("permitted by the agreement"), 200, duties=duties, **context)


def _not_for(dataset_id: str) -> str:
    return say("the agreement is not for dataset '%(dataset)s'", dataset=dataset_id)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def authorize(request: web.Request, dataset: dict[str, Any], channel: str) -> Verdict:
    """Permit the request's use of a restricted dataset, or raise the problem that says why."""
    node: Node = request.app["node"]
    verdict = await asyncio.to_thread(decide, node, bearer(request), dataset["id"], channel)
    if verdict.permitted:
        return verdict
    raise Problem(
        verdict.status,
        "Unauthorized" if verdict.status == 401 else "Forbidden",
        say(
            "dataset '%(dataset)s' is available under an agreement: %(reason)s",
            dataset=dataset["id"],
            reason=verdict.reason,
        ),
        dataset=dataset["id"],
        headers=CHALLENGE if verdict.status == 401 else None,
    )
