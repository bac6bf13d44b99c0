"""Codecs run sandboxed: results read, faults stopped and named, other codecs unharmed."""

from __future__ import annotations

import time

import pytest

from allmende.connectors.codecs import SUSPENSION, TIME_LIMIT, Codec, CodecFailed, CodecRunner
from allmende.connectors.model import parse_time

AT = parse_time("2024-05-14T08:15:02Z")
ECHO = Codec(
    "echo",
    """function decodeUplink(input) {
      return {data: {first: input.bytes[0], n: input.bytes.length, port: input.fPort,
                     at: input.recvTime.toISOString()}, warnings: ["just a test"]};
    }""",
)
LOOP = Codec("loop", "function decodeUplink(input) { while (true) {} }")
GREEDY = Codec(
    "greedy",
    "var kept = []; function decodeUplink(input) {"
    " while (true) { kept.push(new Array(100000).fill(input.fPort)); } }",
)
DEEP = Codec(
    "deep", "function f(n) { return f(n + 1) + 1; } function decodeUplink(i) { return f(0); }"
)


def test_a_codec_gets_bytes_port_and_time() -> None:
    decoded = CodecRunner().decode(ECHO, bytes([0xCB, 0xF6, 0x0B]), 2, AT)
    assert decoded.data == {"first": 0xCB, "n": 3, "port": 2, "at": "2024-05-14T08:15:02.000Z"}
    assert decoded.warnings == ("just a test",)


@pytest.mark.parametrize(
    ("codec", "code"), [(LOOP, "codec-timeout"), (GREEDY, "codec-memory"), (DEEP, "codec-memory")]
)
def test_a_runaway_codec_is_stopped_and_named(codec: Codec, code: str) -> None:
    runner = CodecRunner()
    started = time.monotonic()
    with pytest.raises(CodecFailed) as failed:
        runner.decode(codec, b"\x01", 1, AT)
    assert failed.value.code == code
    assert time.monotonic() - started < 20 * TIME_LIMIT
    # other codecs are unharmed; this one is suspended: its next uplinks fail at once
    assert runner.decode(ECHO, b"\x07", 1, AT).data["first"] == 7
    started = time.monotonic()
    for _ in range(100):
        with pytest.raises(CodecFailed) as again:
            runner.decode(codec, b"\x01", 1, AT)
        assert again.value.code == "codec-suspended"
    assert time.monotonic() - started < TIME_LIMIT
    assert runner.decode(ECHO, b"\x08", 1, AT).data["first"] == 8


def test_a_suspended_codec_is_tried_again_later(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CodecRunner()
    with pytest.raises(CodecFailed):
        runner.decode(LOOP, b"\x01", 1, AT)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + SUSPENSION + 1)
    with pytest.raises(CodecFailed) as failed:
        runner.decode(LOOP, b"\x01", 1, AT)
    assert failed.value.code == "codec-timeout"  # run again (and stopped again)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("function decodeUplink(input) { return {errors: ['unknown FPort']}; }", "codec-errors"),
        ("function decodeUplink(input) { return 42; }", "codec-result"),
        ("function decodeUplink(input) { return {data: 'x'}; }", "codec-result"),
        ("function decodeUplink(input) { return undefined; }", "codec-result"),
        ("function decodeUplink(input) { throw new Error('boom'); }", "codec-error"),
        ("function decodeUplink(input) { return {data: {a: require('fs')}}; }", "codec-error"),
        (
            "function decodeUplink(input) { return {data: {a: std.open('/etc/passwd')}}; }",
            "codec-error",
        ),
        ("function decoder(bytes) { return {}; }", "codec-error"),
        (
            "function decodeUplink(input) { var o = {}; for (var i = 0; i < 100; i++) o['f' + i] = i;"
            " return {data: o}; }",
            "codec-result",
        ),
        (
            "function decodeUplink(input) { var o = {v: 1}; for (var i = 0; i < 50; i++) o = {o: o};"
            " return {data: o}; }",
            "codec-result",
        ),
    ],
)
def test_faulty_results_are_named(source: str, code: str) -> None:
    with pytest.raises(CodecFailed) as failed:
        CodecRunner().decode(Codec("faulty", source), b"\x01\x02", 1, AT)
    assert failed.value.code == code, failed.value.reason


def test_codecs_are_checked_before_they_are_stored() -> None:
    runner = CodecRunner()
    runner.check(ECHO)
    with pytest.raises(CodecFailed, match="decodeUplink"):
        runner.check(Codec("none", "var x = 1;"))
    with pytest.raises(CodecFailed, match="SyntaxError"):
        runner.check(Codec("broken", "function decodeUplink(input) {"))
    with pytest.raises(CodecFailed, match=r"interrupted|longer"):
        runner.check(Codec("loops on load", "while (true) {} function decodeUplink(i) {}"))


def test_payloads_longer_than_lorawan_allows_are_refused() -> None:
    with pytest.raises(CodecFailed, match="at most"):
        CodecRunner().decode(ECHO, bytes(243), 1, AT)
