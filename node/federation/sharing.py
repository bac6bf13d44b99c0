"""What of this node's log the federation may see.

Catalog events of every dataset are shared, so partners find them. Observations and
sensor descriptions only of datasets that anyone may see (published open data), as
`node.access` decides for pages and APIs: the feed is public and a relay's topic reaches
every member, so nothing leaves that an anonymous caller could not read here. It is
decided when an event leaves, from the dataset's current state: restricting a dataset
stops its flow at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from allmende.node.access import open_own
from allmende.node.apps.federation import EVENT_TYPES as APP_TYPES
from allmende.node.catalog.projection import EVENT_TYPES as CATALOG_TYPES
from allmende.node.events.log import SignedEvent
from allmende.node.ingest.projection import RECORDED
from allmende.node.ingest.registry import MAPPED, REGISTERED, REMOVED
from allmende.node.reports.events import EVENT_TYPES as REPORT_TYPES

OBSERVATION_TYPES = (RECORDED, REGISTERED, REMOVED, MAPPED)
CATALOG, OBSERVATIONS, REPORTS, APPS = "catalog", "observations", "reports", "apps"


def stream_of(event_type: str) -> str | None:
    """Which stream (Kafka topic) an event type travels on; None: it stays here."""
    if event_type in CATALOG_TYPES:
        return CATALOG
    if event_type in OBSERVATION_TYPES:
        return OBSERVATIONS
    if event_type in REPORT_TYPES:
        return REPORTS  # defect reports between villages: never the reporter's data
    if event_type in APP_TYPES:
        return APPS  # which apps a village approved, as its public directory shows them
    return None


def shareable(session: Session, events: Sequence[SignedEvent]) -> list[SignedEvent]:
    """The events of a page of the log that may leave this node, in log order."""
    wanted = {
        str(s.event.get("subject")) for s in events if stream_of(s.event["type"]) == OBSERVATIONS
    }
    open_datasets = open_own(session, wanted)
    return [
        s
        for s in events
        if (stream := stream_of(s.event["type"])) in (CATALOG, REPORTS, APPS)
        or (stream == OBSERVATIONS and s.event.get("subject") in open_datasets)
    ]
