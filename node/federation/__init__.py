"""Federation: villages pool catalogs and shareable observations, signed and deduplicated.

Routes: the public feed and federated catalog, the admin trust list and status. Background
work: following peers' feeds (the embedded default) or relaying to and consuming from
Kafka (when `kafka.bootstrap_servers` is set), started and stopped with the app.
"""

from __future__ import annotations

from allmende.node.federation.projection import install
from allmende.node.federation.routes import setup

__all__ = ["install", "setup"]
