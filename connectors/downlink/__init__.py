"""Commands out to LoRaWAN network servers: "switch on for N seconds" as a request.

Pure, like the rest of `connectors/`: a command and a device in, the HTTP request the
network server's documented downlink API expects out (`tts.push_request`,
`chirpstack.enqueue_request`); a network server's downlink event in, what it says about
our command out (`DownlinkEvent`). The node sends the requests and keeps the state.
"""

from allmende.connectors.downlink.model import (
    Command,
    DownlinkEvent,
    EventKind,
    HttpRequest,
    InvalidEvent,
)

__all__ = ["Command", "DownlinkEvent", "EventKind", "HttpRequest", "InvalidEvent"]
