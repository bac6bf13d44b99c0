"""Reading the audit log: the operator's filtered pages and the public's totals."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from allmende.node.catalog.models import CatalogDataset
from allmende.node.runtime import Node
from allmende.node.usage.enforcement import PERMIT
from allmende.node.usage.models import Agreement, AuditEntry

FILTERS = {
    "dataset": AuditEntry.dataset_id,
    "decision": AuditEntry.decision,
    "channel": AuditEntry.channel,
    "subject": AuditEntry.subject,
    "agreement": AuditEntry.agreement_id,
}


def entries(
    node: Node, filters: dict[str, str], *, before: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest first; `filters` by the names in FILTERS, `before` an entry id (paging)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    for name, value in filters.items():
        query = query.where(FILTERS[name] == value)
    if before:
        query = query.where(col(AuditEntry.id) < before)
    with Session(node.engine) as session:
        return list(session.exec(query))


def usage_counts(node: Node) -> list[dict[str, Any]]:
    """Per dataset: permitted and refused uses, and the purposes of the permitted ones."""
    with Session(node.engine) as session:
        rows = session.exec(
            select(AuditEntry.dataset_id, AuditEntry.decision, AuditEntry.purpose)
        ).all()
        titles = dict(session.exec(select(CatalogDataset.id, CatalogDataset.title)).all())
    totals: dict[str, Counter[str]] = {}
    purposes: dict[str, Counter[str]] = {}
    for dataset_id, decision, purpose in rows:
        totals.setdefault(dataset_id, Counter())[decision] += 1
        if decision == PERMIT:
            purposes.setdefault(dataset_id, Counter())[purpose or "unspecified"] += 1
    return [
        {
            "dataset": dataset_id,
            "title": titles.get(dataset_id, dataset_id),
            "permitted": counts["permit"],
            "refused": counts["deny"],
            "purposes": dict(purposes.get(dataset_id, Counter())),
        }
        for dataset_id, counts in sorted(totals.items())
    ]


def agreements_in_force(node: Node) -> list[dict[str, Any]]:
    """Agreements neither revoked nor expired: dataset, purpose and date, not the partner
    (the public page names no one; the partner and the operator reach the signed
    document at `/dsp/agreements/{id}`)."""
    now = datetime.now(UTC)
    with Session(node.engine) as session:
        rows = session.exec(
            select(Agreement)
            .where(col(Agreement.revoked).is_(None))
            .order_by(col(Agreement.created).desc())
        ).all()
        titles = dict(session.exec(select(CatalogDataset.id, CatalogDataset.title)).all())
    return [
        {
            "dataset": row.dataset_id,
            "title": titles.get(row.dataset_id, row.dataset_id),
            "purpose": row.purpose,
            "since": row.created.date().isoformat(),
        }
        for row in rows
        if row.expires is None or row.expires.replace(tzinfo=row.expires.tzinfo or UTC) > now
    ]
