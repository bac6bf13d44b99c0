"""The compose file parses and refers only to files that exist (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def load() -> dict[str, Any]:
    document = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def referenced_files(document: dict[str, Any]) -> list[Path]:
    paths: list[Path] = []
    for service in document["services"].values():
        build = service.get("build")
        if build:
            context = COMPOSE / build["context"]
            paths += [context, context / build.get("dockerfile", "Dockerfile")]
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                paths.append(COMPOSE / source)
        paths += [COMPOSE / name for name in service.get("env_file", [])]
    paths += [COMPOSE / secret["file"] for secret in document.get("secrets", {}).values()]
    return paths


def test_compose_parses_with_three_villages_kafka_and_postgres() -> None:
    services = load()["services"]
    assert {"kafka", "postgres", "luetjenholm", "bredstedt", "struckum"} <= set(services)
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    villages = [s for s in services.values() if "VILLAGE_ID" in s.get("environment", {})]
    assert len(villages) == 3
    for village in villages:
        assert village["environment"]["ALLMENDE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert village["environment"]["ALLMENDE_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_compose_refers_only_to_existing_files() -> None:
    missing = [str(path) for path in referenced_files(load()) if not path.exists()]
    assert not missing, missing


def test_dockerfile_copies_only_existing_paths() -> None:
    dockerfile = (COMPOSE / "Dockerfile").read_text(encoding="utf-8")
    root = COMPOSE.parent
    for line in dockerfile.splitlines():
        match = re.match(r"COPY\s+(.+)\s+\S+$", line)
        if match:
            for source in match.group(1).split():
                assert (root / source).exists(), source
