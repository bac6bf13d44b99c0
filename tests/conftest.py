"""Real services for the suite, and the rule that CI never silently skips.

`kafka_broker` and `postgres_server` start lazily, once per session, only when a test asks for
them (directly or through `request.getfixturevalue`), and stop at the end of the session.
A missing prerequisite (Java/Maven/jars, PostgreSQL binaries) skips such tests on a developer's
machine; with CI=true it fails them, and any skipped test at all fails the run.
The terminal summary ends with how many tests ran against each real service.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from tests import support
from tests.services import KafkaBroker, PostgresServer, ServiceUnavailable
from tests.services.sparql_stores import FusekiServer, OxigraphServer

IN_CI = os.environ.get("CI", "").strip().lower() == "true"

Service = TypeVar("Service", KafkaBroker, PostgresServer, FusekiServer)

# fixture name -> (marker, label in the summary, what started)
_SERVICES = {
    "kafka_broker": ("kafka", "Kafka", "broker"),
    "postgres_server": ("postgres", "PostgreSQL", "server"),
    "fuseki_server": ("fuseki", "Fuseki", "server"),
}
_started: dict[str, Any] = {}
_outcomes: dict[str, dict[str, str]] = {name: {} for name in _SERVICES}  # nodeid -> outcome


# -- service fixtures -------------------------------------------------------------------------


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true needs this service: {reason}", pytrace=False)
    pytest.skip(reason)


def _start(name: str, make: Callable[[], Service]) -> Service:
    try:
        service = make()
        service.start()
    except ServiceUnavailable as exc:
        reason = f"{_SERVICES[name][1]} unavailable: {exc}"
    else:
        _started[name] = service
        return service
    _missing(reason)  # outside the except block: one clear message, no chained traceback
    raise AssertionError("not reached")


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A real single-node Kafka broker (KRaft) on 127.0.0.1; `.bootstrap` for clients."""
    broker = _start("kafka_broker", KafkaBroker)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1; `.create_database(name)` returns a URL."""
    server = _start("postgres_server", PostgresServer)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fuseki_server() -> Iterator[FusekiServer]:
    """Apache Jena Fuseki on 127.0.0.1; `.dataset()` returns the URL of a fresh dataset."""
    server = _start("fuseki_server", FusekiServer)
    try:
        yield server
    finally:
        server.stop()


STORES = ("embedded", "oxigraph", "fuseki")
"""The node's data planes: embedded Oxigraph, an Oxigraph server, Fuseki."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that use `store_backend` run once per store their module's
    `pytestmark = pytest.mark.stores(...)` names; unmarked ones on the embedded store."""
    if "store_backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stores")
        names = marker.args if marker else ("embedded",)
        metafunc.parametrize("store_backend", names, indirect=True)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Nodes that `tests.support.make_node` opens during the test use this store: a remote
    one gets a fresh dataset per node folder (the same again when the folder is reopened)."""
    name = request.param
    if name == "embedded":
        yield name
        return
    servers: list[OxigraphServer] = []
    urls: dict[str, str] = {}

    def remote(directory: Any) -> str:
        key = str(directory)
        if key not in urls:
            if name == "fuseki":
                urls[key] = request.getfixturevalue("fuseki_server").dataset()
            else:
                server = OxigraphServer()
                try:
                    server.start()
                except ServiceUnavailable as exc:
                    _missing(f"Oxigraph server unavailable: {exc}")
                servers.append(server)
                urls[key] = server.url
        return urls[key]

    support.REMOTE_STORE.append(remote)
    try:
        yield name
    finally:
        support.REMOTE_STORE.remove(remote)
        for server in servers:
            server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Control-plane tests run twice: on the SQLite default and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return None
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database(f"t_{uuid.uuid4().hex[:12]}"))


# -- markers, bookkeeping and the summary line -------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that name a service fixture get its marker, so `-m "not kafka"` works."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, (marker, _, _) in _SERVICES.items():
            if fixture in names:
                item.add_marker(marker)


def _fixtures_used(item: pytest.Item) -> set[str]:
    names = set(getattr(item, "fixturenames", ()))
    request = getattr(item, "_request", None)  # its .fixturenames adds getfixturevalue() ones
    if request is not None:
        with contextlib.suppress(Exception):
            names.update(request.fixturenames)
    return names


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome
        if report.when == "setup" and report.failed:
            outcome = "error"
        for name in _SERVICES.keys() & _fixtures_used(item):
            _outcomes[name][item.nodeid] = outcome
    elif report.when == "teardown" and report.failed:
        for name in _SERVICES.keys() & _fixtures_used(item):
            _outcomes[name][item.nodeid] = "error"
    return report


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """A test that stopped the broker (fault tests) leaves a running one to the next test."""
    broker = _started.get("kafka_broker")
    if broker is not None and broker.workdir is not None and not broker.running:
        broker.restart()


def _service_line(name: str) -> str:
    _, label, what = _SERVICES[name]
    outcomes = list(_outcomes[name].values())
    ran = sum(outcome in ("passed", "failed") for outcome in outcomes)
    counts = ", ".join(f"{outcomes.count(o)} {o}" for o in sorted(set(outcomes)))
    service = _started.get(name)
    if service is not None:
        timing = f"{what} started in {service.startup_seconds:.1f} s"
        restarted = getattr(service, "restart_seconds", None)
        if restarted is not None:
            timing += f", last restart {restarted:.1f} s"
    else:
        timing = f"{what} not started"
    detail = f"{counts}; {timing}" if counts else timing
    return f"{ran} {'test' if ran == 1 else 'tests'} ran against {label} ({detail})"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.option.collectonly:
        return
    terminalreporter.write_line(
        "real services: " + ", ".join(_service_line(name) for name in _SERVICES)
    )
    skipped = len(terminalreporter.stats.get("skipped", []))
    if IN_CI and skipped:
        terminalreporter.write_line(
            f"CI=true: {skipped} skipped tests fail the run (CI must not pass by skipping)",
            red=True,
            bold=True,
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true a skipped test is a failed run: CI must not pass by skipping."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if skipped and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
