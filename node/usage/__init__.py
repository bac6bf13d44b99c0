"""Usage control: the node's signed policies and, as they land, agreements, enforcement
and the audit log. The policy model and its evaluation live in `policies/`."""

from allmende.node.usage.routes import setup

__all__ = ["setup"]
