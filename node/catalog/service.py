"""Publishing, updating and retracting datasets: the rows and the signed event, together.

Every change is prepared off the writer thread (parse, fill in defaults, build RDF, check
the SHACL profile) and then committed with its `de.allmende.dataset.*` event in one SQL
transaction. The transaction re-checks the row's version, so two operators editing the
same dataset at once get a 409 instead of one silently undoing the other. The HTTP API and
the CLI both call these functions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox
from sqlalchemy import delete
from sqlmodel import Session

from allmende.node.catalog.description import (
    DescriptionError,
    as_input,
    canonical,
    parse_distribution,
    parse_input,
)
from allmende.node.catalog.files import StoredFile, safe_file_name
from allmende.node.catalog.models import (
    PUBLISHED,
    RETRACTED,
    CatalogDataset,
    CatalogDistribution,
    full_description,
    load_dataset,
)
from allmende.node.catalog.projection import PUBLISHED as PUBLISHED_EVENT
from allmende.node.catalog.projection import RETRACTED as RETRACTED_EVENT
from allmende.node.catalog.projection import UPDATED as UPDATED_EVENT
from allmende.node.catalog.rdf import dataset_graph, dataset_iri
from allmende.node.catalog.validation import validate
from allmende.node.events.envelope import format_time
from allmende.node.runtime import Node


class CatalogError(Exception):
    """A refused catalog operation; `status`, `title` and `errors` become problem+json."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(CatalogError):
    status, title = 404, "Not Found"


class Gone(CatalogError):
    status, title = 410, "Gone"


class Conflict(CatalogError):
    status, title = 409, "Conflict"


class Invalid(CatalogError):
    status, title = 400, "Bad Request"


class Unprocessable(CatalogError):
    """The description is well-formed but violates the DCAT-AP.de profile."""

    status, title = 422, "Unprocessable Content"


@dataclass
class Outcome:
    data: dict[str, Any]
    changed: bool = True
    warnings: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.data, "changed": self.changed, "warnings": self.warnings}


def now() -> str:
    return format_time(datetime.now(UTC))


_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def slugify(text: str) -> str:
    """A dataset or distribution id from a title or file name ("Luftqualität" -> luftqualitaet)."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLITERATION))
    ascii_text = folded.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:64].strip("-")
    return slug


def _published_as_iris(policy: Any) -> None:
    """The catalog publishes the offer as RDF: every name in it must be an absolute IRI
    (DSP partners may name parties by relative ids; a catalog cannot)."""
    from rdflib import Graph, URIRef

    from allmende.policies.model import PolicyError
    from allmende.policies.rdf import to_graph

    for term in to_graph(policy, Graph(bind_namespaces="none")).all_nodes():
        if isinstance(term, URIRef):
            try:
                ox.NamedNode(str(term))
            except ValueError:
                raise PolicyError("", f"not an absolute IRI: {str(term)[:200]!r}") from None


def policy_normaliser(
    node: Node,
) -> Callable[[dict[str, Any], str], tuple[dict[str, Any], bool]]:
    """Read an ODRL offer offline (policies package) and bind it to the dataset and the node.

    Also says whether the offer permits `use` to anyone with no condition at all: then an
    openly licensed dataset stays open data (public, downloadable without a token).
    """
    from allmende.policies.evaluator import Request, evaluate, policy_problems
    from allmende.policies.jsonld import from_jsonld, to_jsonld
    from allmende.policies.model import PolicyError, PolicyType
    from allmende.policies.terms import USE

    def normalise(document: dict[str, Any], target: str) -> tuple[dict[str, Any], bool]:
        policy = from_jsonld(document)
        if policy.type is not PolicyType.OFFER:
            raise PolicyError("@type", "a dataset's usage policy is an odrl:Offer")
        if policy.target is not None and policy.target != target:
            raise PolicyError("target", f"the offer's target must be this dataset ({target})")
        policy = dataclasses.replace(
            policy,
            uid=policy.uid or f"{target}#offer",
            target=target,
            assigner=policy.assigner or node.id,
        )
        problems = policy_problems(policy)
        if problems:
            raise PolicyError("", "; ".join(problems))
        _published_as_iris(policy)
        unconditional = evaluate(policy, Request(action=USE, target=target)).permitted
        return to_jsonld(policy), unconditional

    return normalise


def _prepare(
    node: Node,
    body: Any,
    *,
    dataset_id: str,
    existing: list[dict[str, Any]],
    issued: str,
    modified: str,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Canonical description and profile warnings; raise on form errors or violations."""
    try:
        parsed = parse_input(body)
        if parsed.id is not None and parsed.id != dataset_id:
            raise DescriptionError([{"field": "id", "message": f"this dataset is {dataset_id!r}"}])
        data = canonical(
            parsed,
            dataset_id=dataset_id,
            base=node.base_url,
            operator=node.settings.node.name,
            ags=node.settings.node.ags,
            existing_distributions=existing,
            issued=issued,
            modified=modified,
            normalise_policy=policy_normaliser(node),
        )
    except DescriptionError as exc:
        raise Invalid("the dataset description has errors", exc.errors) from None
    findings = validate(dataset_graph(data), data)
    violations = [f.to_json() for f in findings if f.severity == "Violation"]
    if violations:
        raise Unprocessable(
            f"the dataset violates {len(violations)} rule(s) of the DCAT-AP.de profile",
            violations,
        )
    return data, [f.to_json() for f in findings if f.severity != "Violation"]


