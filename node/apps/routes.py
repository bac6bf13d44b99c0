"""HTTP side of the app directory: OAuth endpoints for apps, the consent page for residents,
and the operator's review API.

Protocol answers keep the formats their RFCs prescribe (RFC 6749/7591 JSON errors, redirects
back to the app); everything else that goes wrong is a problem+json.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp_jinja2
from aiohttp import web
from authlib.oauth2 import OAuth2Error
from jsonschema import Draft202012Validator

from allmende.node.apps import manifest as manifests
from allmende.node.apps.dcat import catalog_services, directory_graph
from allmende.node.apps.registry import Registry, ReviewError, public
from allmende.node.apps.residents import RESIDENT_COOKIE, signed_in_resident
from allmende.node.apps.server import (
    Answer,
    AuthorizationServer,
    BodyJsonRequest,
    FormRequest,
    Resident,
    check_app_token,
)
from allmende.node.auth import AuthError, verify_token
from allmende.node.http.admin import json_body
from allmende.node.http.forms import read_form, read_json
from allmende.node.http.openapi import describe, form_body, json_request, query_param
from allmende.node.http.problems import Problem
from allmende.node.http.security import admin_only
from allmende.node.messages import N_, say
from allmende.node.messages import reason as reason_of
from allmende.node.runtime import Node
from allmende.node.usage.agreements import purpose_iri
from allmende.node.usage.enforcement import TOKEN_CHECKS
from allmende.policies.explain import term_label

SERVER = web.AppKey("apps_server", AuthorizationServer)
MINE = "/apps/mine"
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
REASON = Draft202012Validator(
    {
        "type": "object",
        "required": ["reason"],
        "additionalProperties": False,
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}},
    }
)
ADOPTION = Draft202012Validator(
    {
        "type": "object",
        "required": ["source", "client_id"],
        "additionalProperties": False,
        "properties": {
            "source": {
                "type": "string",
                "maxLength": 300,
                "description": "the neighbour's node id, as the federated directory names it",
            },
            "client_id": {"type": "string", "maxLength": 64},
        },
    }
)
APPROVAL = Draft202012Validator(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": {
                "type": "string",
                "maxLength": 64,
                "description": "the version the operator reviewed; refused if it changed since",
            }
        },
    }
)
REGISTRATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["redirect_uris", manifests.FIELD],
    "properties": {
        "redirect_uris": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "token_endpoint_auth_method": {
            "enum": ["none", "client_secret_basic", "client_secret_post"]
        },
        "software_statement": {"type": "string"},
        manifests.FIELD: manifests.SCHEMA,
    },
}
_STRINGS = {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 2000}}
METADATA_TYPES = Draft202012Validator(
    {
        "type": "object",
        "maxProperties": 40,
        "properties": {
            "redirect_uris": _STRINGS,
            "grant_types": _STRINGS,
            "response_types": _STRINGS,
            "contacts": _STRINGS,
            "token_endpoint_auth_method": {"type": "string"},
            "software_statement": {"type": "string", "maxLength": 20000},
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "scope": {"type": "string"},
            "jwks": {"type": "object"},
            manifests.FIELD: {"type": "object"},
        },
        "patternProperties": {
            "^(client_name|client_uri|logo_uri|tos_uri|policy_uri|"
            "software_id|software_version|jwks_uri)(#.*)?$": {"type": "string"}
        },
    }
)
"""The types of client metadata, checked before Authlib reads it (it expects them)."""
TOKEN_FORM = {
    "grant_type": {"type": "string"},
    "code": {"type": "string"},
    "redirect_uri": {"type": "string"},
    "client_id": {"type": "string"},
    "client_secret": {"type": "string"},
    "code_verifier": {"type": "string"},
    "refresh_token": {"type": "string"},
    "scope": {"type": "string"},
}
TOKEN_ONLY_FORM = {
    "token": {"type": "string"},
    "token_type_hint": {"type": "string"},
    "client_id": {"type": "string"},
    "client_secret": {"type": "string"},
}


def _server(request: web.Request) -> AuthorizationServer:
    return request.app[SERVER]


def _uri(request: web.Request) -> str:
    node: Node = request.app["node"]
    return node.base_url + request.path_qs


def _respond(answer: Answer) -> web.Response:
    headers = dict(answer.headers)
    headers.pop("Content-Type", None)
    if isinstance(answer.body, dict):
        return web.json_response(answer.body, status=answer.status, headers=headers)
    return web.Response(status=answer.status, text=answer.body or None, headers=headers)


async def _form_request(request: web.Request) -> FormRequest:
    form = await read_form(request) if request.can_read_body else None
    return FormRequest(
        request.method,
        _uri(request),
        dict(request.headers),
        list(request.query.items()),
        [(k, str(v)) for k, v in form.items()] if form else [],
    )


# --- registration (RFC 7591 / 7592) and server metadata (RFC 8414) ----------------------


def _metadata_error(body: Any) -> web.Response | None:
    """An RFC 7591 error for metadata of the wrong types or not encodable as UTF-8."""
    description = None
    error = next(iter(METADATA_TYPES.iter_errors(body)), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "the body"
        expected = error.validator_value if error.validator == "type" else error.validator
        description = f"{where}: not as RFC 7591 describes it ({error.validator} {expected})"
    else:
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            description = "the metadata holds text that is not valid Unicode"
    if description is None:
        return None
    answer = {"error": "invalid_client_metadata", "error_description": description}
    return web.json_response(answer, status=400, headers={"Cache-Control": "no-store"})


@describe(
    "OAuth 2.0 authorization server metadata (RFC 8414) for apps",
    tags=["apps"],
)
async def server_metadata(request: web.Request) -> web.Response:
    return web.json_response(_server(request).metadata())


@describe(
    "Register an app (OAuth 2.0 Dynamic Client Registration, RFC 7591) with its manifest; "
    "it starts in the sandbox",
    tags=["apps"],
    request_body=json_request(REGISTRATION_SCHEMA),
    responses={
        "201": {"description": "client information, registration access token (RFC 7592)"},
        "400": {"description": "RFC 7591 error"},
    },
)
async def register(request: web.Request) -> web.Response:
    body = await read_json(request)
    if (refused := _metadata_error(body)) is not None:
        return refused
    oauth = BodyJsonRequest("POST", _uri(request), dict(request.headers), body)
    answer = await asyncio.to_thread(
        _server(request).create_endpoint_response, "client_registration", oauth
    )
    return _respond(answer)


@describe(
    "Read an app's registration (RFC 7592), with its registration access token",
    tags=["apps"],
    bearer=True,
    responses={"200": {"description": "client information"}},
)
async def read_registration(request: web.Request) -> web.Response:
    return await configure(request)


@describe(
    "Update (a new version) or delete an app's registration (RFC 7592), with its "
    "registration access token",
    tags=["apps"],
    bearer=True,
    request_body=json_request(REGISTRATION_SCHEMA, required=False),
    responses={"200": {"description": "client information"}, "204": {"description": "deleted"}},
)
async def configure(request: web.Request) -> web.Response:
    body = await read_json(request) if request.method == "PUT" else {}
    if (refused := _metadata_error(body)) is not None:
        return refused
    oauth = BodyJsonRequest(request.method, _uri(request), dict(request.headers), body)
    oauth.client_id_in_path = request.match_info["client_id"]
    answer = await asyncio.to_thread(
        _server(request).create_endpoint_response, "client_configuration", oauth
    )
    if request.method == "DELETE":
        _events_written(request)
    return _respond(answer)


# --- token, revocation, introspection -----------------------------------------------------


@describe(
    "Exchange an authorization code (PKCE, RFC 7636) or a refresh token for an access token "
    "(RFC 6749)",
    tags=["apps"],
    request_body=form_body(TOKEN_FORM, ["grant_type"]),
    responses={"200": {"description": "the token"}, "400": {"description": "RFC 6749 error"}},
)
async def token(request: web.Request) -> web.Response:
    oauth = await _form_request(request)
    answer = await asyncio.to_thread(_server(request).create_token_response, oauth)
    return _respond(answer)


@describe(
    "Revoke an app's token (RFC 7009)",
    tags=["apps"],
    request_body=form_body(TOKEN_ONLY_FORM, ["token"]),
)
async def revoke(request: web.Request) -> web.Response:
    oauth = await _form_request(request)
    answer = await asyncio.to_thread(_server(request).create_endpoint_response, "revocation", oauth)
    return _respond(answer)


@describe(
    "Is this token of the app active, and what may it do (RFC 7662)",
    tags=["apps"],
    request_body=form_body(TOKEN_ONLY_FORM, ["token"]),
)
async def introspect(request: web.Request) -> web.Response:
    oauth = await _form_request(request)
    answer = await asyncio.to_thread(
        _server(request).create_endpoint_response, "introspection", oauth
    )
    return _respond(answer)


# --- residents: sign-in and consent ---------------------------------------------------------


def _csrf(request: web.Request, resident: Resident, params: dict[str, str]) -> str:
    """A form token bound to the resident's sign-in and this exact request."""
    node: Node = request.app["node"]
    key = hashlib.sha256(b"allmende-consent" + node.key.private.private_bytes_raw()).digest()
    message = json.dumps(
        [request.cookies.get(RESIDENT_COOKIE, ""), resident.name, sorted(params.items())]
    )
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _oauth_params(source: Any) -> dict[str, str]:
    return {name: str(source[name]) for name in AUTHORIZE_PARAMS if source.get(name)}


