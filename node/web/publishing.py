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

from allmende.node.catalog import service
from allmende.node.catalog.models import CatalogDataset
from allmende.node.catalog.rdf import dataset_iri
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, TEXT, describe, form_body
from allmende.node.runtime import Node
from allmende.node.web import i18n, labels, sessions
from allmende.node.web.console import signed_in
from allmende.policies.templates import TemplateInfo, list_templates, template_document
from allmende.vocab.catalog import FREQUENCIES, LICENCES, THEMES

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


# the form's fields by the names their labels give them, for the errors the catalog reports
FIELD_NAMES = {
    "id": i18n.N_("Identifier"),
    "title": i18n.N_("Title (German)"),
    "title_de": i18n.N_("Title (German)"),
    "title_en": i18n.N_("Title (English)"),
    "description": i18n.N_("Description (German)"),
    "description_de": i18n.N_("Description (German)"),
    "description_en": i18n.N_("Description (English)"),
    "keywords": i18n.N_("Keywords, separated by commas"),
    "theme": i18n.N_("Theme"),
    "themes": i18n.N_("Theme"),
    "license": i18n.N_("Licence"),
    "frequency": i18n.N_("Update frequency"),
    "publisher": i18n.N_("Publisher"),
    "contact": i18n.N_("Contact (e-mail)"),
    "contact_email": i18n.N_("Contact (e-mail)"),
    "contact.email": i18n.N_("Contact (e-mail)"),
    "temporal": i18n.N_("Data from"),
    "temporal_start": i18n.N_("Data from"),
    "temporal.start": i18n.N_("Data from"),
    "title.de": i18n.N_("Title (German)"),
    "title.en": i18n.N_("Title (English)"),
    "description.de": i18n.N_("Description (German)"),
    "description.en": i18n.N_("Description (English)"),
    "keywords.de": i18n.N_("Keywords, separated by commas"),
    "policy": i18n.N_("Usage policy"),
    "amt": i18n.N_("Amt (only for “members of the same Amt”)"),
}

# The ready-made policies' names as the form shows them (without codes).
POLICY_TITLES = {
    "open-data-attribution": i18n.N_("Open data with attribution"),
    "non-commercial": i18n.N_("Non-commercial use only"),
    "research-only": i18n.N_("Research purposes only"),
    "aggregated-only": i18n.N_("Aggregated use only"),
    "amt-members-only": i18n.N_("Members of the same Amt only"),
    "time-limited-deletion": i18n.N_("Time-limited use with deletion duty"),
}

# What each ready-made policy means and who could then use the data, in one sentence.
POLICY_SENTENCES = {
    "open-data-attribution": i18n.N_(
        "Open data: anyone may use and share the data if they name the municipality as the "
        "source – e.g. a pupil for a school presentation or a company for a weather app."
    ),
    "non-commercial": i18n.N_(
        "Non-commercial: under an agreement, anyone who earns no money with it may use the "
        "data – e.g. a local history society for its website, not an advertising agency."
    ),
    "research-only": i18n.N_(
        "Research only: only under an agreement and only for research – e.g. a university "
        "studying the village pond's water level."
    ),
    "aggregated-only": i18n.N_(
        "Aggregated only: under an agreement, only averages over several sensors or periods, "
        "never single values – e.g. the county for statistics of monthly means."
    ),
    "amt-members-only": i18n.N_(
        "Own Amt only: under an agreement, only municipalities and offices of the same Amt "
        "(enter its identifier below) – e.g. the neighbouring municipality planning winter "
        "road service."
    ),
    "time-limited-deletion": i18n.N_(
        "Time-limited: under an agreement, use for 30 days, then delete every copy – e.g. an "
        "engineering firm for an expert report."
    ),
}


def choices(language: str) -> dict[str, Any]:
    texts = i18n.texts(language)
    return {
        "themes": [
            (code, names[0] if language == "de" else names[1]) for code, names in THEMES.items()
        ],
        "licences": [
            (code, labels.licence(texts, code).name)
            for code, licence in LICENCES.items()
            if licence.open
        ],
        "frequencies": sorted(FREQUENCIES, key=lambda code: labels.frequency(texts, code)),
        "field_names": {field: texts.gettext(name) for field, name in FIELD_NAMES.items()},
        "templates": [
            (
                t.name,
                texts.gettext(POLICY_TITLES[t.name])
                if t.name in POLICY_TITLES
                else t.title.get(language, t.title["de"]),
                policy_sentence(t, language),
            )
            for t in list_templates()
        ],
    }


def policy_sentence(template: TemplateInfo, language: str) -> str:
    """What the choice means and who could then use the data; a template without a
    sentence of ours says what its own description says."""
    if template.name in POLICY_SENTENCES:
        return i18n.texts(language).gettext(POLICY_SENTENCES[template.name])
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
        info = next((t for t in list_templates() if t.name == template), None)
        if info is not None and any(p.name == "attribution" for p in info.parameters):
            # name the source as people know it, not by the node's IRI
            params["attribution"] = body["publisher"]["name"]
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
            {
                "field": "policy",
                "message": i18n.texts(language).gettext(
                    "Please choose a usage policy: who may use the data is the "
                    "municipality's decision, not a default."
                ),
            }
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
