"""`allmende policy sign|verify`: a village signs an offer, a partner countersigns it, and
anybody with the public keys can check both; one changed character breaks it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from allmende.node.cli import main
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory
from allmende.policies.templates import template_document

TEMPLATE = "research-only"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def parties(tmp_path: Path) -> dict[str, Path]:
    """A providing village and a consuming partner, each a node folder; an offer and the
    terms of an agreement between the two."""
    village, partner = tmp_path / "luetjenholm", tmp_path / "partner"
    init_directory(village, name="Lütjenholm", port=8701)
    init_directory(partner, name="Partner (Beispiel)", port=8702)
    offer = tmp_path / "offer.jsonld"
    document = template_document(
        TEMPLATE,
        assigner="https://luetjenholm.example/",
        target="https://luetjenholm.example/datasets/raumklima",
    )
    offer.write_text(json.dumps(document), encoding="utf-8")
    terms = tmp_path / "agreement-terms.jsonld"
    document = {**document, "@type": "Agreement", "assignee": "https://partner.example/"}
    terms.write_text(json.dumps(document), encoding="utf-8")
    return {
        "village": village,
        "partner": partner,
        "offer": offer,
        "terms": terms,
        "dir": tmp_path,
    }


def jwks_file(directory: Path, target: Path) -> str:
    target.write_text(json.dumps(load_key(directory / "node-key.pem").jwks()), encoding="utf-8")
    return str(target)


def signed_offer(parties: dict[str, Path]) -> Path:
    signed = parties["dir"] / "signed.json"
    offer, village = str(parties["offer"]), str(parties["village"])
    result = run("policy", "sign", offer, "--node", village, "-o", str(signed))
    assert result.exit_code == 0, result.output
    return signed


def test_signed_offer_and_countersigned_agreement_verify(parties: dict[str, Path]) -> None:
    signed, agreement = parties["dir"] / "signed.json", parties["dir"] / "agreement.json"
    made = run("policy", "sign", str(parties["offer"]), "--node", str(parties["village"]))
    assert made.exit_code == 0, made.output
    signed.write_text(made.output, encoding="utf-8")
    assert json.loads(made.output)["signatures"][0]["role"] == "provider"

    ok = run("policy", "verify", str(signed), "--node", str(parties["village"]))
    assert ok.exit_code == 0 and "valid: provider" in ok.output

    refused = run("policy", "sign", str(signed), "--node", str(parties["partner"]))
    assert refused.exit_code == 2 and "countersigns agreements only" in refused.output

    provided = parties["dir"] / "provided.json"
    terms, village = str(parties["terms"]), str(parties["village"])
    assert run("policy", "sign", terms, "--node", village, "-o", str(provided)).exit_code == 0
    both = run(
        "policy", "sign", str(provided), "--node", str(parties["partner"]), "-o", str(agreement)
    )
    assert both.exit_code == 0 and "as consumer" in both.output
    village_keys = jwks_file(parties["village"], parties["dir"] / "village.jwks")
    partner_keys = jwks_file(parties["partner"], parties["dir"] / "partner.jwks")
    checked = run(
        "policy", "verify", str(agreement), "--jwks", village_keys, "--jwks", partner_keys,
        "--require", "provider", "--require", "consumer",
    )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    assert "valid: provider" in checked.output and "valid: consumer" in checked.output

    only_village = run("policy", "verify", str(agreement), "--jwks", village_keys)
    assert only_village.exit_code == 1 and "not valid" in only_village.output


def test_a_changed_character_or_a_missing_signer_fails(parties: dict[str, Path]) -> None:
    signed = signed_offer(parties)
    text = signed.read_text(encoding="utf-8")
    tampered = parties["dir"] / "tampered.json"
    tampered.write_text(text.replace("research", "researcH", 1), encoding="utf-8")
    assert text != tampered.read_text(encoding="utf-8")
    result = run("policy", "verify", str(tampered), "--node", str(parties["village"]))
    assert result.exit_code == 1 and "not valid" in result.output

    unsigned = run(
        "policy", "verify", str(signed), "--node", str(parties["village"]), "--require", "consumer"
    )
    assert unsigned.exit_code == 1 and "missing signature by consumer" in unsigned.output

    stranger = run("policy", "verify", str(signed), "--node", str(parties["partner"]))
    assert stranger.exit_code == 1


async def test_keys_come_from_a_jwks_url(parties: dict[str, Path], aiohttp_server: Any) -> None:
    signed = signed_offer(parties)
    jwks = load_key(parties["village"] / "node-key.pem").jwks()

    async def serve_jwks(_request: web.Request) -> web.Response:
        return web.json_response(jwks)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", serve_jwks)
    server = await aiohttp_server(app, host="127.0.0.1")
    url = str(server.make_url("/.well-known/jwks.json"))
    result = await asyncio.to_thread(run, "policy", "verify", str(signed), "--jwks", url)
    assert result.exit_code == 0 and "valid: provider" in result.output
    missing = await asyncio.to_thread(
        run, "policy", "verify", str(signed), "--jwks", url.replace("jwks.json", "nothing")
    )
    assert missing.exit_code == 2 and "no public keys there" in missing.output
