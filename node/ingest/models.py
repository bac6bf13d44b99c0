"""Control-plane tables of the ingest room: devices, source secrets, latest values, problems."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Device(SQLModel, table=True):
    """A registered device: which dataset it feeds and how its decoded fields map (a profile)."""

    __tablename__ = "ingest_device"

    id: str = Field(primary_key=True, max_length=128)  # canonical: DevEUI lower-case or device id
    dataset_id: str = Field(max_length=64, index=True)
    profile: str  # the device profile JSON (vocab/devices format), fields included
    label: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None
    registered: datetime


class SourceSecret(SQLModel, table=True):
    """The webhook secret of one source (ttn, chirpstack, observations, csv), hashed."""

    __tablename__ = "ingest_source_secret"

    source: str = Field(primary_key=True, max_length=32)
    sha256: str = Field(max_length=64)
    created: datetime


class LatestValue(SQLModel, table=True):
    """The newest reading per device and field, kept in the same transaction as its event."""

    __tablename__ = "ingest_latest_value"

    device_id: str = Field(primary_key=True, max_length=128)
    field: str = Field(primary_key=True, max_length=128)
    dataset_id: str = Field(max_length=64)
    time: datetime
    value: str = Field(max_length=1024)


class IngestProblem(SQLModel, table=True):
    """A refused payload, for the operator: why, from where, and a short excerpt."""

    __tablename__ = "ingest_problem"

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(index=True)
    source: str = Field(max_length=32)
    status: int
    reason: str = Field(max_length=2000)
    excerpt: str = Field(max_length=600)


class DevicePayload(SQLModel, table=True):
    """The newest decoded payload of a registered device, every field as it came (before
    scale and offset), and which fields its mapping left out: what the operator maps from."""

    __tablename__ = "ingest_device_payload"

    device_id: str = Field(primary_key=True, max_length=128)
    time: datetime
    source: str = Field(max_length=32)
    fields: str  # JSON object: field -> value as decoded
    unmapped: str  # JSON array: the fields outside the mapping when it arrived (pages show
    # what the mapping leaves out now)


class ImplausibleReading(SQLModel, table=True):
    """A reading outside what its property and unit allow: flagged (stored with a quality
    annotation) or refused, as the device's mapping says; listed on the device page."""

    __tablename__ = "ingest_implausible"

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=128, index=True)
    field: str = Field(max_length=128)
    time: datetime
    value: str = Field(max_length=1024)
    reason: str = Field(max_length=500)
    refused: bool = False


class UnmappedField(SQLModel, table=True):
    """A decoded field of a registered device that its mapping leaves out, with the last
    value sent: kept until the field is mapped, so the operator sees every such field, also
    when the device's later messages do not carry it."""

    __tablename__ = "ingest_unmapped_field"

    device_id: str = Field(primary_key=True, max_length=128)
    field: str = Field(primary_key=True, max_length=128)
    time: datetime
    value: str = Field(max_length=1024)
