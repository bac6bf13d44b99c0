"""Three demo villages: a report made in Lütjenholm (A) for a spot in Bredstedt (B) reaches
B's console within 2 s, over the HTTP feed and over a real Kafka broker; B acknowledges it,
sets it "erledigt" with a note, and A's Open311 answer shows it. The reporter's name, e-mail
and phone are nowhere on B: not in its files (database, store), not in any log line."""

from __future__ import annotations

import logging
import re
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session

from allmende.node.reports.models import Report
from allmende.node.reports.samples import sample_feature
from tests.federation.villages import Running, eventually, federation
from tests.reports.conftest import CATEGORIES
from tests.reports.smtp import Inbox, smtp_server
from tests.services.kafka import KafkaBroker

pytestmark = [pytest.mark.stores("embedded", "oxigraph"), pytest.mark.usefixtures("store_backend")]

REPORTER = {
    "email": "erika.mustermann@example.org",
    "first_name": "Erika",
    "last_name": "Mustermann",
    "phone": "04671 918273",
}
PERSONAL = ("erika.mustermann", "Mustermann", "918273")


async def configure(session: aiohttp.ClientSession, running: Running) -> None:
    admin = running.admin()
    for category in CATEGORIES:
        async with session.post(
            f"{running.url}/admin/reports/categories", json=category, headers=admin
        ) as r:
            assert r.status in (200, 201), await r.text()
    async with session.put(
        f"{running.url}/admin/reports/boundary",
        params={"sample": "true"},
        json=sample_feature(running.village.slug, running.village.name),
        headers=admin,
    ) as r:
        assert r.status == 200, await r.text()


async def app_key(session: aiohttp.ClientSession, running: Running, name: str = "App") -> str:
    """An Open311 client's key, as the operator hands one to an app."""
    async with session.post(
        f"{running.url}/admin/reports/clients", json={"name": name}, headers=running.admin()
    ) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["api_key"])


async def hold_for_release(session: aiohttp.ClientSession, running: Running) -> None:
    """The village moderates: new reports wait for release before they are public."""
    async with session.put(
        f"{running.url}/admin/reports/settings", json={"moderation": True}, headers=running.admin()
    ) as r:
        assert r.status == 200, await r.text()


async def knows_all_villages(session: aiohttp.ClientSession, running: Running) -> bool:
    """Every village's boundary announced here (one point of each is covered)."""
    async with session.get(
        f"{running.url}/open311/v2/coverage.json",
        params={"lat": "54.62", "long": "8.96"},  # Bredstedt
    ) as r:
        found = (await r.json())["villages"]
    async with session.get(
        f"{running.url}/open311/v2/coverage.json", params={"lat": "54.58", "long": "8.98"}
    ) as r:
        found += (await r.json())["villages"]
    return len(found) == 2


async def console(session: aiohttp.ClientSession, running: Running) -> list[dict[str, Any]]:
    async with session.get(f"{running.url}/admin/reports", headers=running.admin()) as r:
        assert r.status == 200, await r.text()
        return list((await r.json())["reports"])


