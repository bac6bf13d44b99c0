"""Sensor ingest: webhooks and files in, signed SOSA observation events out."""

from node.ingest.projection import install
from node.ingest.routes import setup

__all__ = ["install", "setup"]
