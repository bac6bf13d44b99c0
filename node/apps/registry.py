"""An app's life on the node: registration in the sandbox, review, and the agreements that
approval concludes.

Approving an app is installing it in the village: for every dataset its manifest names, the
dataset's offer becomes a signed agreement made out to the app's developer, with the purpose
the manifest declares (`node.usage.agreements.grant`, the same as for any partner). The
approved version is frozen; a new version that asks for no more keeps the approval, one that
asks for more waits for review while tokens keep carrying only what was approved.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc7591 import InvalidClientMetadataError
from sqlmodel import Session, col, func, select

from allmende.node.apps import federation
from allmende.node.apps import manifest as manifests
from allmende.node.apps.models import (
    APPROVED,
    REJECTED,
    SANDBOX,
    SUSPENDED,
    App,
    AppToken,
    AppUse,
    AuthorizationCode,
    Consent,
)
from allmende.node.catalog.models import PUBLISHED, load_dataset
from allmende.node.messages import reason, say
from allmende.node.runtime import Node
from allmende.node.usage.agreements import AgreementError, dataset_offer, grant, revoke

SAMPLE_MARKS = ("beispieldaten", "sample data")


class ReviewError(ValueError):
    """A review step that cannot be taken; the message says why."""


def is_sample(node: Node, dataset_id: str) -> bool:
    """Sample data is marked so in its title ("(Beispieldaten)", as the demo villages do)."""
    with Session(node.engine) as session:
        row = load_dataset(session, dataset_id)
    if row is None or row.status != PUBLISHED:
        return False
    return any(mark in row.title.lower() for mark in SAMPLE_MARKS)


class Registry:
    def __init__(self, node: Node) -> None:
        self.node = node

    def statement_keys(self) -> dict[str, Any]:
        """Keys whose software statements are believed: this node's own, as JWKs."""
        keys = self.node.jwks().get("keys", [])
        return {str(key.get("kid")): key for key in keys}

    def scopes_supported(self) -> list[str]:
        return [*sorted(manifests.ACTIONS), manifests.DATASET_SCOPE + "{dataset}"]

    def check_offers(self, manifest: dict[str, Any]) -> str | None:
        """Each dataset must be published and the offer the app accepts must be its offer."""
        for item in manifest.get("datasets", []):
            try:
                offer = dataset_offer(self.node, item["dataset"])
            except AgreementError as exc:
                return f"datasets: {exc}"
            uid = offer.get("uid") or offer.get("@id")
            if uid != item["offer"]:
                return (
                    f"datasets: the offer of {item['dataset']!r} is {uid!r}, "
                    f"not {item['offer']!r}; accept the offer the catalog shows"
                )
        return None

    def _sandbox(self, row: App, manifest: dict[str, Any]) -> None:
        """Agreements over the manifest's sample datasets: what sandbox tokens open."""
        sample = json.loads(row.sandbox_agreements)
        developer = manifest["developer"]["id"]
        for item in manifest.get("datasets", []):
            dataset = item["dataset"]
            if dataset in sample or not is_sample(self.node, dataset):
                continue
            try:
                agreement = grant(self.node, dataset, developer, purpose=item["purpose"])
            except AgreementError as exc:
                raise InvalidClientMetadataError(f"datasets: {dataset}: {exc}") from None
            sample[dataset] = agreement.id
        row.sandbox_agreements = json.dumps(sample)

    def save_new_app(self, row: App, manifest: dict[str, Any]) -> None:
        self._sandbox(row, manifest)
        with Session(self.node.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)

    def update_app(self, row: App, metadata: dict[str, Any]) -> App:
        manifest = metadata[manifests.FIELD]
        if row.status == APPROVED and manifest["version"] == row.approved_version:
            frozen = json.loads(row.approved_manifest or "{}")
            if manifest != frozen:
                raise InvalidClientMetadataError(
                    f"version {row.approved_version} is approved and frozen; "
                    "register the change as a new version"
                )
        self._sandbox(row, manifest)
        with Session(self.node.engine) as session:
            stored = session.get(App, row.client_id)
            if stored is None:
                raise InvalidClientMetadataError("the app was deleted")
            stored.metadata_json = json.dumps(metadata, ensure_ascii=False)
            stored.sandbox_agreements = row.sandbox_agreements
            needs = set(manifests.scopes(manifest))
            if stored.status == APPROVED and needs <= set(stored.approved_scopes.split()):
                # asks for no more than was agreed: the new version keeps the approval
                stored.approved_version = manifest["version"]
                stored.approved_manifest = json.dumps(manifest, ensure_ascii=False)
            elif stored.status == REJECTED:
                stored.status, stored.reason = SANDBOX, None
            session.add(stored)
            session.commit()
            session.refresh(stored)
            return stored

    def delete_app(self, row: App) -> None:
        """RFC 7592 delete: the client, its codes, tokens, consents and agreements end."""
        now = datetime.now(UTC)
        agreements = [
            *json.loads(row.agreements).values(),
            *json.loads(row.sandbox_agreements).values(),
        ]
        with Session(self.node.engine) as session:
            for token in session.exec(select(AppToken).where(AppToken.client_id == row.client_id)):
                token.revoked = token.revoked or now
                session.add(token)
            for consent in session.exec(select(Consent).where(Consent.client_id == row.client_id)):
                consent.revoked = consent.revoked or now
                session.add(consent)
            for code in session.exec(
                select(AuthorizationCode).where(AuthorizationCode.client_id == row.client_id)
            ):
                session.delete(code)
            stored = session.get(App, row.client_id)
            if stored is not None:
                if stored.status == APPROVED:
                    self.node.log.append(session, [federation.delisted_event(self.node, stored)])
                session.delete(stored)
            session.commit()
        for agreement in agreements:
            revoke(self.node, agreement)

    def agreement_for(self, row: App, dataset: str) -> str | None:
        """The agreement a token for this dataset is bound to: the approved one, else the
        sandbox's over sample data."""
        if row.status == APPROVED:
            found = json.loads(row.agreements).get(dataset)
            if found:
                return str(found)
        sample = json.loads(row.sandbox_agreements).get(dataset)
        return str(sample) if sample else None

    def record_consent(self, client_id: str, resident: str, scope: str) -> str:
        """A resident allowed the app these scopes: the consent its tokens hang on."""
        consent_id = uuid.uuid4().hex
        with Session(self.node.engine) as session:
            session.add(
                Consent(
                    id=consent_id,
                    client_id=client_id,
                    resident=resident,
                    scope=scope,
                    created=datetime.now(UTC),
                )
            )
            session.commit()
        return consent_id

    def my_apps(self, resident: str, uses: int = 20) -> list[dict[str, Any]]:
        """Every app the resident allowed: what it may do, since when, whether withdrawn,
        and its latest uses of the permission."""
        with Session(self.node.engine) as session:
            consents = session.exec(
                select(Consent).where(Consent.resident == resident).order_by(col(Consent.created))
            ).all()
            found: dict[str, dict[str, Any]] = {}
            for consent in consents:
                app = session.get(App, consent.client_id)
                if app is None:
                    continue
                entry = found.setdefault(
                    consent.client_id,
                    {
                        "client_id": consent.client_id,
                        "manifest": app.client_metadata[manifests.FIELD],
                        "status": app.status,
                        "since": consent.created,
                        "scopes": set(),
                        "active": False,
                    },
                )
                if consent.revoked is None:
                    entry["active"] = True
                    entry["scopes"] |= set(consent.scope.split())
            for entry in found.values():
                query = (
                    select(AppUse)
                    .where(AppUse.client_id == entry["client_id"], AppUse.resident == resident)
                    .order_by(col(AppUse.id).desc())
                )
                entry["uses"] = list(session.exec(query.limit(uses)))
                entry["use_count"] = session.exec(
                    select(func.count())
                    .select_from(AppUse)
                    .where(AppUse.client_id == entry["client_id"], AppUse.resident == resident)
                ).one()
                entry["scopes"] = sorted(entry["scopes"])
        return sorted(found.values(), key=lambda e: (not e["active"], e["manifest"]["name"]))

    def withdraw(self, resident: str, client_id: str) -> int:
        """The resident takes back everything they allowed the app: consents and tokens end
        now, so the app's next request is refused. Returns how many consents ended."""
        now = datetime.now(UTC)
        ended = 0
        with Session(self.node.engine) as session:
            for consent in session.exec(
                select(Consent).where(
                    Consent.client_id == client_id,
                    Consent.resident == resident,
                    col(Consent.revoked).is_(None),
                )
            ):
                consent.revoked = now
                session.add(consent)
                ended += 1
            for token in session.exec(
                select(AppToken).where(
                    AppToken.client_id == client_id,
                    AppToken.resident == resident,
                    col(AppToken.revoked).is_(None),
                )
            ):
                token.revoked = now
                session.add(token)
            session.commit()
        return ended

    def directory(self) -> list[dict[str, Any]]:
        """The approved apps as the public sees them, with how much they are used."""
        with Session(self.node.engine) as session:
            rows = session.exec(select(App).where(App.status == APPROVED)).all()
            listed = []
            for row in rows:
                uses = session.exec(
                    select(func.count())
                    .select_from(AppUse)
                    .where(AppUse.client_id == row.client_id)
                ).one()
                residents = session.exec(
                    select(func.count(func.distinct(Consent.resident))).where(
                        Consent.client_id == row.client_id, col(Consent.revoked).is_(None)
                    )
                ).one()
                manifest = json.loads(row.approved_manifest or "{}")
                datasets = {}
                for dataset_id in json.loads(row.agreements):
                    found = load_dataset(session, dataset_id)
                    if found is not None:
                        described = found.description()
                        datasets[dataset_id] = {
                            "title": described.get("title", {}),
                            "description": described.get("description", {}),
                        }
                listed.append(
                    {
                        "client_id": row.client_id,
                        "manifest": manifest,
                        "version": row.approved_version,
                        "scopes": row.approved_scopes.split(),
                        "agreements": json.loads(row.agreements),
                        "datasets": datasets,
                        "approved": row.approved_at.isoformat() if row.approved_at else None,
                        "uses": uses,
                        "residents": residents,
                    }
                )
        return sorted(listed, key=lambda e: str(e["manifest"].get("name", "")))

    # the neighbours' apps
    def neighbours(self) -> list[dict[str, Any]]:
        """Apps neighbours approved, each marked whether this village has it (and how)."""
        found = federation.neighbour_apps(self.node)
        with Session(self.node.engine) as session:
            for entry in found:
                local = session.get(App, entry["client_id"])
                entry["here"] = local.status if local is not None else None
        return found

    def adopt(self, source: str, client_id: str) -> App:
        """A neighbour's approved app into this village's review (the sandbox): the operator
        then approves it here for this village's data and actions, or not."""
        listed = next(
            (
                e
                for e in federation.neighbour_apps(self.node)
                if e["source"] == source and e["client_id"] == client_id
            ),
            None,
        )
        if listed is None:
            raise LookupError(
                say(
                    "no neighbour '%(source)s' lists an app '%(app)s'",
                    source=source,
                    app=client_id,
                )
            )
        if self.get_or_none(client_id) is not None:
            raise ReviewError(say("this village already has an app '%(app)s'", app=client_id))
        try:
            row = federation.adoption(self.node, listed, self.check_offers)
        except ValueError as exc:
            raise ReviewError(reason(exc)) from None
        self.save_new_app(row, row.client_metadata[manifests.FIELD])
        return row

    def get_or_none(self, client_id: str) -> App | None:
        with Session(self.node.engine) as session:
            return session.get(App, client_id)

    # review
    def get(self, client_id: str) -> App:
        with Session(self.node.engine) as session:
            row = session.get(App, client_id)
        if row is None:
            raise LookupError(say("there is no app '%(app)s'", app=client_id))
        return row

    def approve(self, client_id: str, version: str | None = None) -> App:
        """Conclude the agreements the current version's manifest asks for, and freeze it;
        `version`: the one the operator reviewed, refused if the app changed since."""
        row = self.get(client_id)
        current = row.client_metadata[manifests.FIELD]["version"]
        if version is not None and version != current:
            raise ReviewError(
                say(
                    "the app is now at version %(current)s, not %(version)s; review it",
                    current=current,
                    version=version,
                )
            )
        if row.status == SUSPENDED:
            raise ReviewError(
                say("the app is suspended; lift the suspension by approving it again")
            )
        manifest = row.client_metadata[manifests.FIELD]
        developer = manifest["developer"]["id"]
        agreements: dict[str, str] = json.loads(row.agreements)
        concluded: list[str] = []
        try:
            for item in manifest.get("datasets", []):
                if item["dataset"] in agreements:
                    continue
                agreement = grant(self.node, item["dataset"], developer, purpose=item["purpose"])
                concluded.append(agreement.id)
                agreements[item["dataset"]] = agreement.id
        except AgreementError as exc:
            for agreement_id in concluded:  # nothing half-approved
                revoke(self.node, agreement_id)
            raise ReviewError(
                say("%(dataset)s: %(reason)s", dataset=item["dataset"], reason=reason(exc))
            ) from None
        with Session(self.node.engine) as session:
            stored = session.get(App, client_id)
            assert stored is not None
            stored.status, stored.reason = APPROVED, None
            stored.agreements = json.dumps(agreements)
            stored.approved_version = manifest["version"]
            stored.approved_manifest = json.dumps(manifest, ensure_ascii=False)
            stored.approved_scopes = " ".join(manifests.scopes(manifest))
            stored.approved_at = datetime.now(UTC)
            session.add(stored)
            self.node.log.append(session, [federation.listed_event(self.node, stored)])
            session.commit()
            session.refresh(stored)
            return stored

    def _set(self, client_id: str, status: str, reason: str) -> App:
        with Session(self.node.engine) as session:
            stored = session.get(App, client_id)
            if stored is None:
                raise LookupError(say("there is no app '%(app)s'", app=client_id))
            if stored.status == APPROVED and status != APPROVED:
                self.node.log.append(session, [federation.delisted_event(self.node, stored)])
            stored.status, stored.reason = status, reason
            session.add(stored)
            session.commit()
            session.refresh(stored)
            return stored

    def reject(self, client_id: str, reason: str) -> App:
        row = self.get(client_id)
        if row.status == APPROVED:
            raise ReviewError(say("the app is approved; suspend it instead"))
        return self._set(client_id, REJECTED, reason)

    def suspend(self, client_id: str, reason: str) -> App:
        """Stops every token of the app on its next use (checked per request)."""
        self.get(client_id)
        return self._set(client_id, SUSPENDED, reason)

    def apps(self, status: str | None = None) -> list[App]:
        query = select(App).order_by(col(App.issued_at))
        if status:
            query = query.where(App.status == status)
        with Session(self.node.engine) as session:
            return list(session.exec(query))


def public(row: App) -> dict[str, Any]:
    """What the operator's API shows of an app (no secrets)."""
    metadata = row.client_metadata
    manifest = metadata[manifests.FIELD]
    return {
        "client_id": row.client_id,
        "status": row.status,
        "reason": row.reason,
        "version": manifest["version"],
        "review_pending": row.status == APPROVED and manifest["version"] != row.approved_version,
        "approved_version": row.approved_version,
        "approved_scopes": row.approved_scopes.split(),
        "requested_scopes": manifests.scopes(manifest),
        "agreements": json.loads(row.agreements),
        "sandbox_agreements": json.loads(row.sandbox_agreements),
        "redirect_uris": metadata["redirect_uris"],
        "token_endpoint_auth_method": metadata.get("token_endpoint_auth_method"),
        "manifest": manifest,
    }