def every_byte(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


async def run_scenario(tmp_path: Path, environ: dict[str, str], caplog: Any) -> float:
    caplog.set_level(logging.DEBUG)
    with smtp_server() as (mails, port):
        return await _scenario(tmp_path, environ, caplog, mails, port)


async def _scenario(
    tmp_path: Path, environ: dict[str, str], caplog: Any, mails: Inbox, port: int
) -> float:
    async with federation(tmp_path, environ) as villages, aiohttp.ClientSession() as session:
        a, b, c = villages
        for running in villages:
            await configure(session, running)
        mail = {"notify": True, "smtp_host": "127.0.0.1", "smtp_port": port}
        async with session.put(
            f"{a.url}/admin/reports/settings", json=mail, headers=a.admin()
        ) as r:
            assert r.status == 200
        key = await app_key(session, a, "Portal-App")
        await eventually(lambda: knows_all_villages(session, a), 60, "A knows B's and C's area")

        form = {
            "api_key": key,
            "service_code": "strassenlicht",
            "lat": "54.6197",
            "long": "8.9647",  # Bredstedt's demo spot
            "description": "Laterne vor Hausnummer 12 flackert. Erreichbar unter 04671 918273",
            **REPORTER,
        }
        started = time.monotonic()
        async with session.post(f"{a.url}/open311/v2/requests.json", data=form) as r:
            assert r.status == 201, await r.text()
            answer = (await r.json())[0]
        assert "Bredstedt" in answer["service_notice"]
        request_id = answer["service_request_id"]

        async def in_b_console() -> bool:
            return any(q["service_request_id"] == request_id for q in await console(session, b))

        await eventually(in_b_console, 30, "the report in B's console")
        latency = time.monotonic() - started
        [shown] = await console(session, b)
        assert shown["origin"] == a.node.id and shown["status"] == "open"
        assert "[Telefonnummer entfernt]" in shown["description"]
        assert await console(session, c) == []  # C saw the event and left it alone

        def acknowledged() -> bool:
            with Session(a.node.engine) as s:
                row = s.get(Report, request_id)
                return row is not None and row.acknowledged is not None

        await eventually(acknowledged, 30, "B's acknowledgement at A")

        async with session.post(
            f"{b.url}/admin/reports/{request_id}/status",
            json={"status": "erledigt", "note": "Leuchtmittel getauscht"},
            headers=b.admin(),
        ) as r:
            assert r.status == 200, await r.text()

        async def closed_at_a() -> Any:
            async with session.get(f"{a.url}/open311/v2/requests/{request_id}.json") as r:
                body = (await r.json())[0]
            return body if body["status"] == "closed" else None

        shown_at_a = await eventually(closed_at_a, 30, "the status back at A")
        # the open dataset: B publishes the report, A and C hold it pooled, SPARQL finds it
        query = (
            "PREFIX a: <https://w3id.org/allmende/ns#> SELECT ?g ?status ?village WHERE { "
            "GRAPH ?g { ?r a a:ServiceRequest ; a:serviceCode 'strassenlicht' ; "
            "a:detailedStatus ?status ; a:agencyResponsible ?village } }"
        )

        async def in_dataset(running: Running) -> Any:
            async with session.get(
                f"{running.url}/sparql",
                params={"query": query},
                headers={"Accept": "application/sparql-results+json"},
            ) as r:
                rows = (await r.json())["results"]["bindings"]
            done = [row for row in rows if row["status"]["value"] == "erledigt"]
            return done or None

        for running in (a, b, c):
            [row] = await eventually(lambda running=running: in_dataset(running), 30, "SPARQL")
            assert row["village"]["value"] == b.node.id
            assert row["g"]["value"] == f"{b.url}/graphs/reports/{request_id}"
        # A's public list shows it done, handled by Bredstedt
        async with session.get(f"{a.url}/meldungen") as r:
            listing = await r.text()
        row = listing[listing.index(f'data-report="{request_id}"') :].split("</tr>")[0]
        assert 'data-status="erledigt"' in row and "Bredstedt" in row
        # ... and counts it, from the pooled open dataset, among the reports per category
        per_category = listing[listing.index('data-category="Straßenbeleuchtung defekt"') :]
        assert re.findall(r"<td>(\d+)</td>", per_category.split("</tr>")[0]) == ["1"]
        # A, where the address is, mails the reporter what B did
        await eventually(lambda: mails.messages, 30, "the status mail from A")
        [sent] = mails.messages
        assert sent["To"] == REPORTER["email"] and "ist erledigt" in sent["Subject"]
        assert "Leuchtmittel getauscht" in sent.get_content()
        assert shown_at_a["status_notes"] == "Leuchtmittel getauscht"
        assert shown_at_a["agency_responsible"] == "Bredstedt"
        # A cannot change B's report; B's own copy cannot be changed by A
        async with session.post(
            f"{a.url}/admin/reports/{request_id}/status",
            json={"status": "offen"},
            headers=a.admin(),
        ) as r:
            assert r.status == 404

        # nothing of the reporter on B: files, store, logs
        await b.node.projected()
        everything = every_byte(Path(b.node.settings.directory))
        quads = " ".join(str(q) for q in b.node.store.query("SELECT * { GRAPH ?g { ?s ?p ?o } }"))
        lines = " ".join(
            # a record's numbers (its time, thread, line) are no one's; 918273 once was in one
            f"{r.getMessage()} {[v for v in r.__dict__.values() if not isinstance(v, int | float)]}"
            for r in caplog.records
            if not r.name.startswith("mail.log")  # the test's own SMTP server, not a node
        )
        for personal in PERSONAL:
            assert personal.encode() not in everything, personal
            assert personal not in quads, personal
            assert personal not in lines, personal
        # ... while A keeps them (the search would find them)
        assert PERSONAL[0].encode() in every_byte(Path(a.node.settings.directory))
        return latency


# How fast (the 2 s) is measured by bench/reports/run.py, not asserted here:
# a timed assertion fails whenever the machine is busy.


async def test_report_for_the_neighbour_over_the_feed(tmp_path: Path, caplog: Any) -> None:
    latency = await run_scenario(tmp_path, {}, caplog)
    print(f"\nsubmit at A -> B's console over the HTTP feed: {latency:.2f} s")


@pytest.fixture
def kafka_env(kafka_broker: KafkaBroker) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        "ALLMENDE_FEDERATION_CATALOG_TOPIC": f"allmende.catalog.v1.{suffix}",
        "ALLMENDE_FEDERATION_OBSERVATIONS_TOPIC": f"allmende.observations.v1.{suffix}",
        "ALLMENDE_FEDERATION_RETRY_INTERVAL": "0.5",
    }


