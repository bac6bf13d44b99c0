"""Console page of the device registry: every sensor with the dataset it feeds, a form to
register one from a ready-made profile, and a button to remove it; and the webhook secrets
of the ingest sources, made or rotated (the new one shown once) and revoked.

Each device has its own page (`/admin/console/devices/{device}`): the newest payload it
sent, every field marked mapped or unmapped, a form per field to map it (property, unit,
datatype, scale, offset, plausible range; filled with a suggestion from the field's name
and value, which the operator confirms), whether implausible readings are flagged or
refused, and the latest implausible readings.

The forms call the ingest room's own `register`, `remap` and `remove`, so a change made here
is the same signed event as one made with `allmende device ...` or the admin API.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.http.forms import read_form
from allmende.node.http.openapi import CSRF, TEXT, describe, form_body
from allmende.node.ingest import properties, sources
from allmende.node.ingest.models import Device
from allmende.node.ingest.registry import RegistryError, register, remap, remove, stored_id
from allmende.node.ingest.routes import device_detail
from allmende.node.messages import N_, reason, say
from allmende.node.runtime import Node
from allmende.node.web import sessions
from allmende.node.web.console import signed_in
from allmende.vocab.devices import list_profiles

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


_COORDINATE_ERRORS = {
    "lat": (
        N_("The latitude is a number, e.g. 54.62."),
        N_("The latitude lies between -90 and 90."),
    ),
    "lon": (
        N_("The longitude is a number, e.g. 8.97."),
        N_("The longitude lies between -180 and 180."),
    ),
}
# the mapping form's number fields, as the sentence names them
_NUMBER_FIELDS = {
    "scale": N_("The factor is a number, e.g. 0.01."),
    "offset": N_("The offset is a number, e.g. 0.01."),
    "min": N_("The lowest plausible value is a number, e.g. 0.01."),
    "max": N_("The highest plausible value is a number, e.g. 0.01."),
}


def _registration(form: dict[str, str]) -> dict[str, Any]:
    """The form as the registry's request body; coordinates are numbers or absent."""
    body: dict[str, Any] = {k: form[k] for k in ("device", "dataset", "profile") if form[k]}
    if form["label"]:
        body["label"] = form["label"][:200]
    for axis, low, high in (("lat", -90, 90), ("lon", -180, 180)):
        if form[axis]:
            not_a_number, out_of_range = _COORDINATE_ERRORS[axis]
            try:
                value = float(form[axis].replace(",", "."))
            except ValueError:
                raise RegistryError(axis, say(not_a_number)) from None
            if not low <= value <= high:
                raise RegistryError(axis, say(out_of_range))
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
        return await _render(request, 422, form=form, error=reason(exc))
    raise web.HTTPSeeOther("/admin/console/devices")


async def _secret(request: web.Request, action: str, source: str) -> web.StreamResponse:
    """Rotate (the page shows the new secret once, never again) or revoke; the running
    ingest room checks webhook calls against the new state at once."""
    node: Node = request.app["node"]
    if source not in sources.SOURCES:
        return await _render(request, 422, secret_error=say("There is no such source."))
    if action == "rotate_secret":
        secret = await node.write(lambda: sources.new_secret(node, source))
        request.app["ingest"]["secrets"] = await asyncio.to_thread(sources.stored_digests, node)
        return await _render(request, new_secret={"source": source, "value": secret})
    await node.write(lambda: sources.revoke_secret(node, source))
    request.app["ingest"]["secrets"] = await asyncio.to_thread(sources.stored_digests, node)
    raise web.HTTPSeeOther("/admin/console/devices#secrets")


MAP_FIELDS = ("field", "property", "unit", "datatype", "feature", "scale", "offset", "min", "max")
DEVICE_ACTIONS = ("map", "unmap", "implausible")


def _form_for(name: str, value: Any, spec: dict[str, Any] | None) -> dict[str, Any]:
    """The mapping form of one field: its mapping if it has one, else a suggestion."""
    if spec is not None:
        bounds = spec.get("range") or {}
        return {
            "field": name,
            "property": spec["observableProperty"],
            "unit": properties.unit_code(spec.get("unit")) or spec.get("unit") or "",
            "datatype": spec["datatype"],
            "feature": spec.get("featureOfInterest", "environment"),
            "scale": spec.get("scale", ""),
            "offset": spec.get("offset", ""),
            "min": bounds.get("min", ""),
            "max": bounds.get("max", ""),
            "suggested": False,
        }
    guess = properties.suggest(name, value)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    form: dict[str, Any] = {
        "field": name,
        "property": "",
        "unit": "",
        "datatype": "decimal" if numeric else "boolean" if isinstance(value, bool) else "string",
        "feature": "environment",
        "scale": "",
        "offset": "",
        "min": "",
        "max": "",
        "suggested": guess is not None,
    }
    if guess is not None:
        prop, unit, scale = guess
        form.update(
            property=prop.name,
            unit=unit or "",
            datatype=prop.datatype,
            feature=prop.feature,
            scale=scale if scale is not None else "",
        )
    return form


