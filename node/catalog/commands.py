"""`allmende dataset add|update|retract|list|show`: the catalog from the command line.

When the node is running, the commands go through its admin API (with a token minted from
the node's key, which the operator's folder holds); when it is stopped, they open the node
folder directly. Either way the same code checks, publishes and signs.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import click

from allmende.node.cli_client import CommandError, Remote, connect, explain
from allmende.node.cli_client import fail as _fail
from allmende.node.cli_common import DIRECTORY

DATASET_ID = click.argument("dataset_id", metavar="ID")
CHUNK = 256 * 1024


def _running_node(directory: Path) -> Remote | None:
    """The admin API of the node serving the folder, or None (then the folder is opened)."""
    return connect(directory)


def _local(directory: Path, work: Callable[[Any], Any]) -> Any:
    """Open the stopped node's folder, run `work(node)` (a coroutine function), close."""
    from allmende.node.catalog import service
    from allmende.node.runtime import Node

    try:
        node = Node.open(directory)
    except OSError as exc:
        raise CommandError(explain(exc)) from None
    try:
        return asyncio.run(work(node))
    except service.CatalogError as exc:
        raise CommandError(exc.detail, exc.errors) from None
    finally:
        node.close()


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk


async def _upload_local(node: Any, dataset_id: str, path: Path, title: str | None) -> str:
    from allmende.node.catalog import service
    from allmende.node.catalog.files import (
        FileTooLarge,
        files_directory,
        guess_media_type,
        store_stream,
    )

    try:
        stored = await store_stream(
            _file_chunks(path),
            files_directory(node.settings.directory),
            node.settings.http.max_body_bytes,
        )
    except FileTooLarge as exc:
        raise CommandError(f"{path}: {exc}") from None
    meta = {"title": title} if title else {}
    _outcome, distribution_id = await service.add_file(
        node,
        dataset_id,
        stored,
        file_name=path.name,
        media_type=guess_media_type(None, path.name),
        meta=meta,
    )
    return distribution_id


def _upload_remote(remote: Remote, dataset_id: str, path: Path, title: str | None) -> str:
    from allmende.node.catalog.files import guess_media_type

    params = {"file_name": path.name, **({"title": title} if title else {})}
    query = urllib.parse.urlencode(params)
    result = remote.call(
        "POST",
        f"/admin/datasets/{dataset_id}/distributions?{query}",
        data=path.read_bytes(),
        content_type=guess_media_type(None, path.name) or "application/octet-stream",
    )
    return str(result["distribution"])


# --- building a description from options -------------------------------------------------


def _texts(de: str | None, en: str | None) -> dict[str, str] | None:
    texts = {k: v for k, v in (("de", de), ("en", en)) if v}
    return texts or None


def _keywords(values: tuple[str, ...]) -> dict[str, list[str]] | None:
    """`Luft` (German) or `en:air`."""
    found: dict[str, list[str]] = {}
    for value in values:
        language, sep, word = value.partition(":")
        if not sep or len(language) not in (2, 3) or not language.isalpha():
            language, word = "de", value
        found.setdefault(language, []).append(word)
    return found or None


def _policy(
    file: Path | None, template: str | None, params: tuple[str, ...], node_id: str, iri: str
) -> dict[str, Any] | None:
    if file is not None:
        return dict(json.loads(file.read_text(encoding="utf-8")))
    if template is None:
        return None
    from allmende.policies.templates import TemplateError, template_document

    values: dict[str, Any] = {"assigner": node_id, "target": iri}
    for param in params:
        key, sep, value = param.partition("=")
        if not sep:
            raise CommandError(f"--policy-param {param!r}: write NAME=VALUE")
        values[key] = int(value) if value.isdigit() else value
    try:
        return template_document(template, **values)
    except TemplateError as exc:
        raise CommandError(str(exc)) from None


