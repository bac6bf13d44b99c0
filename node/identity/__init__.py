"""Decentralized Claims Protocol (DCP 1.0, as Eclipse EDC speaks it): who a partner is, proven
by verifiable credentials from issuers the operator trusts, instead of a token of this node.

- `did`: the node's own did:web document, and resolving a partner's over HTTPS;
- `fetch`: the only way out to a partner's address (https only, size and time limits);
- `jwts`: verifying a JWT with a key from a DID document;
- `credentials`: reading verifiable credentials (JWT, VC data model 1.1 and 2.0), their
  status lists, and the credentials the node holds itself;
- `verifier`: a partner's self-issued ID token and presentation -> its participant id;
- `sts` and `service`: the node as a DCP holder (secure token service, credential service),
  for when it consumes from an EDC provider;
- `routes` and `commands`: HTTP and CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def setup(app: web.Application) -> None:
    from allmende.node.identity.routes import setup as setup_routes

    setup_routes(app)
