"""Refresh the vendored map and chart libraries from the npm registry.

The node serves these files itself, so that a page works without any CDN at run time and
running the node needs no front-end build step; this command is only for upgrading them.
Usage: `python -m allmende.node.web.assets` (needs npm).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
VENDOR = HERE / "static" / "vendor"
FILES = {
    "leaflet": ["dist/leaflet.js", "dist/leaflet.css", "dist/images", "LICENSE"],
    "uplot": ["dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"],
}


def refresh() -> None:
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(HERE / "assets" / "package.json", work)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=work, check=True)
        for package, paths in FILES.items():
            target = VENDOR / package
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for relative in paths:
                source = Path(work) / "node_modules" / package / relative
                if source.is_dir():
                    shutil.copytree(source, target / source.name)
                else:
                    shutil.copy(source, target / source.name)


if __name__ == "__main__":
    refresh()
