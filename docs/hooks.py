"""MkDocs hook: the HTTP API reference is generated from the node's own OpenAPI document.

The page can therefore never list a route the node does not have, nor miss one it has.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

MARKER = "<!-- openapi -->"
CONFIG_MARKER = "<!-- configuration -->"


def openapi_document() -> dict[str, Any]:
    from node.http import openapi
    from node.http.app import create_app
    from node.runtime import Node
    from node.setup_files import init_directory

    with tempfile.TemporaryDirectory() as work:
        init_directory(Path(work), name="Beispieldorf")
        node = Node.open(Path(work), environ={})
        try:
            return openapi.build(create_app(node, close_node=False), "Allmende node", "1")
        finally:
            node.close()


def render(document: dict[str, Any]) -> str:
    lines = []
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in document["paths"].items():
        for method, spec in operations.items():
            tag = (spec.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, spec))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", "", "| method | path | what it does | auth |", "|---|---|---|---|"]
        for method, path, spec in by_tag[tag]:
            auth = "admin token" if spec.get("security") else ""
            summary = spec.get("summary", "").replace("|", "\\|")
            lines.append(f"| {method} | `{path}` | {summary} | {auth} |")
        lines.append("")
    return "\n".join(lines)


def configuration_table() -> str:
    """Every setting with its default and environment variable, read from the models."""
    from node.config import _SECTIONS, env_name

    lines = ["| setting | default | environment variable | notes |", "|---|---|---|---|"]
    for section, model in _SECTIONS.items():
        for key, field in model.model_fields.items():
            default = "required" if field.is_required() else repr(field.default)
            if key == "sasl_password":
                default = "''"
            note = (field.description or "").replace("|", "\\|")
            lines.append(
                f"| `{section}.{key}` | `{default}` | `{env_name(section, key)}` | {note} |"
            )
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, render(openapi_document()))
    if CONFIG_MARKER in markdown:
        markdown = markdown.replace(CONFIG_MARKER, configuration_table())
    return markdown
