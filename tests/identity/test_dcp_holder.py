"""The node as a DCP holder, as when it consumes from an EDC provider: its secure token
service issues its self-issued ID token, its credential service presents the credential the
operator imported, and a verifier (a second node, over real HTTPS on loopback) accepts it."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import trustme
from aiohttp import web
from click.testing import CliRunner

from allmende.node.catalog import service
from allmende.node.cli import main
from allmende.node.http.app import create_app
from allmende.node.identity import sts
from allmende.node.identity.did import own_did, own_key_id
from allmende.node.identity.verifier import IDENTITY, Identity
from allmende.node.runtime import Node
from allmende.policies.terms import DSP_CONTEXT
from tests.identity.parties import MEMBERSHIP_SCOPE, Dataspace, credential
from tests.ingest.conftest import dataset_body
from tests.services.ports import free_port
from tests.support import make_node


@dataclass
class Served:
    node: Node
    app: web.Application
    runner: web.AppRunner

    @property
    def did(self) -> str:
        return own_did(self.node)

    @property
    def identity(self) -> Identity:
        return self.app[IDENTITY]


async def serve_https(
    directory: Path, ca: trustme.CA, ca_file: Path, dataspace: Dataspace
) -> Served:
    port = free_port()
    node = make_node(
        directory,
        port=port,
        environ={
            "ALLMENDE_NODE_BASE_URL": f"https://127.0.0.1:{port}",
            "ALLMENDE_DCP_TRUSTED_ISSUERS": dataspace.issuer.did,
            "ALLMENDE_DCP_CA_FILE": str(ca_file),
            "ALLMENDE_DCP_PRIVATE_ADDRESSES": "true",  # everyone is on loopback
        },
    )
    app = create_app(node)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=dataspace.server_context()).start()
    return Served(node, app, runner)


@pytest.fixture
async def nodes(
    tmp_path: Path, ca: trustme.CA, ca_file: Path, dataspace: Dataspace
) -> AsyncIterator[tuple[Served, Served]]:
    holder = await serve_https(tmp_path / "holder", ca, ca_file, dataspace)
    verifier = await serve_https(tmp_path / "verifier", ca, ca_file, dataspace)
    yield holder, verifier
    await holder.runner.cleanup()
    await verifier.runner.cleanup()


def import_credential(node: Node, token: str, tmp_path: Path) -> Any:
    path = tmp_path / f"{uuid.uuid4().hex}.jwt"
    path.write_text(token)
    return CliRunner().invoke(
        main, ["credentials", "import", str(node.settings.directory), str(path)]
    )


async def test_verifier_accepts_the_nodes_presentation(
    nodes: tuple[Served, Served], dataspace: Dataspace, tmp_path: Path
) -> None:
    holder, verifier = nodes
    result = import_credential(holder.node, credential(dataspace.issuer, holder.did), tmp_path)
    assert result.exit_code == 0, result.output
    assert "MembershipCredential" in result.output and dataspace.issuer.did in result.output
    listed = CliRunner().invoke(main, ["credentials", "list", str(holder.node.settings.directory)])
    assert "MembershipCredential" in listed.output

    token = sts.self_issued_token(holder.node, verifier.did)
    claims = jwt.decode(token, holder.node.key.public, algorithms=["EdDSA"], audience=verifier.did)
    assert claims["iss"] == claims["sub"] == holder.did
    access = jwt.decode(
        claims["token"], holder.node.key.public, algorithms=["EdDSA"], audience=holder.did
    )
    assert access["sub"] == verifier.did and access["scope"] == MEMBERSHIP_SCOPE

    partner = await verifier.identity.partner(token)
    assert partner.did == holder.did
    assert [c.issuer for c in partner.credentials] == [dataspace.issuer.did]
    assert "MembershipCredential" in partner.attributes["credentialTypes"]
    assert partner.attributes["memberOf"] == ["Amt Beispiel (sample data)"]


async def test_node_negotiates_with_a_dcp_provider(
    nodes: tuple[Served, Served], dataspace: Dataspace, tmp_path: Path
) -> None:
    """The holder's token in a DSP request to the verifier node: the negotiation is the
    holder's DID's, as it would be at an EDC provider."""
    holder, verifier = nodes
    import_credential(holder.node, credential(dataspace.issuer, holder.did), tmp_path)
    await service.create(verifier.node, dataset_body("parken-dorfplatz"))
    request = {
        "@context": [DSP_CONTEXT],
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:holder-1",
        "offer": {
            "@id": f"{verifier.node.base_url}/datasets/parken-dorfplatz#offer",
            "@type": "Offer",
        },
        "callbackAddress": f"{holder.node.base_url}/dsp/consumer/callback",
    }
    headers = {"Authorization": sts.self_issued_token(holder.node, verifier.did)}
    connector = aiohttp.TCPConnector(ssl=verifier.identity.fetcher.context)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(
            verifier.node.base_url + "/dsp/negotiations/request", json=request, headers=headers
        ) as response,
    ):
        body = await response.json()
    # the callback is refused (not a configured callback host), which proves the caller
    # got past identity: an unknown caller is refused with 401 before the body is read
    assert response.status == 400 and "callbackAddress" in body["reason"][0], body
    headers["Authorization"] = sts.self_issued_token(holder.node, verifier.did)
    (holder.node.settings.directory / "credentials").rename(tmp_path / "moved")
    async with (
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=verifier.identity.fetcher.context)
        ) as http,
        http.post(
            verifier.node.base_url + "/dsp/negotiations/request", json=request, headers=headers
        ) as response,
    ):
        body = await response.json()
    assert response.status == 403 and "MembershipCredential" in body["reason"][0], body


def verifier_token(verifier: Served, audience: str, access: str) -> str:
    now = int(time.time())
    claims = {
        "iss": verifier.did,
        "sub": verifier.did,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
        "token": access,
    }
    return jwt.encode(
        claims,
        verifier.node.key.private,
        algorithm="EdDSA",
        headers={"kid": own_key_id(verifier.node)},
    )


async def test_credential_service_refusals(
    nodes: tuple[Served, Served], dataspace: Dataspace, tmp_path: Path
) -> None:
    holder, verifier = nodes
    import_credential(holder.node, credential(dataspace.issuer, holder.did), tmp_path)
    url = holder.node.base_url + "/dcp/presentations/query"
    query = {
        "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
        "type": "PresentationQueryMessage",
        "scope": [MEMBERSHIP_SCOPE],
    }

    async def ask(body: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=verifier.identity.fetcher.context)
            ) as http,
            http.post(url, json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    granted = sts.access_token(holder.node, verifier.did, [MEMBERSHIP_SCOPE])
    status, answer = await ask(query, verifier_token(verifier, holder.did, granted))
    assert status == 200 and answer["type"] == "PresentationResponseMessage"
    assert len(answer["presentation"]) == 1

    cases: dict[str, tuple[dict[str, Any], str | None, int, str]] = {
        "no token": (query, None, 401, "self-issued ID token"),
        "access token for someone else": (
            query,
            verifier_token(
                verifier,
                holder.did,
                sts.access_token(holder.node, "did:web:x.example", [MEMBERSHIP_SCOPE]),
            ),
            403,
            "another verifier",
        ),
        "scope not granted": (
            {**query, "scope": ["org.eclipse.edc.vc.type:SecretCredential:read"]},
            verifier_token(verifier, holder.did, granted),
            403,
            "does not grant",
        ),
        "scope and presentation definition": (
            {**query, "presentationDefinition": definition("MembershipCredential")},
            verifier_token(verifier, holder.did, granted),
            400,
            "either scope or presentationDefinition",
        ),
        "not for this holder": (
            query,
            verifier_token(verifier, "did:web:x.example", granted),
            401,
            "another audience",
        ),
        "access token forged": (
            query,
            verifier_token(
                verifier,
                holder.did,
                jwt.encode({"sub": verifier.did}, verifier.node.key.private, algorithm="EdDSA"),
            ),
            401,
            "not issued by this node",
        ),
    }
    for case, (body, token, expected, reason) in cases.items():
        status, answer = await ask(body, token)
        assert status == expected and reason in answer["detail"], (case, answer)
    replayed = verifier_token(verifier, holder.did, granted)
    assert (await ask(query, replayed))[0] == 200
    status, answer = await ask(query, replayed)
    assert status == 401 and "used before" in answer["detail"]


def definition(credential_type: str, **extra: Any) -> dict[str, Any]:
    """A presentation definition as a DCP verifier sends one: a credential by its type."""
    return {
        "id": "membership-check",
        "input_descriptors": [
            {
                "id": "membership",
                "constraints": {
                    "fields": [
                        {
                            "path": ["$.vc.type"],
                            "filter": {"type": "array", "contains": {"const": credential_type}},
                        }
                    ]
                },
            }
        ],
        **extra,
    }


async def test_credential_service_answers_a_presentation_definition(
    nodes: tuple[Served, Served], dataspace: Dataspace, tmp_path: Path
) -> None:
    """DIF Presentation Exchange instead of scopes: the input descriptors choose among the
    credentials the access token's scopes allow, the answer says which is which; what the
    node does not do or cannot read is refused with the reason."""
    holder, verifier = nodes
    membership = credential(dataspace.issuer, holder.did)
    import_credential(holder.node, membership, tmp_path)
    other = credential(dataspace.issuer, holder.did, types=("DemoCredential",))
    import_credential(holder.node, other, tmp_path)
    url = holder.node.base_url + "/dcp/presentations/query"
    granted = sts.access_token(holder.node, verifier.did, [MEMBERSHIP_SCOPE])

    async def ask(wanted: Any) -> tuple[int, dict[str, Any]]:
        body = {
            "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
            "type": "PresentationQueryMessage",
            "presentationDefinition": wanted,
        }
        headers = {"Authorization": f"Bearer {verifier_token(verifier, holder.did, granted)}"}
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=verifier.identity.fetcher.context)
            ) as http,
            http.post(url, json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    status, answer = await ask(definition("MembershipCredential"))
    assert status == 200, answer
    [vp] = answer["presentation"]
    presented = jwt.decode(vp, options={"verify_signature": False})["vp"]
    assert presented["verifiableCredential"] == [membership]
    [entry] = answer["presentationSubmission"]["descriptor_map"]
    assert answer["presentationSubmission"]["definition_id"] == "membership-check"
    assert entry["id"] == "membership"
    assert entry["path_nested"]["path"] == "$.vp.verifiableCredential[0]"
    # held, but outside the granted scope: not presented
    status, answer = await ask(definition("DemoCredential"))
    assert status == 200 and answer["presentation"] == [], answer
    assert answer["presentationSubmission"]["descriptor_map"] == []
    refusals = {
        "no descriptors": ({"id": "x", "input_descriptors": []}, 400, "input_descriptors"),
        "bad path": (
            {
                "id": "x",
                "input_descriptors": [{"id": "a", "constraints": {"fields": [{"path": ["$[("]}]}}],
            },
            400,
            "not a JSONPath",
        ),
        "bad filter": (
            {
                "id": "x",
                "input_descriptors": [
                    {
                        "id": "a",
                        "constraints": {
                            "fields": [{"path": ["$.type"], "filter": {"type": "no-such-type"}}]
                        },
                    }
                ],
            },
            400,
            "not a JSON Schema",
        ),
        "remote reference": (
            {
                "id": "x",
                "input_descriptors": [
                    {
                        "id": "a",
                        "constraints": {
                            "fields": [
                                {"path": ["$.type"], "filter": {"$ref": "https://x.example/s.json"}}
                            ]
                        },
                    }
                ],
            },
            501,
            "references",
        ),
        "submission requirements": (
            definition("MembershipCredential", submission_requirements=[{"rule": "all"}]),
            501,
            "submission_requirements",
        ),
    }
    for case, (wanted, expected, reason) in refusals.items():
        status, answer = await ask(wanted)
        assert status == expected and reason in answer["detail"], (case, answer)


async def test_import_refuses_what_the_node_cannot_present(
    nodes: tuple[Served, Served], dataspace: Dataspace, tmp_path: Path
) -> None:
    holder, _ = nodes
    for token, reason in (
        (credential(dataspace.issuer, "did:web:other.example"), "not this node"),
        (credential(dataspace.issuer, holder.did, expires_in=-60), "expired"),
        ("no credential", "not a verifiable credential"),
    ):
        result = import_credential(holder.node, token, tmp_path)
        assert result.exit_code == 2 and reason in result.output, result.output
    assert not list((holder.node.settings.directory / "credentials").glob("*.jwt"))


async def test_did_document(nodes: tuple[Served, Served]) -> None:
    holder, verifier = nodes
    async with (
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=verifier.identity.fetcher.context)
        ) as http,
        http.get(holder.node.base_url + "/.well-known/did.json") as response,
    ):
        document = await response.json(content_type=None)
    port = holder.node.base_url.rsplit(":", 1)[1]
    assert document["id"] == f"did:web:127.0.0.1%3A{port}" == holder.did
    method = document["verificationMethod"][0]
    assert method["publicKeyJwk"] == holder.node.key.jwk()  # the key of the node's JWKS
    services = {s["type"]: s["serviceEndpoint"] for s in document["service"]}
    assert services == {
        "CredentialService": holder.node.base_url + "/dcp",
        "ProtocolEndpoint": holder.node.base_url + "/dsp",
    }


async def test_backup_keeps_the_nodes_credentials(
    nodes: tuple[Served, Served], dataspace: Dataspace, tmp_path: Path
) -> None:
    from allmende.node.backup import backup, restore
    from allmende.node.identity.credentials import held

    holder, _ = nodes
    token = credential(dataspace.issuer, holder.did)
    assert import_credential(holder.node, token, tmp_path).exit_code == 0
    archive = tmp_path / "village.tar.gz"
    backup(holder.node.settings.directory, archive)
    restore(archive, tmp_path / "restored")
    assert [t for t, _ in held(tmp_path / "restored")] == [token]
