"""The event log: signed CloudEvents, the source of truth that the RDF store projects."""

from node.events.envelope import EVENT_PREFIX, new_event
from node.events.log import EventLog, SignedEvent
from node.events.signing import VerificationError

__all__ = ["EVENT_PREFIX", "EventLog", "SignedEvent", "VerificationError", "new_event"]