def _description(options: dict[str, Any], node_id: str, base: str, dataset_id: str | None) -> dict:
    document: dict[str, Any] = {}
    if options.get("json_file"):
        document = dict(json.loads(options["json_file"].read_text(encoding="utf-8")))
    if dataset_id:
        document["id"] = dataset_id
    simple = {
        "title": _texts(options.get("title_de"), options.get("title_en")),
        "description": _texts(options.get("description_de"), options.get("description_en")),
        "keywords": _keywords(options.get("keyword") or ()),
        "themes": list(options.get("theme") or ()) or None,
        "license": options.get("license"),
        "license_attribution": options.get("license_attribution"),
        "access_rights": options.get("access_rights"),
        "frequency": options.get("frequency"),
        "languages": list(options.get("language") or ()) or None,
        "landing_page": options.get("landing_page"),
    }
    document.update({k: v for k, v in simple.items() if v is not None})
    contact = {k: options.get(f"contact_{k}") for k in ("name", "email", "url", "phone")}
    if any(contact.values()):
        document["contact"] = {
            **document.get("contact", {}),
            **{k: v for k, v in contact.items() if v},
        }
    publisher = {k: options.get(f"publisher_{k}") for k in ("name", "type", "uri", "homepage")}
    if any(publisher.values()):
        document["publisher"] = {
            **document.get("publisher", {}),
            **{k: v for k, v in publisher.items() if v},
        }
    temporal = {"start": options.get("temporal_start"), "end": options.get("temporal_end")}
    if any(temporal.values()):
        document["temporal"] = {k: v for k, v in temporal.items() if v}
    if options.get("bbox") or options.get("geometry"):
        spatial: dict[str, Any] = {}
        if options.get("bbox"):
            try:
                spatial["bbox"] = [float(x) for x in options["bbox"].split(",")]
            except ValueError:
                raise CommandError("--bbox: write WEST,SOUTH,EAST,NORTH in degrees") from None
        if options.get("geometry"):
            spatial["geometry"] = options["geometry"]
        document["spatial"] = spatial
    links = [{"kind": "link", "url": url} for url in options.get("link") or ()]
    apis = [{"kind": "api", "service": name} for name in options.get("api") or ()]
    if links or apis:
        document["distributions"] = [*document.get("distributions", []), *links, *apis]
    if not (dataset_id or document.get("id")):
        from allmende.node.catalog.service import slugify

        title = document.get("title") or {}
        text = title.get("de") or title.get("en") if isinstance(title, dict) else str(title)
        document["id"] = slugify(text or "")
    iri = f"{base}/datasets/{dataset_id or document.get('id', '')}"
    policy = _policy(
        options.get("policy_file"),
        options.get("policy_template"),
        options.get("policy_param") or (),
        node_id,
        iri,
    )
    if policy is not None:
        document["policy"] = policy
    return document


