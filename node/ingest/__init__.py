"""Sensor ingest: webhooks and files in, signed SOSA observation events out."""

from allmende.node.ingest.projection import install
from allmende.node.ingest.routes import setup

__all__ = ["install", "setup"]