def _back_to_app(request: web.Request, answer: Answer) -> web.Response:
    """A redirect back to the app names this server as its issuer (RFC 9207): an app that a
    neighbour adopted has the same client_id at several villages, and must be able to tell
    which one answered before it sends the code anywhere."""
    headers = [
        (name, _with_issuer(value, _server(request).metadata()["issuer"]))
        if name.lower() == "location"
        else (name, value)
        for name, value in answer.headers
    ]
    return _respond(Answer(answer.status, answer.body, headers))


def _with_issuer(location: str, issuer: str) -> str:
    parts = urlsplit(location)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("iss", issuer)]
    return urlunsplit(parts._replace(query=urlencode(query)))


OAUTH_ERRORS = {
    "invalid_request": N_("The app's sign-in request is incomplete or malformed."),
    "invalid_client": N_("This app is not known here or not allowed to sign in."),
    "unauthorized_client": N_("This app may not sign residents in this way."),
    "access_denied": N_("The sign-in was refused."),
    "unsupported_response_type": N_("The app asks for an answer this village does not give."),
    "invalid_scope": N_("The app asks for rights this village did not approve."),
    "invalid_grant": N_("The sign-in has expired or was already used."),
    "server_error": N_("The village's sign-in failed; please try again later."),
    "temporarily_unavailable": N_("Signing in is not possible just now; please try again later."),
}
"""RFC 6749 §4.1.2.1's error codes, said to the resident when there is no app to send them
back to (Authlib's descriptions are English developer texts; they stay in the problem)."""