def _device_context(node: Node, device_id: str) -> dict[str, Any] | None:
    found = device_detail(node, device_id)
    if found is None:
        return None
    mapping: dict[str, Any] = found["mapping"]
    payload = found["lastPayload"] or {"fields": {}, "unmapped": []}
    fields = dict(payload["fields"])
    rows = [
        {
            "name": name,
            "value": json.dumps(value, ensure_ascii=False),
            "spec": mapping.get(name),
            "unit": properties.symbol(mapping.get(name, {}).get("unit")),
        }
        for name, value in sorted(fields.items())
    ]
    seen = {f["field"]: f["value"] for f in found["unmappedFields"]}
    unmapped = {**seen, **{name: fields[name] for name in payload["unmapped"]}}
    rows += [
        {"name": name, "value": json.dumps(value, ensure_ascii=False), "spec": None, "unit": ""}
        for name, value in sorted(seen.items())
        if name not in fields
    ]
    forms = [_form_for(name, value, None) for name, value in sorted(unmapped.items())]
    forms += [_form_for(name, fields.get(name), spec) for name, spec in sorted(mapping.items())]
    return {
        "device": found,
        "rows": rows,
        "forms": forms,
        "property_names": sorted(properties.PROPERTIES),
        "property_list": [properties.PROPERTIES[k] for k in sorted(properties.PROPERTIES)],
        "units": properties.UNITS,
    }


async def _render_device(
    request: web.Request, device_id: str, status: int = 200, **extra: Any
) -> web.StreamResponse:
    node: Node = request.app["node"]
    context = await asyncio.to_thread(_device_context, node, device_id)
    if context is None:
        raise web.HTTPNotFound(text="no such device")
    response = aiohttp_jinja2.render_template(
        "admin/device.html",
        request,
        {"csrf": request["csrf"], "error": None, **context, **extra},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@describe(
    "Console: one device's newest payload, its unmapped fields and the forms to map them",
    tags=["console"],
)
@signed_in
async def device_page(request: web.Request) -> web.StreamResponse:
    return await _render_device(request, request.match_info["device"])


def _mapping_body(form: dict[str, str]) -> dict[str, Any]:
    """The form as a mapping change: numbers where numbers are asked, blanks left out."""
    spec: dict[str, Any] = {}
    for key in ("property", "unit", "datatype", "feature"):
        if form[key]:
            spec[key] = form[key]
    for key in ("scale", "offset", "min", "max"):
        if form[key]:
            try:
                spec[key] = float(form[key].replace(",", "."))
            except ValueError:
                raise RegistryError(key, say(_NUMBER_FIELDS[key])) from None
    return {"fields": {form["field"]: spec}}


@describe(
    "Console: map or unmap a field of a device, or choose whether its implausible readings "
    "are flagged or refused",
    tags=["console"],
    request_body=form_body(
        {
            **CSRF,
            **dict.fromkeys(MAP_FIELDS, TEXT),
            "action": {"type": "string", "enum": list(DEVICE_ACTIONS)},
            "implausible": {"type": "string", "enum": ["flag", "refuse"]},
        },
        ["csrf_token", "action"],
    ),
)
@signed_in
async def device_post(request: web.Request) -> web.StreamResponse:
    await sessions.check_csrf(request)
    node: Node = request.app["node"]
    registry = request.app["ingest"]["registry"]
    device_id = await asyncio.to_thread(stored_id, node, request.match_info["device"])
    posted = await read_form(request)
    action = str(posted.get("action", ""))
    form = {k: str(posted.get(k, "")).strip()[:512] for k in MAP_FIELDS}
    try:
        if action == "map" and form["field"]:
            body = _mapping_body(form)
        elif action == "unmap" and form["field"]:
            body = {"fields": {form["field"]: None}}
        elif action == "implausible":
            body = {"implausible": str(posted.get("implausible", ""))}
        else:
            raise RegistryError("action", say("Choose a field to map or unmap."))
        changed = await remap(node, registry, device_id, body)
    except RegistryError as exc:
        return await _render_device(request, device_id, 422, error=reason(exc), form=form)
    if changed is None:
        raise web.HTTPNotFound(text="no such device")
    raise web.HTTPSeeOther(f"/admin/console/devices/{quote(changed.id, safe='')}")


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/console/devices", devices_page)
    app.router.add_post("/admin/console/devices", devices_post)
    app.router.add_get("/admin/console/devices/{device}", device_page)
    app.router.add_post("/admin/console/devices/{device}", device_post)