def _describe_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--json",
            "json_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A JSON description to start from (options override it).",
        ),
        click.option("--title-de"),
        click.option("--title-en"),
        click.option("--description-de"),
        click.option("--description-en"),
        click.option("--keyword", multiple=True, help="A keyword (German), or LANG:WORD."),
        click.option("--theme", multiple=True, help="EU data theme code, e.g. ENVI."),
        click.option("--license", help="e.g. dl-de/by-2-0, dl-de/zero-2-0, cc-by/4.0, cc-zero"),
        click.option("--license-attribution", help="Attribution text (Namensnennung)."),
        click.option("--access-rights", help="PUBLIC, RESTRICTED or NON_PUBLIC."),
        click.option("--frequency", help="EU frequency code, e.g. HOURLY, DAILY, IRREG."),
        click.option("--language", multiple=True, help="Language of the data, e.g. de."),
        click.option("--landing-page"),
        click.option("--contact-name"),
        click.option("--contact-email"),
        click.option("--contact-url"),
        click.option("--contact-phone"),
        click.option("--publisher-name"),
        click.option("--publisher-type"),
        click.option("--publisher-uri"),
        click.option("--publisher-homepage"),
        click.option("--temporal-start", help="ISO date, e.g. 2024-01-01."),
        click.option("--temporal-end"),
        click.option("--bbox", help="Spatial coverage WEST,SOUTH,EAST,NORTH (WGS84)."),
        click.option("--geometry", help="Spatial coverage as WKT."),
        click.option("--link", multiple=True, help="URL of a download elsewhere."),
        click.option(
            "--api",
            multiple=True,
            type=click.Choice(["sparql", "observations"]),
            help="Offer the data through the node's SPARQL endpoint or time series API.",
        ),
        click.option(
            "--file",
            "files",
            multiple=True,
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="Upload a file as a distribution (checksum and size are recorded).",
        ),
        click.option(
            "--policy",
            "policy_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="An ODRL offer (JSON-LD) as the usage policy.",
        ),
        click.option("--policy-template", help="A usage policy template (policies/templates)."),
        click.option("--policy-param", multiple=True, help="Template parameter NAME=VALUE."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _report(action: str, result: dict[str, Any], distributions: list[str]) -> None:
    data = result.get("dataset", {})
    click.echo(f"{action} {data.get('id')} ({data.get('base')}/datasets/{data.get('id')})")
    if result.get("changed") is False:
        click.echo("  (nothing changed)")
    for name in distributions:
        click.echo(f"  file distribution {name}")
    for warning in result.get("warnings", []):
        click.echo(f"  note: {warning['field']}: {warning['message']}")


def _settings(directory: Path) -> Any:
    from allmende.node.config import ConfigError, load_settings

    try:
        return load_settings(directory)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


@click.group()
def dataset() -> None:
    """Publish, update, retract and list the catalog's datasets (DCAT-AP.de)."""


@dataset.command()
@DIRECTORY
@click.option("--id", "dataset_id", help="Dataset id [a-z0-9-] (default: from the German title).")
@_describe_options
def add(directory: Path, dataset_id: str | None, **options: Any) -> None:
    """Publish a new dataset (checked against the DCAT-AP.de profile, signed, announced)."""
    try:
        settings = _settings(directory)
        body = _description(
            options, settings.node.id, settings.node.base_url.rstrip("/"), dataset_id
        )
        files: tuple[Path, ...] = options.get("files") or ()
        remote = _running_node(directory)
        if remote is not None:
            result = remote.call("POST", "/admin/datasets", body)
            new_id = result["dataset"]["id"]
            names = [_upload_remote(remote, new_id, path, None) for path in files]
            if files:
                result = {**remote.call("GET", f"/admin/datasets/{new_id}"), "warnings": []}
        else:
            from allmende.node.catalog import service

            async def work(node: Any) -> tuple[dict[str, Any], list[str]]:
                outcome = await service.create(node, body)
                uploaded = [
                    await _upload_local(node, outcome.data["id"], path, None) for path in files
                ]
                return outcome.to_json(), uploaded

            result, names = _local(directory, work)
    except CommandError as exc:
        _fail(exc)
    _report("published", result, names)


def _kept(current: dict[str, Any]) -> list[dict[str, Any]]:
    """The dataset's distributions as input: --link/--api add to them (a merge patch would
    replace the whole list)."""
    from allmende.node.catalog.description import as_input

    return list(as_input(current)["distributions"])


@dataset.command()
@DIRECTORY
@DATASET_ID
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the whole description with --json (instead of changing parts).",
)
@click.option("--remove-distribution", multiple=True, help="Id of a distribution to remove.")
@_describe_options
def update(
    directory: Path,
    dataset_id: str,
    replace: bool,
    remove_distribution: tuple[str, ...],
    **options: Any,
) -> None:
    """Change a published dataset: only the given options change (or --replace with --json)."""
    try:
        settings = _settings(directory)
        body = _description(
            options, settings.node.id, settings.node.base_url.rstrip("/"), dataset_id
        )
        body.pop("id", None)
        files: tuple[Path, ...] = options.get("files") or ()
        method = "PUT" if replace else "PATCH"
        remote = _running_node(directory)
        if remote is not None:
            result = {"dataset": {"id": dataset_id}, "changed": False, "warnings": []}
            if "distributions" in body and not replace:
                current = remote.call("GET", f"/admin/datasets/{dataset_id}")["dataset"]
                body["distributions"] = _kept(current) + body["distributions"]
            if body:
                result = remote.call(method, f"/admin/datasets/{dataset_id}", body)
            for name in remove_distribution:
                result = remote.call("DELETE", f"/admin/datasets/{dataset_id}/distributions/{name}")
            names = [_upload_remote(remote, dataset_id, path, None) for path in files]
        else:
            from allmende.node.catalog import service

            async def work(node: Any) -> tuple[dict[str, Any], list[str]]:
                outcome = None
                if "distributions" in body and not replace:
                    _row, current = await service.current_dataset(node, dataset_id)
                    body["distributions"] = _kept(current) + body["distributions"]
                if body:
                    outcome = await service.update(node, dataset_id, body, patch=not replace)
                for name in remove_distribution:
                    outcome = await service.remove_distribution(node, dataset_id, name)
                uploaded = [await _upload_local(node, dataset_id, p, None) for p in files]
                if outcome is None:
                    _row, data = await service.current_dataset(node, dataset_id)
                    outcome = service.Outcome(data, bool(uploaded))
                return outcome.to_json(), uploaded

            result, names = _local(directory, work)
    except CommandError as exc:
        _fail(exc)
    _report("updated", result, names)


