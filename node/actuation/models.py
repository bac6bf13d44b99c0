"""Control-plane tables of the actuation room: controllers, segments, switchings, policy."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Controller(SQLModel, table=True):
    """A lamp or cabinet controller behind a LoRaWAN network server.

    `credential` is the downlink API key (The Things Stack) or API token (ChirpStack): it
    is only ever sent to `server`, never shown, logged or put into an event."""

    __tablename__ = "actuation_controller"

    id: str = Field(primary_key=True, max_length=64)
    dev_eui: str = Field(max_length=16, index=True)
    network: str = Field(max_length=16)  # "tts" or "chirpstack"
    server: str = Field(max_length=500)
    application_id: str | None = Field(default=None, max_length=128)
    device_id: str = Field(max_length=128, index=True)  # TTS device id; ChirpStack: the DevEUI
    webhook_id: str | None = Field(default=None, max_length=128)
    credential: str = Field(max_length=2000)
    lorawan_class: str = Field(max_length=1)  # "A" or "C"
    uplink_interval: int = 600  # seconds between a Class A device's uplinks
    codec: str  # JSON (connectors.downlink.codecs)
    confirmed: bool = True
    label: str | None = Field(default=None, max_length=200)
    registered: datetime


class Segment(SQLModel, table=True):
    """What one controller switches: lamps (points), a street segment (line) or a circuit."""

    __tablename__ = "actuation_segment"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    controller_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # "lamps", "segment" or "circuit"
    geometry: str  # GeoJSON geometry
    lat: float
    lon: float
    lamps: int
    watts: float  # per lamp
    duration: int  # seconds the lights stay on per switching
    dark_from: str = Field(max_length=5)  # "00:30": from here the schedule keeps lights off
    dark_until: str = Field(max_length=5)  # "05:30"
    timezone: str = Field(default="Europe/Berlin", max_length=64)
    locked: bool = False
    lock_reason: str | None = Field(default=None, max_length=300)
    on_until: datetime | None = None  # end of the current window, once a command went out
    window_switching: str | None = Field(default=None, max_length=32)
    extend_pending: bool = False  # a press in this window asks for one extension
    registered: datetime


class Switching(SQLModel, table=True):
    """One press and what became of it: the state machine the person watches.

    requested -> queued -> sent -> acked -> confirmed, or failed / expired; a press while
    the lights are on is `coalesced` into the window's switching (`coalesced_into`)."""

    __tablename__ = "actuation_switching"

    id: str = Field(primary_key=True, max_length=32)
    segment_id: str = Field(max_length=64, index=True)
    controller_id: str = Field(max_length=64)
    pseudonym: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=16)  # portal, button, phone, extension, api
    night: str = Field(max_length=10, index=True)  # the evening's date the night began
    state: str = Field(max_length=16, index=True)
    reason: str | None = Field(default=None, max_length=500)
    created: datetime
    updated: datetime
    expires: datetime
    seconds: int
    attempts: int = 0
    queue_item: str | None = Field(default=None, max_length=64, index=True)
    coalesced_into: str | None = Field(default=None, max_length=32)
    on_from: datetime | None = None
    on_until: datetime | None = None
    watts: float = 0.0  # all lamps of the segment together


class ActuationPolicy(SQLModel, table=True):
    """The municipality's signed ODRL policy for switching (one row, id 1)."""

    __tablename__ = "actuation_policy"

    id: int = Field(default=1, primary_key=True)
    document: str  # {"policy": ..., "signatures": [...]}
    installed: datetime
