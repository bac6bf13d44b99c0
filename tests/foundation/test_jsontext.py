"""Event JSON text: the fast path must read back exactly the values the standard library
would (the text may spell a number differently, e.g. 1e-7 for 1e-07)."""

from __future__ import annotations

import json

from allmende.node.events import jsontext

SAMPLES = [
    {"temperature": 21.4, "text": 'Lütjenholm \u2028 "quoted" \\ \n', "n": [0, -1, 2**63 - 1]},
    {"big": 10**30, "negative": -(10**25), "nested": {"id": "123456789012345678901234"}},
    {"float": 1e-7, "also": 123456789.125, "empty": {}, "none": None, "yes": True},
]


def test_dumps_and_loads_agree_with_the_standard_library() -> None:
    for value in SAMPLES:
        text = jsontext.dumps(value)
        assert json.loads(text) == value
        assert jsontext.loads(text) == value
        assert jsontext.loads(text.encode()) == value


def test_integers_beyond_64_bits_stay_integers() -> None:
    value = jsontext.loads('{"a": 123456789012345678901234567890}')
    assert value["a"] == 123456789012345678901234567890 and isinstance(value["a"], int)


def test_large_texts_keep_integers_beyond_64_bits_too() -> None:
    """Large texts are checked by walking what was read, not by looking at the bytes."""
    content = "<https://luetjenholm.example/o/1> <https://luetjenholm.example/p> 12 .\n" * 2000
    value = {"content": content, "n": 123456789012345678901234567890, "f": 1.5}
    text = jsontext.dumps(value)
    assert len(text) >= jsontext.WALK_FROM
    for read in (jsontext.loads(text), jsontext.loads(text.encode())):
        assert read == value and isinstance(read["n"], int)
