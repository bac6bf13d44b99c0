"""The event log: signed CloudEvents, the source of truth that the RDF store projects."""

from allmende.node.events.envelope import EVENT_PREFIX, new_event
from allmende.node.events.log import EventLog, SignedEvent
from allmende.node.events.signing import VerificationError

__all__ = ["EVENT_PREFIX", "EventLog", "SignedEvent", "VerificationError", "new_event"]