def _error_page(request: web.Request, error: OAuth2Error, answer: Answer) -> web.Response:
    if answer.status == 302:
        return _back_to_app(request, answer)
    template = OAUTH_ERRORS.get(str(error.error), OAUTH_ERRORS["invalid_request"])
    raise Problem(
        400,
        "Bad Request",
        say(template),
        error=error.error,
        error_description=error.description or error.error,
    )


def _consent_context(request: web.Request, grant: Any, resident: Resident) -> dict[str, Any]:
    client = grant.client
    manifest = client.metadata[manifests.FIELD]
    scopes = (grant.request.payload.scope or "").split()
    language = request.get("lang", "de")
    purposes = {d["dataset"]: d for d in manifest.get("datasets", [])}
    return {
        "app": manifest,
        "client_id": client.client_id,
        "status": client.row.status,
        "resident": resident.name,
        "datasets": [purposes[d] for s in scopes if (d := manifests.dataset_of(s)) in purposes],
        "actions": [
            manifests.ACTIONS[s][language if language == "en" else "de"]
            for s in scopes
            if s in manifests.ACTIONS
        ],
        "params": _oauth_params(grant.request.payload.data),
        "csrf": _csrf(request, resident, _oauth_params(grant.request.payload.data)),
        "purpose": _purpose_words(request),
    }


