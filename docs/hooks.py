"""MkDocs hook: the HTTP API reference is generated from the node's own OpenAPI document.

The page can therefore never list a route the node does not have, nor miss one it has.
The configuration reference needs no hook: it is committed as written by
`python -m allmende.node.config_reference`, and tests/docs checks that it is current.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

MARKER = "<!-- openapi -->"


def openapi_document() -> dict[str, Any]:
    from allmende.node.http import openapi
    from allmende.node.http.app import create_app
    from allmende.node.runtime import Node
    from allmende.node.setup_files import init_directory

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


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, render(openapi_document()))
    return markdown
