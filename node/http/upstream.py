"""Error texts about other servers, made fit to show: no address the caller did not give.

A peer that answers a federated call with a redirect, or with an error page, must not turn
the node into a way of learning addresses behind it (its internal hosts, a redirect target
carrying a token). Addresses the caller wrote itself (the SERVICE IRI of its query) or a
trusted peer's known address stay, the latter shown as the peer's node id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

WITHHELD = "(an address withheld)"
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+")
_HOST_PORT = re.compile(r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\])(?::\d+)?", re.I)
_PAYLOAD = re.compile(r"\s*with payload:.*", re.S)


def withhold_addresses(
    text: str, given: Iterable[str] = (), peers: Mapping[str, str] | None = None
) -> str:
    """`text` with every URL and IP address replaced, except those in `given` (the caller's
    own words); a URL under a trusted peer's address (`peers`: address -> node id) becomes
    "peer <node id>". An upstream's echoed error body ("with payload: ...") is dropped."""
    allowed = set(given)
    named = dict(peers or {})

    def url(match: re.Match[str]) -> str:
        found = match.group(0).rstrip(".,;:)")
        tail = match.group(0)[len(found) :]
        if found in allowed:
            return match.group(0)
        for address, peer_id in named.items():
            base = address.rstrip("/")
            if found == base or found.startswith(base + "/"):
                return f"peer {peer_id}{tail}"
        return WITHHELD + tail

    text = _PAYLOAD.sub("", text)
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        kept.append(url(match))
        return f"\x00{len(kept) - 1}\x00"

    text = _URL.sub(hold, text)
    text = _HOST_PORT.sub(WITHHELD, text)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


def iris_in(query: str) -> set[str]:
    """The IRIs a query text spells out in angle brackets: the caller's own words."""
    return set(re.findall(r"<([^<>\s]+)>", query))