@describe(
    "The consent page: a resident signs in and allows or refuses an app (RFC 6749 4.1)",
    tags=["apps"],
    parameters=[query_param(name, f"OAuth {name}") for name in AUTHORIZE_PARAMS],
    responses={"200": {"description": "the page"}, "302": {"description": "back to the app"}},
)
async def authorize_page(request: web.Request) -> web.Response:
    resident = signed_in_resident(request)
    if resident is None:
        context = {"next": request.path_qs, "error": None}
        return aiohttp_jinja2.render_template("apps/signin.html", request, context)
    oauth = await _form_request(request)
    server = _server(request)
    try:
        grant = await asyncio.to_thread(server.get_consent_grant, oauth, resident)
    except OAuth2Error as error:
        return _error_page(request, error, server.handle_error_response(oauth, error))
    context = _consent_context(request, grant, resident)
    response = aiohttp_jinja2.render_template("apps/consent.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@describe(
    "The resident's answer on the consent page: allow or refuse; back to the app",
    tags=["apps"],
    request_body=form_body(
        {
            **{name: {"type": "string"} for name in AUTHORIZE_PARAMS},
            "csrf": {"type": "string"},
            "decision": {"enum": ["allow", "deny"]},
        },
        ["csrf", "decision"],
    ),
    responses={"302": {"description": "back to the app with a code or an error"}},
)
async def authorize_decision(request: web.Request) -> web.Response:
    form = await read_form(request)
    resident = signed_in_resident(request)
    if resident is None:
        raise Problem(401, "Unauthorized", "sign in as a resident first")
    params = _oauth_params(form)
    expected = _csrf(request, resident, params)
    if not hmac.compare_digest(expected, str(form.get("csrf", ""))):
        raise Problem(
            403, "Forbidden", "the consent form is not from this page (csrf token mismatch)"
        )
    oauth = FormRequest("POST", _uri(request), dict(request.headers), [], list(params.items()))
    server = _server(request)
    try:
        grant = await asyncio.to_thread(server.get_consent_grant, oauth, resident)
    except OAuth2Error as error:
        return _error_page(request, error, server.handle_error_response(oauth, error))
    user: Resident | None = None
    if form.get("decision") == "allow":
        consent = await asyncio.to_thread(
            _registry(request).record_consent,
            grant.client.client_id,
            resident.name,
            grant.request.payload.scope or "",
        )
        user = Resident(resident.name, consent)
    answer = await asyncio.to_thread(server.create_authorization_response, oauth, user, grant)
    return _back_to_app(request, answer)


@describe(
    "A resident signs in with the code the village gave them (a resident token)",
    tags=["apps"],
    request_body=form_body(
        {"code": {"type": "string"}, "next": {"type": "string"}}, ["code", "next"]
    ),
    responses={"303": {"description": "back to the consent page"}},
)
async def signin(request: web.Request) -> web.Response:
    form = await read_form(request)
    target = str(form.get("next", ""))
    if not (target.startswith("/oauth/authorize?") or target == MINE):
        raise Problem(
            400, "Bad Request", f"next must be the consent page (/oauth/authorize?...) or {MINE}"
        )
    code = str(form.get("code", "")).strip()
    node: Node = request.app["node"]
    try:
        principal = verify_token(code, {node.key.kid: node.key.public}, node.id)
        if principal.role != "resident":
            raise AuthError(say("this is not a resident's code"))
    except AuthError as exc:
        context = {"next": target, "error": reason_of(exc)}
        response = aiohttp_jinja2.render_template("apps/signin.html", request, context)
        response.set_status(401)
        return response
    response = web.Response(status=303, headers={"Location": target})
    response.set_cookie(
        RESIDENT_COOKIE,
        code,
        httponly=True,
        samesite="Lax",
        secure=node.base_url.startswith("https://"),
        path="/",
    )
    return response


# --- "Meine Apps" and the public directory ------------------------------------------------


def _purpose_words(request: web.Request) -> Any:
    """A purpose in plain words (allmende:research as "Forschung"), for the templates."""
    language = "en" if request.get("lang") == "en" else "de"
    return lambda purpose: term_label(purpose_iri(purpose) or "", language)


def _action_words(request: web.Request, scopes: list[str]) -> list[str]:
    language = "en" if request.get("lang") == "en" else "de"
    return [manifests.ACTIONS[s][language] for s in scopes if s in manifests.ACTIONS]


