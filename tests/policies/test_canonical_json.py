"""The fast canonical form must equal the RFC 8785 reference byte for byte."""

from __future__ import annotations

import random
from typing import Any

import pytest
import rfc8785

from allmende.policies.jws import canonical

ALPHABET = (
    [chr(c) for c in range(0x20)]
    + list("\"\\/ abcXYZ019<>&'")
    + [
        "\x7f",
        "\u00e4",
        "\u00df",
        "\u2028",
        "\u2029",
        "\ue000",
        "\uffff",
        "\U0001f600",
        "\U00010000",
    ]
)


def text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 12)))


def document(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "int", "bool", "null", "float"] + (["list", "dict"] * 2 if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return text(rng)
    if kind == "int":
        return rng.choice([0, -1, 7, 2**53 - 1, -(2**53 - 1), rng.randrange(-(10**12), 10**12)])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "float":
        return rng.choice([0.5, -1e-7, 1e21, 123.456, 5e-324, 1.0])
    if kind == "list":
        return [document(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    return {text(rng): document(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


@pytest.mark.parametrize("seed", range(40))
def test_random_documents_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        value = document(rng)
        try:
            expected = rfc8785.dumps(value)
        except Exception:  # the reference refuses; ours must refuse too
            with pytest.raises(Exception):  # noqa: B017
                canonical(value)
            continue
        assert canonical(value) == expected, value


def test_an_event_with_n_triples_content_matches_the_reference() -> None:
    content = '<urn:a> <urn:b> "x\\"y\\n"@de .\n' * 1000
    event = {"id": "e1", "data": {"content": content, "count": 1000}, "specversion": "1.0"}
    assert canonical(event) == rfc8785.dumps(event)


def test_keys_sort_by_utf16_code_units() -> None:
    value = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical(value).index("\U0001f600".encode()) < canonical(value).index("\ue000".encode())
