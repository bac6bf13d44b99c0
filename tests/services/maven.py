"""Jars from Maven Central: `mvn dependency:copy-dependencies` on a pom of ours, once, into
~/.cache/allmende (override with ALLMENDE_SERVICES_CACHE); Maven keeps its own copy in ~/.m2."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.services.ports import ServiceUnavailable

CACHE = Path(os.environ.get("ALLMENDE_SERVICES_CACHE", Path.home() / ".cache" / "allmende"))


def copy_dependencies(pom: Path, libs: Path, marker: str, what: str) -> Path:
    """The folder of the pom's runtime jars, resolved once; `marker` is a glob of a jar
    that must be there, `what` names the jars in error messages."""
    if libs.is_dir() and any(libs.glob(marker)):
        return libs
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        raise ServiceUnavailable(
            f"{' and '.join(missing)} not found: {what} needs Java 17 and Maven "
            "(apt-get install openjdk-17-jre-headless maven)"
        )
    partial = libs.with_name(libs.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={partial}",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as exc:
        raise ServiceUnavailable(f"Maven did not resolve {what} within 15 min") from exc
    if result.returncode != 0:
        raise ServiceUnavailable(
            f"Maven could not resolve {what}: {(result.stdout + result.stderr)[-2000:]}"
        )
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    return libs