@describe(
    "My apps: every app the signed-in resident allowed, what it did, and withdrawing it",
    tags=["apps"],
    responses={"200": {"description": "the page (or the sign-in form)"}},
)
async def my_apps(request: web.Request) -> web.Response:
    resident = signed_in_resident(request)
    if resident is None:
        signin = {"next": MINE, "error": None}
        return aiohttp_jinja2.render_template("apps/signin.html", request, signin)
    apps = await asyncio.to_thread(_registry(request).my_apps, resident.name)
    for entry in apps:
        entry["datasets"] = [d for s in entry["scopes"] if (d := manifests.dataset_of(s))]
        entry["actions"] = _action_words(request, entry["scopes"])
        entry["csrf"] = _csrf(request, resident, {"client_id": entry["client_id"]})
    context: dict[str, Any] = {"apps": apps, "resident": resident.name}
    response = aiohttp_jinja2.render_template("apps/mine.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    return response


@describe(
    "Withdraw everything the resident allowed an app: its next request is refused",
    tags=["apps"],
    request_body=form_body(
        {"client_id": {"type": "string"}, "csrf": {"type": "string"}}, ["client_id", "csrf"]
    ),
    responses={"303": {"description": "back to My apps"}},
)
async def my_apps_withdraw(request: web.Request) -> web.Response:
    form = await read_form(request)
    resident = signed_in_resident(request)
    if resident is None:
        raise Problem(401, "Unauthorized", "sign in as a resident first")
    client_id = str(form.get("client_id", ""))
    expected = _csrf(request, resident, {"client_id": client_id})
    if not hmac.compare_digest(expected, str(form.get("csrf", ""))):
        raise Problem(403, "Forbidden", "the form is not from this page (csrf token mismatch)")
    await asyncio.to_thread(_registry(request).withdraw, resident.name, client_id)
    return web.Response(status=303, headers={"Location": MINE})


@describe(
    "The app directory: the apps this village approved, what they use and how often; a "
    "page for browsers, DCAT (dcat:DataService per app) as Turtle, JSON otherwise",
    tags=["apps"],
    parameters=[
        query_param(
            "format",
            "json for JSON, ttl for DCAT in Turtle, whatever the Accept header says",
        )
    ],
)
async def directory(request: web.Request) -> web.Response:
    from allmende.node.http.problems import wants_html

    apps = await asyncio.to_thread(_registry(request).directory)
    neighbours = await asyncio.to_thread(_registry(request).neighbours)
    wanted = request.query.get("format")
    if wanted == "ttl" or (wanted is None and "text/turtle" in request.headers.get("Accept", "")):
        node: Node = request.app["node"]
        graph = directory_graph(node.base_url, node.settings.node.name, apps)
        return web.Response(text=graph.serialize(format="turtle"), content_type="text/turtle")
    if wants_html(request) and wanted != "json":
        for entry in apps:
            entry["actions"] = _action_words(request, entry["scopes"])
        for entry in neighbours:
            entry["actions"] = _action_words(request, entry["manifest"].get("actions", []))
        context = {"apps": apps, "neighbours": neighbours, "purpose": _purpose_words(request)}
        return aiohttp_jinja2.render_template("apps/directory.html", request, context)
    return web.json_response({"apps": apps, "neighbours": [_neighbour(e) for e in neighbours]})


def _neighbour(entry: dict[str, Any]) -> dict[str, Any]:
    """A neighbour's approved app as the directory's JSON shows it."""
    keys = ("source", "village", "base", "client_id", "manifest", "origin", "here")
    return {key: entry.get(key) for key in keys}


# --- the operator's review ------------------------------------------------------------------


def _registry(request: web.Request) -> Registry:
    registry: Registry = _server(request).registry
    return registry


async def _review(
    request: web.Request, step: str, reason: str | None = None, version: str | None = None
) -> web.Response:
    registry = _registry(request)
    client_id = request.match_info["client_id"]
    try:
        if step == "approve":
            row = await asyncio.to_thread(registry.approve, client_id, version)
        elif step == "reject":
            row = await asyncio.to_thread(registry.reject, client_id, reason or "")
        else:
            row = await asyncio.to_thread(registry.suspend, client_id, reason or "")
    except LookupError as exc:
        raise Problem(404, "Not Found", reason_of(exc)) from None
    except ReviewError as exc:
        raise Problem(409, "Conflict", reason_of(exc), app=client_id) from None
    _events_written(request)
    return web.json_response(public(row))


def _events_written(request: web.Request) -> None:
    """An approval, suspension or deletion wrote an event (app.listed / app.delisted): the
    feed's waiting neighbours and the relay hear of it now, not at the next commit."""
    node: Node = request.app["node"]
    node.project_soon()


@describe(
    "Registered apps and their review state",
    tags=["apps"],
    admin=True,
    parameters=[query_param("status", "sandbox, approved, rejected or suspended")],
)
@admin_only
async def admin_apps(request: web.Request) -> web.Response:
    rows = await asyncio.to_thread(_registry(request).apps, request.query.get("status"))
    return web.json_response({"apps": [public(row) for row in rows]})


@describe(
    "Apps that neighbouring villages approved (from their signed events), and whether this "
    "village has each",
    tags=["apps"],
    admin=True,
)
@admin_only
async def admin_neighbours(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(_registry(request).neighbours)
    return web.json_response({"apps": [_neighbour(e) for e in found]})


@describe(
    "Take a neighbour's approved app into this village's review (sandbox); approving it here "
    "is this village's own decision, for its own data and actions",
    tags=["apps"],
    admin=True,
    request_body=json_request(ADOPTION.schema),
    responses={"201": {"description": "the app, in the sandbox here"}},
)
@admin_only
async def admin_adopt(request: web.Request) -> web.Response:
    body = await json_body(request, ADOPTION)
    registry = _registry(request)
    try:
        row = await asyncio.to_thread(registry.adopt, body["source"], body["client_id"])
    except LookupError as exc:
        raise Problem(404, "Not Found", reason_of(exc)) from None
    except ReviewError as exc:
        raise Problem(409, "Conflict", reason_of(exc), app=body["client_id"]) from None
    return web.json_response(public(row), status=201)


@describe("One app: manifest, scopes, agreements, review state", tags=["apps"], admin=True)
@admin_only
async def admin_app(request: web.Request) -> web.Response:
    try:
        row = await asyncio.to_thread(_registry(request).get, request.match_info["client_id"])
    except LookupError as exc:
        raise Problem(404, "Not Found", reason_of(exc)) from None
    return web.json_response(public(row))


@describe(
    "Approve the app's current version: its agreements are concluded and signed",
    tags=["apps"],
    admin=True,
    request_body=json_request(APPROVAL.schema, required=False),
)
@admin_only
async def admin_approve(request: web.Request) -> web.Response:
    body = await json_body(request, APPROVAL)
    return await _review(request, "approve", version=body.get("version"))


@describe(
    "Reject the app, with the reason its developer reads",
    tags=["apps"],
    admin=True,
    request_body=json_request(REASON.schema),
)
@admin_only
async def admin_reject(request: web.Request) -> web.Response:
    body = await json_body(request, REASON)
    return await _review(request, "reject", body["reason"])


@describe(
    "Suspend the app: every token stops on its next use",
    tags=["apps"],
    admin=True,
    request_body=json_request(REASON.schema),
)
@admin_only
async def admin_suspend(request: web.Request) -> web.Response:
    body = await json_body(request, REASON)
    return await _review(request, "suspend", body["reason"])


def setup(app: web.Application) -> None:
    from allmende.node.apps import console
    from allmende.node.catalog.routes import SERVICES

    node: Node = app["node"]
    registry = Registry(node)
    app[SERVER] = AuthorizationServer(node, registry)
    app.setdefault(SERVICES, []).append(
        lambda node: catalog_services(node.base_url, registry.directory())
    )
    TOKEN_CHECKS["app_token"] = check_app_token
    app.router.add_get("/.well-known/oauth-authorization-server", server_metadata)
    app.router.add_post("/oauth/register", register)
    app.router.add_get("/oauth/register/{client_id}", read_registration)
    app.router.add_put("/oauth/register/{client_id}", configure)
    app.router.add_delete("/oauth/register/{client_id}", configure)
    app.router.add_get("/oauth/authorize", authorize_page)
    app.router.add_post("/oauth/authorize", authorize_decision)
    app.router.add_post("/oauth/signin", signin)
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/oauth/revoke", revoke)
    app.router.add_post("/oauth/introspect", introspect)
    app.router.add_get("/apps", directory)
    app.router.add_get(MINE, my_apps)
    app.router.add_post(MINE + "/withdraw", my_apps_withdraw)
    console.setup(app)
    app.router.add_get("/admin/apps", admin_apps)
    app.router.add_get("/admin/apps/neighbours", admin_neighbours)  # before /admin/apps/{id}
    app.router.add_post("/admin/apps/neighbours/adopt", admin_adopt)
    app.router.add_get("/admin/apps/{client_id}", admin_app)
    app.router.add_post("/admin/apps/{client_id}/approve", admin_approve)
    app.router.add_post("/admin/apps/{client_id}/reject", admin_reject)
    app.router.add_post("/admin/apps/{client_id}/suspend", admin_suspend)


__all__ = ["setup"]
