"""Near a village border the portal asks the reporter which village the place is in (the
operator's border_buffer), and routes the report to the village chosen; Open311 apps keep
the automatic point-in-polygon answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from allmende.node.federation.models import TrustedPeer
from allmende.node.keys import public_jwk_with_kid
from allmende.node.reports.geo import boundary_row, geometry_of
from allmende.node.reports.models import Report
from allmende.node.reports.samples import sample_feature
from tests.reports.conftest import Served

BREDSTEDT = "https://bredstedt.example/"
NEAR_BORDER = ("54.6352", "8.95")  # 22 m north of the sample border, in Lütjenholm


async def test_the_reporter_chooses_the_village_near_a_border(served: Served) -> None:
    with Session(served.node.engine) as db:  # as Bredstedt's announcement leaves it
        db.add(
            boundary_row(
                BREDSTEDT,
                "Bredstedt",
                "01054019",
                geometry_of(sample_feature("bredstedt", "Bredstedt")),
                sample=True,
                source="test",
            )
        )
        jwk = public_jwk_with_kid(Ed25519PrivateKey.generate().public_key())
        db.add(TrustedPeer(id=BREDSTEDT, jwk=json.dumps(jwk), added=datetime.now(UTC)))
        db.commit()
    form = {"service_code": "vandalismus", "lat": NEAR_BORDER[0], "long": NEAR_BORDER[1]}
    async with aiohttp.ClientSession() as session:
        async with session.put(
            f"{served.url}/admin/reports/settings",
            json={"border_buffer": 100},
            headers=served.admin,
        ) as r:
            assert r.status == 200
        async with session.post(f"{served.url}/melden", data=form) as r:
            page = await r.text()
        assert r.status == 409
        assert "Gemeindegrenze" in page
        assert f'value="{BREDSTEDT}"' in page and f'value="{served.node.id}"' in page
        async with session.post(
            f"{served.url}/melden", data={**form, "village": "https://elsewhere.example/"}
        ) as r:
            assert r.status == 409  # only a village near the place may be chosen
        async with session.post(
            f"{served.url}/melden", data={**form, "village": BREDSTEDT}, allow_redirects=False
        ) as r:
            assert r.status == 303
        async with session.post(
            f"{served.open311}/requests.json",
            data={"api_key": served.api_key, **form, "acknowledge_duplicate": "true"},
        ) as r:
            assert r.status == 201
    with Session(served.node.engine) as db:
        routed = sorted((r.responsible, r.routing) for r in db.exec(select(Report)))
    assert routed == [(BREDSTEDT, "forwarded"), (served.node.id, "here")]