async def test_report_for_the_neighbour_over_kafka(
    tmp_path: Path, kafka_env: dict[str, str], caplog: Any
) -> None:
    latency = await run_scenario(tmp_path, kafka_env, caplog)
    print(f"\nsubmit at A -> B's console over Kafka: {latency:.2f} s")


async def test_the_responsible_village_moderates_a_forwarded_report(tmp_path: Path) -> None:
    """Bredstedt holds reports for release: one forwarded from Lütjenholm waits in its queue,
    unpublished, until Bredstedt releases it; then both villages show it."""
    async with federation(tmp_path) as villages, aiohttp.ClientSession() as session:
        a, b, _ = villages
        for running in villages:
            await configure(session, running)
        await hold_for_release(session, b)
        key = await app_key(session, a)
        await eventually(lambda: knows_all_villages(session, a), 60, "A knows the areas")
        form = {"api_key": key, "service_code": "vandalismus", "lat": "54.6197", "long": "8.9647"}
        async with session.post(f"{a.url}/open311/v2/requests.json", data=form) as r:
            request_id = (await r.json())[0]["service_request_id"]

        async def held_at_b() -> Any:
            rows = [q for q in await console(session, b) if q["service_request_id"] == request_id]
            return rows[0] if rows else None

        held = await eventually(held_at_b, 30, "the report in B's queue")
        assert held["released"] is False
        async with session.get(f"{b.url}/open311/v2/requests/{request_id}.json") as r:
            assert r.status == 404  # not public at B while held
        async with session.post(
            f"{b.url}/admin/reports/{request_id}/status",
            json={"status": "in_bearbeitung", "note": "freigegeben"},
            headers=b.admin(),
        ) as r:
            assert r.status == 200

        async def public_at(running: Running) -> bool:
            async with session.get(f"{running.url}/open311/v2/requests/{request_id}.json") as r:
                return r.status == 200 and (await r.json())[0]["status_notes"] == "freigegeben"

        await eventually(lambda: public_at(b), 30, "released at B")
        await eventually(lambda: public_at(a), 30, "shown at A")