@dataset.command()
@DIRECTORY
@DATASET_ID
def retract(directory: Path, dataset_id: str) -> None:
    """Take a dataset out of the catalog (a signed retraction event peers and harvesters see)."""
    try:
        remote = _running_node(directory)
        if remote is not None:
            remote.call("DELETE", f"/admin/datasets/{dataset_id}")
        else:
            from allmende.node.catalog import service

            async def work(node: Any) -> dict[str, Any]:
                return await service.retract(node, dataset_id)

            _local(directory, work)
    except CommandError as exc:
        _fail(exc)
    click.echo(f"retracted {dataset_id}")


def _rows_local(node: Any, status: str) -> list[dict[str, Any]]:
    """The rows GET /admin/datasets gives, so the output is the same either way."""
    from sqlmodel import Session, col, select

    from allmende.node.catalog.models import CatalogDataset
    from allmende.node.catalog.rdf import dataset_iri

    with Session(node.engine) as session:
        query = select(CatalogDataset).order_by(col(CatalogDataset.id))
        if status != "all":
            query = query.where(CatalogDataset.status == status)
        return [
            {
                "id": row.id,
                "status": row.status,
                "title": row.title,
                "license": row.license,
                "access_rights": row.access_rights,
                "version": row.version,
                "modified": row.modified.isoformat(),
                "iri": dataset_iri(node.base_url, row.id),
            }
            for row in session.exec(query)
        ]


@dataset.command(name="list")
@DIRECTORY
@click.option(
    "--status",
    type=click.Choice(["published", "retracted", "all"]),
    default="published",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_datasets(directory: Path, status: str, as_json: bool) -> None:
    """List the catalog's datasets."""
    try:
        remote = _running_node(directory)
        if remote is not None:
            items = remote.call("GET", f"/admin/datasets?status={status}")["items"]
        else:

            async def work(node: Any) -> list[dict[str, Any]]:
                return await asyncio.to_thread(_rows_local, node, status)

            items = _local(directory, work)
    except CommandError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("no datasets")
    for item in items:
        licence = item["license"].rsplit("/licenses/", 1)[-1]
        click.echo(f"{item['id']:<32} {item['status']:<10} {licence:<16} {item['title']}")


@dataset.command()
@DIRECTORY
@DATASET_ID
def show(directory: Path, dataset_id: str) -> None:
    """Print a dataset's full description (JSON), as published."""
    try:
        remote = _running_node(directory)
        if remote is not None:
            result = remote.call("GET", f"/admin/datasets/{dataset_id}")
        else:
            from allmende.node.catalog import service

            async def work(node: Any) -> dict[str, Any]:
                row, data = await asyncio.to_thread(service.load, node, dataset_id)
                if row is None:
                    raise service.NotFound(f"there is no dataset {dataset_id!r}")
                return {"status": row.status, "version": row.version, "dataset": data}

            result = _local(directory, work)
    except CommandError as exc:
        _fail(exc)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))
