"""nginx in front (compose/nginx/allmende.conf, the file the docs describe): two serve
processes take the writes, a read replica the reads. The test runs the documented file,
with only the services' addresses replaced by free loopback ports, in an nginx of its own
(its own prefix, pid and logs, no port below 1024): a write through nginx shows through
nginx's read path on the replica at the write's position, and after kill -9 of a worker
the writes through nginx still succeed. The compose file that runs the same set-up in
containers is checked for the same file and for settings the node and the docs know.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from allmende.node.auth import mint_token
from allmende.node.config import HttpSection, load_settings
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory
from tests.foundation.test_leadership import (  # noqa: F401 (a fixture)
    health,
    oxigraph_server,
    role,
    serving,
    wait_for,
)
from tests.foundation.test_query_replica import call, count_on, counted, events_in, write
from tests.foundation.test_serve import free_port
from tests.services import PostgresServer
from tests.services.sparql_stores import OxigraphServer

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "compose" / "nginx" / "allmende.conf"
COMPOSE = ROOT / "compose" / "scale-out.yml"
OPERATIONS = ROOT / "docs" / "operations" / "index.md"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).exists()), None
)


def configured(ports: dict[str, int], listen: int) -> str:
    """The documented file with the compose services' addresses replaced by loopback ports;
    each replaced place must be there, so the file cannot drift from what is tested."""
    text = CONF.read_text(encoding="utf-8")
    for service, port in ports.items():
        assert f"{service}:8700" in text, service
        text = text.replace(f"{service}:8700", f"127.0.0.1:{port}")
    assert text.count("listen 80;") == 1
    return text.replace("listen 80;", f"listen 127.0.0.1:{listen};")


@contextmanager
def nginx(directory: Path, site: str) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground with everything it writes under `directory`."""
    assert NGINX is not None
    directory.mkdir()
    (directory / "allmende.conf").write_text(site, encoding="utf-8")
    temp = " ".join(
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (directory / "nginx.conf").write_text(
        f"worker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} info;\nevents {{}}\n"
        f"http {{\n  access_log {directory / 'access.log'};\n  {temp}\n"
        f"  include {directory / 'allmende.conf'};\n}}\n",
        encoding="utf-8",
    )
    command = [NGINX, "-p", str(directory), "-e", str(directory / "error.log")]
    command += ["-c", str(directory / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"])
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_writes_to_the_workers_reads_from_the_replica_and_a_killed_worker_is_skipped(
    tmp_path: Path,
    postgres_server: PostgresServer,
    oxigraph_server: OxigraphServer,  # noqa: F811 (the fixture imported above)
) -> None:
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")  # fails in CI
    database = f"t_{uuid.uuid4().hex[:12]}"
    ports = {"worker-1": free_port(), "worker-2": free_port(), "replica-1": free_port()}
    front = f"http://127.0.0.1:{free_port()}"
    shared = {
        "ALLMENDE_DATABASE_URL": postgres_server.create_database(database),
        "ALLMENDE_NODE_BASE_URL": front,  # the public URL is nginx's
    }
    folders = {name: tmp_path / name for name in ports}
    init_directory(folders["worker-1"], name="Lütjenholm")
    for name in ("worker-2", "replica-1"):  # one node: the same id, key and settings
        shutil.copytree(folders["worker-1"], folders[name])
    settings = load_settings(folders["worker-1"], shared)
    token = mint_token(load_key(settings.key_path), settings.node.id, ttl=600)
    workers = {**shared, "ALLMENDE_STORE_URL": oxigraph_server.url}
    environs = {"worker-1": workers, "worker-2": workers}
    environs["replica-1"] = {**shared, "ALLMENDE_NODE_ROLE": "query"}

    with ExitStack() as stack:
        processes = {
            name: stack.enter_context(serving(folders[name], port, environs[name]))
            for name, port in ports.items()
        }
        for name, port in ports.items():
            wait_for(
                lambda p=processes[name], u=f"http://127.0.0.1:{port}": (
                    p.poll() is None and health(u)
                ),
                60,
                f"{name} ready",
            )
        proxy = stack.enter_context(
            nginx(tmp_path / "nginx", configured(ports, int(front.rsplit(":", 1)[1])))
        )
        wait_for(lambda: proxy.poll() is None and health(front), 20, "nginx passes requests on")

        # writes through nginx reach a worker (a replica would answer 405 and name nginx)
        for n in range(5):
            status, headers, body = write(front, token, n)
            assert status in {200, 201, 204}, body
            assert "Allmende-Lag" not in headers  # only a replica says its lag
        position = int(headers["Allmende-Position"])
        assert position == events_in(postgres_server, database)

        # a read through nginx at that position: answered by the replica (it says its lag),
        # once it shows the writes; the position header went through nginx both ways
        answer = count_on(front, {"Allmende-Position": str(position), "Prefer": "wait=20"})
        assert counted(answer) == 5
        assert int(answer[1]["Allmende-Position"]) >= position
        assert "Allmende-Lag" in answer[1]
        # a SPARQL query sent by POST goes to the replica as well
        status, headers, _body = call(
            f"{front}/sparql",
            data=b"ASK { ?s ?p ?o }",
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json",
            },
        )
        assert status == 200 and "Allmende-Lag" in headers
        # the catalog and a portal page: the replica
        for path in ("/catalog", "/"):
            status, headers, _ = call_raw(front + path)
            assert status == 200, path
            assert "Allmende-Lag" in headers, path

        # kill -9 the leading worker: every write through nginx still succeeds
        leader = wait_for(
            lambda: next(
                (
                    n
                    for n in ("worker-1", "worker-2")
                    if role(f"http://127.0.0.1:{ports[n]}") == "leading"
                ),
                None,
            ),
            30,
            "a leader",
        )
        processes[leader].kill()
        processes[leader].wait()
        for n in range(5, 15):
            status, headers, body = write(front, token, n)
            assert status in {200, 201, 204}, (n, body)
        position = int(headers["Allmende-Position"])
        answer = count_on(front, {"Allmende-Position": str(position), "Prefer": "wait=20"})
        assert counted(answer) == 15
        assert events_in(postgres_server, database) == position

        proxy.send_signal(signal.SIGQUIT)
        assert proxy.wait(timeout=15) == 0
    error_log = (tmp_path / "nginx" / "error.log").read_text(encoding="utf-8")
    assert "[emerg]" not in error_log, error_log[-2000:]


def call_raw(url: str) -> tuple[int, dict[str, str], bytes]:
    """A GET whose answer need not be JSON (an HTML page)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_body_limit_is_the_nodes() -> None:
    """nginx refuses a body the node would take, or passes one it would refuse, otherwise."""
    limit = re.search(r"^\s*client_max_body_size (\d+)m;", CONF.read_text(), re.M)
    assert limit is not None
    default = HttpSection.model_fields["max_body_bytes"].default
    assert int(limit.group(1)) * 1024 * 1024 == default


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_the_compose_file_runs_the_tested_nginx_file_and_settings_the_docs_name(
    tmp_path: Path,
) -> None:
    services = compose()["services"]
    assert {"postgres", "kafka", "oxigraph", "worker-1", "worker-2", "replica-1", "nginx"} <= set(
        services
    )
    # nginx mounts the very file the test above runs, and the upstreams name real services
    mounts = [v.split(":")[:2] for v in services["nginx"]["volumes"]]
    assert ["./nginx/allmende.conf", "/etc/nginx/conf.d/default.conf"] in mounts
    for service in re.findall(r"server ([\w-]+):8700", CONF.read_text(encoding="utf-8")):
        assert service in services, service
    # every ALLMENDE_* setting is one the node reads (load_settings refuses a bad value)
    # and one the operations docs name
    docs = OPERATIONS.read_text(encoding="utf-8")
    init_directory(tmp_path / "node", name="Beispiel")
    roles = {}
    for name in ("worker-1", "worker-2", "replica-1"):
        environment = {k: str(v) for k, v in services[name]["environment"].items()}
        names = [k for k in environment if k.startswith("ALLMENDE_")]
        for key in names:
            assert key in docs, key
        settings = load_settings(tmp_path / "node", environment)
        for key in names:
            section, _, field = key.removeprefix("ALLMENDE_").lower().partition("_")
            value = getattr(getattr(settings, section), field)
            read = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            assert read.rstrip("/") == str(environment[key]).rstrip("/"), key
        roles[name] = (settings.node.role, settings.store.url)
    assert roles["worker-1"] == roles["worker-2"] == ("all", "http://oxigraph:7878")
    assert roles["replica-1"][0] == "query" and not roles["replica-1"][1]
