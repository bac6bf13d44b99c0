"""Publishing a dataset with a usage policy from the console, without writing JSON.

The form collects what DCAT-AP.de asks for and one of the ready-made municipal policies;
the catalog room validates and publishes it exactly as it would a JSON request. No policy
is preselected: who may use the data is the operator's decision, so each choice is
explained in one plain sentence with an example of who could then use the data.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlmodel import Session, col, select

from node.catalog import service
from node.catalog.models import CatalogDataset
from node.catalog.rdf import dataset_iri
from node.http.forms import read_form
from node.http.openapi import CSRF, TEXT, describe, form_body
from node.runtime import Node
from node.web import i18n, sessions
from node.web.console import signed_in
from policies.templates import TemplateInfo, list_templates, template_document
from vocab.catalog import FREQUENCIES, LICENCES, LICENCES_BY_IRI, THEMES

FORM_FIELDS = (
    "id",
    "title_de",
    "title_en",
    "description_de",
    "description_en",
    "keywords",
    "theme",
    "license",
    "frequency",
    "publisher",
    "contact_email",
    "temporal_start",
    "policy",
    "amt",
)


def choices(language: str) -> dict[str, Any]:
    return {
        "themes": [
            (code, names[0] if language == "de" else names[1]) for code, names in THEMES.items()
        ],
        "licences": [(code, licence.label) for code, licence in LICENCES.items() if licence.open],
        "frequencies": sorted(FREQUENCIES),
        "templates": [
            (t.name, t.title.get(language, t.title["de"]), policy_sentence(t, language))
            for t in list_templates()
        ],
        "licence_label": lambda iri: LICENCES_BY_IRI[iri].label if iri in LICENCES_BY_IRI else iri,
    }


def policy_sentence(template: TemplateInfo, language: str) -> str:
    """What the choice means and who could then use the data; a template without a
    sentence of ours says what its own description says."""
    key = f"publish.policy.{template.name}"
    if key in i18n.TEXT:
        return i18n.translate(language, key)
    return template.description.get(language) or template.description.get("de", "")


def description_from_form(node: Node, form: dict[str, str]) -> dict[str, Any]:
    """Turn the flat form into the catalog's dataset description."""
    dataset_id = form.get("id") or None
    body: dict[str, Any] = {
        "title": {
            k: v for k, v in (("de", form.get("title_de")), ("en", form.get("title_en"))) if v
        },
        "description": {
            k: v
            for k, v in (("de", form.get("description_de")), ("en", form.get("description_en")))
            if v
        },
        "keywords": {"de": [w.strip() for w in form.get("keywords", "").split(",") if w.strip()]},
        "themes": [form["theme"]] if form.get("theme") else [],
        "license": form.get("license") or None,
        "frequency": form.get("frequency") or None,
        "publisher": {"name": form.get("publisher") or node.settings.node.name},
        "contact": {"email": form["contact_email"]} if form.get("contact_email") else None,
    }
    if dataset_id:
        body["id"] = dataset_id
    if form.get("temporal_start"):
        body["temporal"] = {"start": form["temporal_start"]}
    template = form.get("policy")
    if template:
        target = dataset_iri(node.base_url, dataset_id or service.slugify(form.get("title_de", "")))
        params: dict[str, str] = {"assigner": node.id, "target": target}
        if template == "amt-members-only":
            params["amt"] = form.get("amt", "")
        body["policy"] = template_document(template, **params)
    return {key: value for key, value in body.items() if value not in (None, {}, [])}


def published_datasets(node: Node) -> list[CatalogDataset]:
    with Session(node.engine) as session:
        return list(
            session.exec(select(CatalogDataset).order_by(col(CatalogDataset.modified).desc()))
        )


@describe("Console: datasets and the form to publish one", tags=["console"])
@signed_in
@aiohttp_jinja2.template("admin/publish.html")
async def publish_form(request: web.Request) -> dict[str, Any]:
    node: Node = request.app["node"]
    return {
        "csrf": request["csrf"],
        "form": {},
        "errors": [],
        "datasets": await asyncio.to_thread(published_datasets, node),
        **choices(request.get("lang", "de")),
    }


@describe(
    "Console: publish a dataset from the form",
    tags=["console"],
    request_body=form_body({**CSRF, **dict.fromkeys(FORM_FIELDS, TEXT)}, ["csrf_token"]),
)
@signed_in
async def publish(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    posted = await read_form(request)
    form = {name: str(posted.get(name, "")).strip() for name in FORM_FIELDS}
    errors: list[dict[str, str]]
    language = request.get("lang", "de")
    if not form["policy"]:
        errors = [
            {"field": "policy", "message": i18n.translate(language, "publish.policy.missing")}
        ]
        return await _refused(request, form, errors)
    try:
        outcome = await service.create(node, description_from_form(node, form))
    except service.CatalogError as exc:
        errors = exc.errors or [{"field": "", "message": exc.detail}]
    except (ValueError, KeyError) as exc:
        errors = [{"field": "policy", "message": str(exc)}]
    else:
        raise web.HTTPSeeOther(f"/datasets/{outcome.data['id']}")
    return await _refused(request, form, errors)


async def _refused(
    request: web.Request, form: dict[str, str], errors: list[dict[str, str]]
) -> web.StreamResponse:
    """The form again, filled in as sent, with what is wrong; nothing was written."""
    node: Node = request.app["node"]
    context = {
        "csrf": request["csrf"],
        "form": form,
        "errors": errors,
        "datasets": await asyncio.to_thread(published_datasets, node),
        **choices(request.get("lang", "de")),
    }
    return aiohttp_jinja2.render_template("admin/publish.html", request, context, status=422)


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/console/datasets", publish_form)
    app.router.add_post("/admin/console/datasets", publish)
