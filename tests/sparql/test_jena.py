"""Apache Jena ARQ (from Maven Central) against a node on 127.0.0.1: remote SELECT, ASK,
CONSTRUCT and DESCRIBE, and a SERVICE clause of a query Jena runs itself."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import _missing
from tests.services import ServiceUnavailable
from tests.services.maven import CACHE, copy_dependencies
from tests.sparql.test_clients import served

HERE = Path(__file__).with_name("jena")
VERSION = "5.6.0"  # keep in step with jena/pom.xml


def _jars() -> Path:
    try:
        if shutil.which("java") is None:
            raise ServiceUnavailable("java not found: Apache Jena needs Java 17")
        return copy_dependencies(
            HERE / "pom.xml", CACHE / f"jena-{VERSION}" / "libs", "jena-arq-*.jar", "Apache Jena"
        )
    except ServiceUnavailable as exc:
        _missing(f"Apache Jena unavailable: {exc}")  # a skip here, a failure with CI=true
        raise


async def test_jena_queries_the_node_and_calls_it_from_service(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    libs = await asyncio.to_thread(_jars)
    endpoint = await served(tmp_path, aiohttp_server)
    process = await asyncio.create_subprocess_exec(
        "java",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-cp",
        f"{libs}/*",
        str(HERE / "JenaClient.java"),
        endpoint,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, (out + err).decode()[-4000:]
    answers = dict(line.split(" ", 1) for line in out.decode().splitlines() if " " in line)
    assert answers["vars"] == "pond,label,depth", answers  # SELECT * in the query's order
    assert answers["rows"] == "Dorfteich=3,Brunnen=12", answers
    assert answers["ask"] == "true", answers
    assert answers["construct"] == (
        'brunnen depth "12"^^xsd:integer;teich depth "3"^^xsd:integer'
    ), answers
    assert answers["describe"] == ('brunnen depth "12"^^xsd:integer;brunnen label "Brunnen"@de'), (
        answers
    )
    assert answers["service"] == "Dorfteich=3,Brunnen=12", answers
