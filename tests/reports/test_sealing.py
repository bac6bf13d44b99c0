"""A forwarded report's contents open with the addressed village's key only, and not at
all once a byte of them is changed."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from allmende.node.keys import NodeKey
from allmende.node.reports.sealing import Unsealable, check_sealed, seal, unseal


def test_only_the_addressed_village_opens_it() -> None:
    bredstedt, calsum = NodeKey(Ed25519PrivateKey.generate()), NodeKey(Ed25519PrivateKey.generate())
    content = {"description": "Graffiti am Deich", "lat": 54.6}
    sealed = seal(content, {bredstedt.kid: bredstedt.public})
    check_sealed(sealed)
    assert "Graffiti" not in str(sealed)
    assert unseal(sealed, bredstedt) == content
    with pytest.raises(Unsealable):
        unseal(sealed, calsum)
    with pytest.raises(Unsealable):  # calsum's kid over bredstedt's box: not its key
        unseal({calsum.kid: sealed[bredstedt.kid]}, calsum)
    box = bytearray(base64.b64decode(sealed[bredstedt.kid]))
    box[-1] ^= 1
    with pytest.raises(Unsealable):
        unseal({bredstedt.kid: base64.b64encode(bytes(box)).decode()}, bredstedt)
    with pytest.raises(Unsealable):
        seal(content, {})
    with pytest.raises(ValueError):
        check_sealed({})