def _rows(data: dict[str, Any], version: int, status: str) -> tuple[CatalogDataset, list[Any]]:
    import json

    description = {k: v for k, v in data.items() if k != "distributions"}
    title = data.get("title", {})
    row = CatalogDataset(
        id=data["id"],
        status=status,
        title=(title.get("de") or next(iter(title.values()), data["id"]))[:500],
        license=data.get("license", ""),
        access_rights=data.get("access_rights", ""),
        document=json.dumps(description, ensure_ascii=False, sort_keys=True),
        version=version,
        issued=_parse_time(data["issued"]),
        modified=_parse_time(data["modified"]),
    )
    distributions = [
        CatalogDistribution(
            dataset_id=data["id"],
            id=item["id"],
            position=position,
            kind=item["kind"],
            media_type=item.get("media_type"),
            file_sha256=item.get("checksum") if item["kind"] == "file" else None,
            byte_size=item.get("byte_size"),
            document=json.dumps(item, ensure_ascii=False, sort_keys=True),
        )
        for position, item in enumerate(data.get("distributions", []))
    ]
    return row, distributions


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def load(node: Node, dataset_id: str) -> tuple[CatalogDataset | None, dict[str, Any] | None]:
    with Session(node.engine) as session:
        row = load_dataset(session, dataset_id)
        if row is None:
            return None, None
        return row, full_description(session, row)


async def current_dataset(node: Node, dataset_id: str) -> tuple[CatalogDataset, dict[str, Any]]:
    row, data = await asyncio.to_thread(load, node, dataset_id)
    if row is None or data is None:
        raise NotFound(f"there is no dataset {dataset_id!r}")
    if row.status == RETRACTED:
        raise Gone(f"the dataset {dataset_id!r} was retracted")
    return row, data


async def _commit(
    node: Node, data: dict[str, Any], *, event_type: str, expected_version: int | None
) -> None:
    """Write rows and event in one transaction; `expected_version=None` means a new dataset."""
    version = (expected_version or 0) + 1
    row, distributions = _rows(data, version, PUBLISHED)
    dataset_id = data["id"]

    def before(session: Session) -> None:
        current = session.get(CatalogDataset, dataset_id)
        if expected_version is None:
            if current is not None and current.status == PUBLISHED:
                raise Conflict(f"the dataset {dataset_id!r} exists already")
            if current is not None:
                row.version = current.version + 1
        elif current is None or current.version != expected_version:
            raise Conflict(f"the dataset {dataset_id!r} was changed meanwhile; try again")
        session.execute(
            delete(CatalogDistribution).where(CatalogDistribution.dataset_id == dataset_id)
        )
        session.merge(row)
        session.flush()

    event = node.event(event_type, data, subject=dataset_id)
    await node.publish([event], rows=distributions, before=before)
    await node.projected()


async def create(node: Node, body: Any) -> Outcome:
    """Publish a new dataset (or publish a retracted id again)."""
    if not isinstance(body, dict):
        raise Invalid(
            "the dataset description has errors",
            [{"field": "(body)", "message": "must be a JSON object"}],
        )
    dataset_id = body.get("id")
    if dataset_id is None:
        title = body.get("title")
        text = title.get("de") or title.get("en") if isinstance(title, dict) else title
        dataset_id = slugify(text) if isinstance(text, str) else ""
        if not dataset_id:
            raise Invalid(
                "a dataset needs an id",
                [{"field": "id", "message": "give an id ([a-z0-9-]{1,64}) or a German title"}],
            )
    if not isinstance(dataset_id, str):
        raise Invalid(
            "the dataset description has errors", [{"field": "id", "message": "must be a string"}]
        )
    row, _ = await asyncio.to_thread(load, node, dataset_id)
    if row is not None and row.status == PUBLISHED:
        raise Conflict(f"the dataset {dataset_id!r} exists already; update it instead")
    stamp = now()
    body = {**body, "id": dataset_id}
    data, warnings = await asyncio.to_thread(
        _prepare, node, body, dataset_id=dataset_id, existing=[], issued=stamp, modified=stamp
    )
    await _commit(node, data, event_type=PUBLISHED_EVENT, expected_version=None)
    return Outcome(data, True, warnings)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k != "modified"}

    return strip(a) == strip(b)


