"""Street lights on demand: controllers, segments, switching under a signed policy, proof."""

from node.actuation.routes import setup

__all__ = ["setup"]
