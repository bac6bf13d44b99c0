"""Schema-based fuzzing of every route of a real node, signed in as each kind of caller.

`allmende serve` runs in a throwaway folder on a loopback port. Schemathesis generates
requests from the node's own /openapi.json (path, query, header parameters and JSON, form and
multipart bodies, valid and invalid), and each goes out with the credentials its route needs:
the admin bearer token, a participant token for the Dataspace Protocol, an agreement's access
token for data routes, or a console session cookie with its CSRF token. Half of the cases use
ids that exist, so handlers get past "not found". No answer may be a 5xx; every 4xx is an
RFC 9457 problem (or a page, for a browser route, or a protocol error object under /dsp,
or Open311's errors[] under /open311, in JSON or XML as the spec wants).

Seeded and derandomised, so CI sees the same cases every run; the totals are printed.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup

from allmende.policies.templates import template_document
from tests.foundation.test_serve import ALLMENDE, free_port, serving, wait_until_ready
from tests.ingest.conftest import dataset_body, payload

EXAMPLES = {GenerationMode.POSITIVE: 14, GenerationMode.NEGATIVE: 8}
OPEN, RESTRICTED, DEVICE = "luft-open", "raumklima-fuzz", "70B3D57ED00AB001"
PARTNER = "https://uni-kiel.example/"
NODE_ID = "https://fuzzingen.example/"
CONSOLE = re.compile(r"^/admin/(console/.*|login|logout)?$")
# run last: they end the session, the agreement, the dataset or the secret the others use
DESTRUCTIVE = re.compile(r"DELETE |/revoke$|/logout$|/secret$")


@dataclass
class Village:
    url: str
    directory: Path
    admin: str
    participant: str
    access: str
    console: requests.Session
    csrf: str
    known: dict[str, str] = field(default_factory=dict)


def cli(*args: str) -> str:
    done = subprocess.run(
        [*ALLMENDE, *args], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the console form carries a CSRF token"
    return match.group(1)


def seed(url: str, directory: Path) -> Village:
    """Datasets, a file, a sensor reading, an agreement and every kind of credential."""
    admin = cli("token", str(directory), "--role", "admin")
    participant = cli("token", str(directory), "--role", "participant", "--subject", PARTNER)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {admin}"

    def ok(response: requests.Response) -> Any:
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json()

    ok(api.post(f"{url}/admin/datasets", json=dataset_body(OPEN)))
    policy = template_document("research-only", assigner=NODE_ID)
    restricted = {**dataset_body(RESTRICTED), "license": "other-closed", "policy": policy}
    ok(api.post(f"{url}/admin/datasets", json=restricted))
    uploaded = ok(
        api.post(
            f"{url}/admin/datasets/{RESTRICTED}/distributions",
            params={"file_name": "feuchte.csv"},
            data=b"zeit,feuchte\n2024-05-14T08:15:00Z,61.5\n",
            headers={"Content-Type": "text/csv"},
        )
    )
    ok(
        api.post(
            f"{url}/admin/devices",
            json={"device": DEVICE, "dataset": RESTRICTED, "profile": "room-climate"},
        )
    )
    ok(api.post(f"{url}/ingest/ttn", json=payload("ttn-uplink-humidity.json")))
    agreement = ok(
        api.post(
            f"{url}/admin/agreements",
            json={"dataset": RESTRICTED, "assignee": PARTNER, "purpose": "research"},
        )
    )
    access = ok(api.post(f"{url}/admin/agreements/{agreement['id']}/token", json={}))

    console = requests.Session()
    form = console.get(f"{url}/admin/login").text
    signed_in = console.post(
        f"{url}/admin/login",
        data={"csrf_token": csrf_of(form), "token": admin},
        allow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    csrf = csrf_of(console.get(f"{url}/admin/console/datasets").text)
    known = {
        "dataset": RESTRICTED,
        "distribution": uploaded["distribution"],
        "device": DEVICE.lower(),
        "id": agreement["id"],
        "source": "ttn",
        "kind": "negotiations",
    }
    return Village(url, directory, admin, participant, access["access_token"], console, csrf, known)


@pytest.fixture(scope="module")
def village(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Village]:
    directory = tmp_path_factory.mktemp("fuzz") / "village"
    port = free_port()
    cli("init", str(directory), "--name", "Fuzzingen", "--id", NODE_ID, "--port", str(port))
    with serving(directory, port) as (url, process):
        wait_until_ready(url, process)
        yield seed(url, directory)


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def credentials(village: Village, path: str, index: int) -> dict[str, Any]:
    """What the route's real callers send; every third public call goes anonymous."""
    if CONSOLE.match(path) or path == "/admin/":
        return {"session": village.console, "headers": {"X-CSRF-Token": village.csrf}}
    if path.startswith(("/admin/", "/ingest/")) or path == "/rdf-graphs":
        return {"headers": {"Authorization": f"Bearer {village.admin}"}}
    if path.startswith("/dsp/"):
        return {"headers": {"Authorization": f"Bearer {village.participant}"}}
    if index % 3 == 2:
        return {}
    return {"headers": {"Authorization": f"Bearer {village.access}"}}


