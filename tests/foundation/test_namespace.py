"""Installed, the design's folders live under one `allmende` namespace and nothing else.

A wheel built from the repository holds `allmende/node`, `allmende/connectors`, ... with their
data files, and no top-level `node` or `vocab` that could collide with other software; the
sources import only the namespaced names, so no module is ever loaded twice."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ("node", "connectors", "policies", "vocab")
CACHES = shutil.ignore_patterns("__pycache__", "*.egg-info")
OLD_IMPORT = re.compile(rf"^\s*(from|import)\s+({'|'.join(DESIGN)})(\.|\s|$)", re.M)


def test_the_wheel_installs_everything_under_allmende(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: an in-tree build/ could hold files deleted since
    for folder in DESIGN:
        shutil.copytree(ROOT / folder, source / folder, ignore=CACHES)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("allmende-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"allmende"}
    # every file of the design's folders, code and data, is installed
    shipped = {
        f"allmende/{path.relative_to(source).as_posix()}"
        for folder in DESIGN
        for path in (source / folder).rglob("*")
        if path.is_file()
    }
    assert shipped - set(names) == set()
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "allmende = allmende.node.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_sources_import_only_the_namespaced_packages() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
        for folder in (*DESIGN, "tests", "bench", "docs")
        for path in (ROOT / folder).rglob("*.py")
        if "node_modules" not in path.parts
        for text in [path.read_text("utf-8")]
        for m in OLD_IMPORT.finditer(text)
    ]
    assert offenders == []


def test_connectors_policies_and_vocab_never_import_the_node() -> None:
    """They are the parts others can reuse; the node wires them together, never the reverse."""
    node_import = re.compile(r"^\s*(from|import)\s+allmende\.node\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("connectors", "policies", "vocab")
        for path in (ROOT / folder).rglob("*.py")
        if node_import.search(path.read_text("utf-8"))
    ]
    assert offenders == []
