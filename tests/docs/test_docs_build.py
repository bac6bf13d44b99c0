"""The documentation builds with MkDocs in strict mode: a broken link or page fails the build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "/ingest/ttn" in api and "/catalog" in api  # generated from the node's OpenAPI
    config = (tmp_path / "site" / "reference" / "configuration" / "index.html").read_text(
        encoding="utf-8"
    )
    assert "ALLMENDE_HTTP_PORT" in config
