"""Signed offers and agreements: both parties sign, and any changed character is caught."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from allmende.policies import jws
from allmende.policies.jsonld import to_jsonld
from allmende.policies.jws import SignatureError
from allmende.policies.signing import (
    VerifiedSignature,
    countersign,
    sign_file,
    sign_policy,
    signed_policy,
    verify_document,
)
from allmende.policies.templates import load_template, template_document

PROVIDER_KEY = Ed25519PrivateKey.generate()
CONSUMER_KEY = Ed25519PrivateKey.generate()
PROVIDER_KID = jws.thumbprint(PROVIDER_KEY.public_key())
CONSUMER_KID = jws.thumbprint(CONSUMER_KEY.public_key())
KEYS: dict[str, Ed25519PublicKey] = {
    PROVIDER_KID: PROVIDER_KEY.public_key(),
    CONSUMER_KID: CONSUMER_KEY.public_key(),
}


def agreement() -> dict[str, Any]:
    document = template_document(
        "research-only", assigner="https://luetjenholm.example/node", until="2026-12-31"
    )
    document.update(
        {
            "@type": "Agreement",
            "assignee": "https://uni.example/lab",
            "target": "https://luetjenholm.example/dataset/pegel",
            "timestamp": "2025-03-01T10:00:00Z",
        }
    )
    return document


def signed_agreement() -> dict[str, Any]:
    offer = sign_policy(agreement(), PROVIDER_KEY, PROVIDER_KID)
    return countersign(offer, CONSUMER_KEY, CONSUMER_KID)


def test_provider_signature_verifies() -> None:
    document = sign_policy(
        load_template("open-data-attribution", assigner="urn:v"), PROVIDER_KEY, PROVIDER_KID
    )
    assert verify_document(document, KEYS) == [VerifiedSignature("provider", PROVIDER_KID)]
    assert signed_policy(document).assigner == "urn:v"


def test_agreement_carries_both_signatures() -> None:
    document = signed_agreement()
    assert [entry["role"] for entry in document["signatures"]] == ["provider", "consumer"]
    verified = verify_document(document, KEYS, required_roles=("provider", "consumer"))
    assert {v.role for v in verified} == {"provider", "consumer"}


def test_signature_survives_reserialisation() -> None:
    document = signed_agreement()
    reordered = json.loads(json.dumps(document, indent=3, sort_keys=True, ensure_ascii=True))
    assert verify_document(reordered, KEYS, required_roles=("provider", "consumer"))


def test_every_changed_character_breaks_it() -> None:
    document = signed_agreement()
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    for position, original in enumerate(text):
        replacement = "x" if original != "x" else "y"
        changed = text[:position] + replacement + text[position + 1 :]
        try:
            tampered = json.loads(changed)
        except json.JSONDecodeError:
            continue  # no longer JSON at all: nothing to verify
        with pytest.raises(SignatureError):
            verify_document(tampered, KEYS, required_roles=("provider", "consumer"))


def test_trailing_base64_bits_are_not_a_second_spelling() -> None:
    document = signed_agreement()
    token = document["signatures"][0]["jws"]
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = alphabet[alphabet.index(last) ^ 1]  # flips a bit the decoder drops
    document["signatures"][0]["jws"] = token[:-1] + same_bytes
    with pytest.raises(SignatureError):
        verify_document(document, KEYS)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["signatures"][0].update({"role": "consumer"}),
        lambda d: d["signatures"].reverse() or d["signatures"][0].update({"role": "provider"}),
        lambda d: d["signatures"][1].update({"kid": PROVIDER_KID}),
        lambda d: d["signatures"].append(copy.deepcopy(d["signatures"][0])),
        lambda d: d.update({"comment": "hello"}),
        lambda d: d["policy"]["permission"][0]["constraint"][0]["rightOperand"].update(
            {"@id": "allmende:commercialResearch"}
        ),
        lambda d: d["policy"].update({"assignee": "https://evil.example/"}),
        lambda d: d["signatures"][0].update({"jws": d["signatures"][1]["jws"]}),
        lambda d: d.update({"signatures": []}),
    ],
)
def test_tampering_is_detected(tamper: Any) -> None:
    document = signed_agreement()
    tamper(document)
    with pytest.raises(SignatureError):
        verify_document(document, KEYS)


def test_unknown_key_and_missing_role_fail() -> None:
    document = signed_agreement()
    with pytest.raises(SignatureError):
        verify_document(document, {PROVIDER_KID: PROVIDER_KEY.public_key()})
    offer = sign_policy(agreement(), PROVIDER_KEY, PROVIDER_KID)
    with pytest.raises(SignatureError, match="consumer"):
        verify_document(offer, KEYS, required_roles=("provider", "consumer"))


def test_consumer_countersigns_agreements_only() -> None:
    offer = sign_policy(
        load_template("non-commercial", assigner="urn:v"), PROVIDER_KEY, PROVIDER_KID
    )
    with pytest.raises(ValueError, match="agreements"):
        countersign(offer, CONSUMER_KEY, CONSUMER_KID)
    with pytest.raises(ValueError, match="already"):
        countersign(signed_agreement(), CONSUMER_KEY, CONSUMER_KID)


def test_unreadable_policy_is_never_signed() -> None:
    with pytest.raises(ValueError):
        sign_policy({"@type": "Offer", "permission": [{"actoin": "use"}]}, PROVIDER_KEY, "k")


def test_sign_file_signs_then_countersigns(tmp_path: Path) -> None:
    path = tmp_path / "agreement.jsonld"
    path.write_text(json.dumps(agreement()), encoding="utf-8")
    signed = sign_file(path, PROVIDER_KEY, PROVIDER_KID)
    assert json.loads(path.read_text(encoding="utf-8")) == agreement()
    path.write_text(json.dumps(signed), encoding="utf-8")
    both = sign_file(path, CONSUMER_KEY, CONSUMER_KID)
    assert len(verify_document(both, KEYS, required_roles=("provider", "consumer"))) == 2


def test_policy_object_is_signed_in_its_written_form() -> None:
    policy = load_template("aggregated-only", assigner="urn:v")
    document = sign_policy(policy, PROVIDER_KEY, PROVIDER_KID)
    assert document["policy"] == to_jsonld(policy)