async def _revise(
    node: Node,
    row: CatalogDataset,
    current: dict[str, Any],
    body: Any,
    existing: list[dict[str, Any]] | None = None,
) -> Outcome:
    data, warnings = await asyncio.to_thread(
        _prepare,
        node,
        body,
        dataset_id=row.id,
        existing=current.get("distributions", []) if existing is None else existing,
        issued=current["issued"],
        modified=now(),
    )
    if _same(data, current):
        return Outcome(current, False, warnings)
    await _commit(node, data, event_type=UPDATED_EVENT, expected_version=row.version)
    return Outcome(data, True, warnings)


async def update(node: Node, dataset_id: str, body: Any, *, patch: bool) -> Outcome:
    """Replace (PUT) or merge-patch (PATCH, RFC 7396) a published dataset's description."""
    from allmende.node.catalog.description import merge_patch

    row, current = await current_dataset(node, dataset_id)
    if patch:
        if not isinstance(body, dict):
            raise Invalid("a merge patch is a JSON object")
        body = merge_patch(as_input(current), body)
    return await _revise(node, row, current, body)


async def retract(node: Node, dataset_id: str) -> dict[str, Any]:
    """Take a dataset out of the catalog; the retraction is an event peers and harvesters see."""
    row, _current_data = await current_dataset(node, dataset_id)
    stamp = now()
    data = {"id": dataset_id, "base": node.base_url, "retracted": stamp}
    version = row.version

    def before(session: Session) -> None:
        current = session.get(CatalogDataset, dataset_id)
        if current is None or current.version != version or current.status != PUBLISHED:
            raise Conflict(f"the dataset {dataset_id!r} was changed meanwhile; try again")
        current.status = RETRACTED
        current.version = version + 1
        current.modified = _parse_time(stamp)
        session.add(current)

    event = node.event(RETRACTED_EVENT, data, subject=dataset_id)
    await node.publish([event], before=before)
    await node.projected()
    return data


def _unique(stem: str, taken: set[str]) -> str:
    stem = stem or "file"
    candidate, number = stem, 2
    while candidate in taken:
        candidate, number = f"{stem}-{number}", number + 1
    return candidate


async def add_file(
    node: Node,
    dataset_id: str,
    stored: StoredFile,
    *,
    file_name: str | None,
    media_type: str | None,
    meta: dict[str, Any],
) -> tuple[Outcome, str]:
    """Attach an uploaded file as a distribution (or replace the file of an existing one)."""
    row, current = await current_dataset(node, dataset_id)
    file_name = safe_file_name(file_name)
    distributions = current.get("distributions", [])
    taken = {d["id"] for d in distributions}
    requested = meta.get("id")
    if requested is not None and requested in taken:
        previous = next(d for d in distributions if d["id"] == requested)
        if previous["kind"] != "file":
            raise Conflict(f"distribution {requested!r} is not a file distribution")
        distribution_id = requested
    else:
        stem = slugify((file_name or "").rsplit(".", 1)[0]) if file_name else "file"
        distribution_id = requested or _unique(stem, taken)
    item_input = {"id": distribution_id, "kind": "file", "media_type": media_type, **meta}
    try:
        parse_distribution(item_input)
    except DescriptionError as exc:
        raise Invalid("the distribution has errors", exc.errors) from None
    facts = {
        "id": distribution_id,
        "kind": "file",
        "byte_size": stored.byte_size,
        "checksum": stored.sha256,
        "file_name": file_name,
        "issued": now(),
    }
    existing = [d for d in distributions if d["id"] != distribution_id] + [facts]
    body = as_input(current)
    body["distributions"] = [d for d in body["distributions"] if d["id"] != distribution_id] + [
        {k: v for k, v in item_input.items() if v is not None}
    ]
    outcome = await _revise(node, row, current, body, existing)
    return outcome, distribution_id


async def remove_distribution(node: Node, dataset_id: str, distribution_id: str) -> Outcome:
    row, current = await current_dataset(node, dataset_id)
    if not any(d["id"] == distribution_id for d in current.get("distributions", [])):
        raise NotFound(f"the dataset has no distribution {distribution_id!r}")
    document = as_input(current)
    document["distributions"] = [d for d in document["distributions"] if d["id"] != distribution_id]
    return await _revise(node, row, current, document)


def dataset_uri(node: Node, dataset_id: str) -> str:
    return dataset_iri(node.base_url, dataset_id)
