"""The node's Ed25519 key pair: one file, mode 0600, never logged or served."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from policies import jws


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
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return NodeKey(private)


def load_key(path: Path) -> NodeKey:
    private = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return NodeKey(private)
