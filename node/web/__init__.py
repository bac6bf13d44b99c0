"""Web pages people use: the citizen portal and the operator console (server-rendered)."""

from allmende.node.web.setup import setup

__all__ = ["setup"]
