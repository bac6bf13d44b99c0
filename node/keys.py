"""The node's Ed25519 key pair: one file, mode 0600, never logged or served."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from allmende.node.http.bodies import response_body
from allmende.policies import jws


@dataclass(frozen=True, repr=False)
class NodeKey:
    """A private key together with its public half and RFC 7638 key id."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def kid(self) -> str:
        return jws.thumbprint(self.public)

    def jwk(self) -> dict[str, str]:
        return {**jws.public_jwk(self.public), "kid": self.kid, "use": "sig", "alg": jws.ALGORITHM}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk()]}

    def sign(self, obj: object) -> str:
        return jws.sign_detached(obj, self.private, self.kid)

    def __repr__(self) -> str:
        return f"NodeKey(kid={self.kid!r})"


def generate_key(path: Path) -> NodeKey:
    """Write a fresh key readable by the owner only; refuse to overwrite an existing one."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return NodeKey(private)


def load_key(path: Path) -> NodeKey:
    private = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return NodeKey(private)


RETIRED = "retired-keys"


def public_jwk_with_kid(public: Ed25519PublicKey) -> dict[str, str]:
    return {
        **jws.public_jwk(public),
        "kid": jws.thumbprint(public),
        "use": "sig",
        "alg": jws.ALGORITHM,
    }


def load_retired(directory: Path) -> list[Ed25519PublicKey]:
    """Public halves of rotated-out keys: still published, so old signatures keep verifying."""
    keys = []
    for path in sorted((directory / RETIRED).glob("*.pem")):
        public = load_pem_public_key(path.read_bytes())
        if isinstance(public, Ed25519PublicKey):
            keys.append(public)
    return keys


def rotate_key(key_path: Path) -> tuple[str, NodeKey]:
    """Retire the current key (only its public half is kept) and put a fresh one in place."""
    old = load_key(key_path)
    retired = key_path.parent / RETIRED
    retired.mkdir(exist_ok=True)
    (retired / f"{old.kid}.pem").write_bytes(
        old.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    fresh_path = key_path.with_name(key_path.name + ".new")
    fresh_path.unlink(missing_ok=True)
    fresh = generate_key(fresh_path)
    os.replace(fresh_path, key_path)
    return old.kid, fresh


MAX_JWKS_BYTES = 64 * 1024


async def fetch_jwks(session: aiohttp.ClientSession, url: str) -> dict[str, Ed25519PublicKey]:
    """Another party's public keys from its JWKS URL: no redirects, 10 s, 64 KiB at most.

    Raises aiohttp.ClientError, TimeoutError or ValueError (not a usable JWKS)."""
    async with session.get(
        url, timeout=aiohttp.ClientTimeout(total=10), allow_redirects=False
    ) as response:
        response.raise_for_status()
        body = await response_body(response, MAX_JWKS_BYTES, "a JWKS")  # ValueError past it
    return jws.keys_from_jwks(json.loads(body))