def judge(tally: Tally, label: str, case: Any, response: Any) -> None:
    tally.cases += 1
    tally.statuses[response.status_code] += 1
    status = response.status_code
    kind = ",".join(response.headers.get("content-type", []))
    try:
        case.validate_response(response, checks=[not_a_server_error])
    except (AssertionError, FailureGroup):  # Schemathesis' own check found a server error
        tally.failures.append(f"{label} -> {status}: {case.as_curl_command()}")
        return
    if status >= 500:  # a second opinion, in case the check's rules change
        tally.failures.append(f"{label} -> {status}: {case.as_curl_command()}")
    elif status >= 400 and "problem+json" in kind:
        problem = response.json()
        if problem.get("status") != status or not problem.get("title"):
            tally.failures.append(f"{label} -> {status}, not a problem: {response.text[:200]}")
    elif status >= 400 and not (
        "text/html" in kind
        or (case.path.startswith("/dsp/") and "json" in kind)
        or (case.path.startswith("/oauth/") and "json" in kind)  # RFC 6749/7591 errors
        or (case.path.startswith("/open311/") and ("json" in kind or "xml" in kind))
    ):
        tally.failures.append(f"{label} -> {status} as {kind!r}: {response.text[:200]}")


def fuzz(village: Village, operation: Any, mode: GenerationMode, tally: Tally) -> None:
    label = f"{operation.method.upper()} {operation.path} ({mode.value})"
    counter = iter(range(10**9))

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        index = next(counter)
        if index % 2 == 0:
            for name in case.path_parameters or {}:
                if name in village.known:
                    case.path_parameters[name] = village.known[name]
        extra = credentials(village, operation.path, index)
        if isinstance(case.body, dict) and CONSOLE.match(operation.path) and index % 4 != 3:
            case.body["csrf_token"] = village.csrf
        try:
            response = case.call(base_url=village.url, timeout=30, allow_redirects=False, **extra)
        except requests.RequestException as exc:  # the node dropped the connection: as bad
            tally.cases += 1
            tally.failures.append(f"{label} -> {type(exc).__name__}: {case.as_curl_command()}")
            return
        judge(tally, label, case, response)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:  # nothing in the operation can be made invalid
        assert mode is GenerationMode.NEGATIVE, label


def test_no_route_answers_5xx_to_any_caller(village: Village) -> None:
    schema = schemathesis.openapi.from_url(f"{village.url}/openapi.json")
    operations: list[Any] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document describes an operation wrongly: {result}"
        operations.append(result.ok())
    document = requests.get(f"{village.url}/openapi.json", timeout=10).json()
    documented = {(m.upper(), path) for path, methods in document["paths"].items() for m in methods}
    # Schemathesis leaves out the operation that serves the schema it was loaded from
    assert documented - {("GET", "/openapi.json")} == {
        (op.method.upper(), op.path) for op in operations
    }
    operations.sort(key=lambda op: bool(DESTRUCTIVE.search(f"{op.method.upper()} {op.path}")))
    tally = Tally()
    for operation in operations:
        for mode in EXAMPLES:
            fuzz(village, operation, mode, tally)
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    report = {
        "operations": len(operations),
        "cases": tally.cases,
        "responses_5xx": server_errors,
        "statuses": dict(sorted(tally.statuses.items())),
    }
    print("\nfuzzing:", json.dumps(report))
    (village.directory.parent / "fuzz-report.json").write_text(json.dumps(report))
    assert not tally.failures, "\n".join(tally.failures[:40])
    assert tally.cases >= len(operations) * 2


BROKEN_BODIES: dict[str, list[tuple[str, bytes]]] = {
    "multipart/form-data": [
        ("multipart/form-data; boundary=XyZ", b'--XyZ\r\nContent-Disposition: form-data; name="a"'),
        ("multipart/form-data; boundary=XyZ", b"no boundary anywhere"),
        ("multipart/form-data", b"--XyZ\r\n\r\n--XyZ--\r\n"),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="\xff"; filename="\xfe"\r\n'
            b"Content-Transfer-Encoding: nonsense\r\n\r\nv\r\n--XyZ--\r\n",
        ),
    ],
    "application/x-www-form-urlencoded": [
        ("application/x-www-form-urlencoded", b"\xff\xfe=%%&=&&"),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"a=b"),
    ],
    "json": [
        ("application/json", b"{"),
        ("application/json", b"\xff\xfe"),
        ("application/json", b"[" * 100_000),
        ("application/json", b'{"a": NaN, "b": 1e999999}'),
        ("application/json; charset=no-such-charset", b"{}"),
    ],
}


def _broken_for(media_type: str) -> list[tuple[str, bytes]]:
    if media_type in BROKEN_BODIES:
        return BROKEN_BODIES[media_type]
    return BROKEN_BODIES["json"] if "json" in media_type else []


def test_every_described_body_refuses_broken_input(village: Village) -> None:
    """Each route with a form, multipart or JSON body, sent broken bodies of each kind."""
    document = requests.get(f"{village.url}/openapi.json", timeout=10).json()
    sent = 0
    failures = []
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            if method == "delete" or "logout" in path:
                continue
            url = village.url + re.sub(
                r"\{(\w+)\}", lambda m: village.known.get(m.group(1), "x"), path
            )
            extra = credentials(village, path, 0)
            http = extra.pop("session", None) or requests
            for media_type in spec.get("requestBody", {}).get("content", {}):
                for content_type, body in _broken_for(media_type):
                    headers = {**extra.get("headers", {}), "Content-Type": content_type}
                    response = http.request(
                        method, url, data=body, headers=headers, timeout=30, allow_redirects=False
                    )
                    sent += 1
                    kind = response.headers.get("Content-Type", "")
                    label = f"{method.upper()} {path} {content_type} {body[:40]!r}"
                    if response.status_code >= 500:
                        failures.append(f"{label} -> {response.status_code}")
                    elif (
                        response.status_code >= 400
                        and "problem+json" not in kind
                        and not (
                            path.startswith(("/dsp/", "/open311/", "/oauth/"))
                            or "text/html" in kind
                        )
                    ):
                        failures.append(f"{label} -> {response.status_code} as {kind}")
    print(f"\nbroken bodies: {sent} requests, {len(failures)} failures")
    assert sent > 100
    assert not failures, "\n".join(failures)
