"""The app directory: third-party apps register (OAuth 2.0 DCR), the village reviews and
approves them (signed agreements), residents sign in and consent, and revoke."""

from allmende.node.apps.routes import setup

__all__ = ["setup"]
