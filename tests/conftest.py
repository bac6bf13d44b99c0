"""Real services for the suite, and the rule that CI never silently skips.

`kafka_broker` and `postgres_server` start lazily, once per session, only when a test asks
for them. Missing prerequisites skip such tests on a developer's machine; with CI=true they
fail, and any skip at all fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.services import KafkaBroker, KafkaUnavailable, PostgresServer, PostgresUnavailable

IN_CI = os.environ.get("CI", "").lower() == "true"
_started: dict[str, Any] = {}
_ran: dict[str, dict[str, int]] = {"kafka_broker": {}, "postgres_server": {}}


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI needs this service: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    try:
        broker = KafkaBroker().start()
    except (KafkaUnavailable, OSError) as exc:
        _missing(f"Kafka broker unavailable: {exc}")
    _started["kafka_broker"] = broker
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer().start()
    except (PostgresUnavailable, OSError) as exc:
        _missing(f"PostgreSQL unavailable: {exc}")
    _started["postgres_server"] = server
    yield server
    server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    request = getattr(item, "_request", None)
    dynamic = getattr(request, "_fixture_defs", {})  # includes getfixturevalue() requests
    used = set(getattr(item, "fixturenames", ())) | set(dynamic)
    for name in _ran:
        if name in used:
            _ran[name][report.outcome] = _ran[name].get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    parts = []
    for name, label in (("kafka_broker", "Kafka"), ("postgres_server", "PostgreSQL")):
        counts = _ran[name]
        total = sum(counts.values())
        service = _started.get(name)
        started = f", started in {service.startup_seconds:.1f} s" if service else ""
        detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "none"
        parts.append(f"{total} tests ran against {label} ({detail}{started})")
    terminalreporter.write_line("real services: " + "; ".join(parts))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"CI=true: {skipped} skipped tests count as a failure", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
