"""Console page of the device registry: every sensor with the dataset it feeds, a form to
register one from a ready-made profile, and a button to remove it; and the webhook secrets
of the ingest sources, made or rotated (the new one shown once) and revoked.

The form calls the ingest room's own `register` and `remove`, so a device registered here
is the same signed registration as one made with `allmende device add` or the admin API.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlmodel import Session, col, select

from node.catalog.models import PUBLISHED, CatalogDataset
from node.http.forms import read_form
from node.http.openapi import CSRF, TEXT, describe, form_body
from node.ingest import sources
from node.ingest.models import Device
from node.ingest.registry import RegistryError, register, remove
from node.runtime import Node
from node.web import sessions
from node.web.console import signed_in
from vocab.devices import list_profiles

FIELDS = ("device", "dataset", "profile", "label", "lat", "lon")
SECRET_ACTIONS = ("rotate_secret", "revoke_secret")


def _listing(node: Node) -> dict[str, Any]:
    with Session(node.engine) as session:
        devices = session.exec(select(Device).order_by(col(Device.dataset_id), col(Device.id)))
        rows = [
            {"row": device, "profile": json.loads(device.profile).get("name", "")}
            for device in devices
        ]
        datasets = session.exec(
            select(CatalogDataset.id, CatalogDataset.title)
            .where(CatalogDataset.status == PUBLISHED)
            .order_by(col(CatalogDataset.id))
        ).all()
    return {
        "devices": rows,
        "datasets": list(datasets),
        "profiles": list_profiles(),
        "sources": sources.secret_status(node),
        "secret_header": sources.HEADER,
    }


async def _render(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    node: Node = request.app["node"]
    context = {
        "csrf": request["csrf"],
        "form": {},
        "error": None,
        **await asyncio.to_thread(_listing, node),
        **extra,
    }
    response = aiohttp_jinja2.render_template("admin/devices.html", request, context, status=status)
    response.headers["Cache-Control"] = "no-store"  # it may carry a new secret
    return response


@describe("Console: the device registry, and the form to register a device", tags=["console"])
@signed_in
async def devices_page(request: web.Request) -> web.StreamResponse:
    return await _render(request)


def _registration(form: dict[str, str]) -> dict[str, Any]:
    """The form as the registry's request body; coordinates are numbers or absent."""
    body: dict[str, Any] = {k: form[k] for k in ("device", "dataset", "profile") if form[k]}
    if form["label"]:
        body["label"] = form["label"][:200]
    for axis, low, high in (("lat", -90, 90), ("lon", -180, 180)):
        if form[axis]:
            try:
                value = float(form[axis].replace(",", "."))
            except ValueError:
                raise RegistryError(axis, f"{axis} is a number, e.g. 54.62") from None
            if not low <= value <= high:
                raise RegistryError(axis, f"{axis} lies between {low} and {high}")
            body[axis] = value
    return body


@describe(
    "Console: register a device from the form, or remove one; make, rotate or revoke a "
    "source's webhook secret",
    tags=["console"],
    request_body=form_body(
        {
            **CSRF,
            **dict.fromkeys(FIELDS, TEXT),
            "action": {"type": "string", "enum": ["remove", *SECRET_ACTIONS]},
            "source": {"type": "string", "enum": list(sources.SOURCES)},
        },
        ["csrf_token"],
    ),
)
@signed_in
async def devices_post(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    registry = request.app["ingest"]["registry"]
    posted = await read_form(request)
    action = posted.get("action")
    if action in SECRET_ACTIONS:
        return await _secret(request, str(action), str(posted.get("source", "")))
    if action == "remove":
        await remove(node, registry, str(posted.get("device", ""))[:128])
        raise web.HTTPSeeOther("/admin/console/devices")
    form = {k: str(posted.get(k, "")).strip() for k in FIELDS}
    try:
        await register(node, registry, _registration(form))
    except RegistryError as exc:
        return await _render(request, 422, form=form, error=str(exc))
    raise web.HTTPSeeOther("/admin/console/devices")


async def _secret(request: web.Request, action: str, source: str) -> web.StreamResponse:
    """Rotate (the page shows the new secret once, never again) or revoke; the running
    ingest room checks webhook calls against the new state at once."""
    node: Node = request.app["node"]
    if source not in sources.SOURCES:
        return await _render(request, 422, secret_error=f"unknown source {source!r}")
    if action == "rotate_secret":
        secret = await node.write(lambda: sources.new_secret(node, source))
        request.app["ingest"]["secrets"] = await asyncio.to_thread(sources.stored_digests, node)
        return await _render(request, new_secret={"source": source, "value": secret})
    await node.write(lambda: sources.revoke_secret(node, source))
    request.app["ingest"]["secrets"] = await asyncio.to_thread(sources.stored_digests, node)
    raise web.HTTPSeeOther("/admin/console/devices#secrets")


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/console/devices", devices_page)
    app.router.add_post("/admin/console/devices", devices_post)
