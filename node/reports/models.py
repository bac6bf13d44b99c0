"""Control-plane tables of the Mängelmelder: categories, client apps, reports, their updates,
the reporters (kept apart, so that they are easy to keep home and to erase) and boundaries."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

OFFEN, IN_BEARBEITUNG, ERLEDIGT = "offen", "in_bearbeitung", "erledigt"
STATUSES = (OFFEN, IN_BEARBEITUNG, ERLEDIGT)


class Category(SQLModel, table=True):
    """An Open311 service: what residents may report, and who in the village handles it."""

    __tablename__ = "report_category"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)  # German, as residents read it
    name_en: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    group: str = Field(default="", max_length=200)
    keywords: str = Field(default="", max_length=500)
    department: str = Field(default="", max_length=200)  # who handles it (never a person's data)
    contact: str = Field(default="", max_length=300)  # a function mailbox or phone of the office
    attributes: str = Field(default="[]")  # JSON list of Open311 attribute definitions
    link: str = Field(default="", max_length=500)  # e.g. the street-light registry
    active: bool = True
    created: datetime


class Client(SQLModel, table=True):
    """An app allowed to file reports (Open311 `api_key`); only the key's hash is kept."""

    __tablename__ = "report_client"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    key_hash: str = Field(max_length=64, index=True)
    created: datetime
    revoked: bool = False


class Report(SQLModel, table=True):
    """One report (Open311 service request), here or forwarded from/to a peer.

    Holds nothing about the reporter: `description` is the public text with e-mail
    addresses and phone numbers masked; the reporter lives in `Reporter`, on the origin only."""

    __tablename__ = "report_request"

    id: str = Field(primary_key=True, max_length=32)
    token: str = Field(max_length=32, index=True)
    origin: str = Field(max_length=500)  # node id where it was reported
    responsible: str = Field(max_length=500, index=True)  # node id that handles it
    service_code: str = Field(max_length=64, index=True)
    service_name: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    attributes: str = Field(default="{}")
    lat: float | None = None
    long: float | None = None
    address: str = Field(default="", max_length=500)
    media_url: str = Field(default="", max_length=1000)
    status: str = Field(max_length=16, index=True)
    status_notes: str = Field(default="", max_length=2000)
    routing: str = Field(default="here", max_length=16)  # here, forwarded, received, outside
    acknowledged: datetime | None = None
    requested: datetime = Field(index=True)
    updated: datetime
    closed: datetime | None = None
    released: bool = True  # False while it waits in the moderation queue
    supporters: int = 0


class Reporter(SQLModel, table=True):
    """Who reported: never leaves this node, never published, erased after the retention."""

    __tablename__ = "report_reporter"

    report_id: str = Field(primary_key=True, max_length=32)
    email: str = Field(default="", max_length=320)
    first_name: str = Field(default="", max_length=200)
    last_name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=64)
    client_id: str = Field(default="", max_length=32)
    # the resident an app filed it for (node.apps' sign-in name): their app reads it back
    resident: str = Field(default="", max_length=300, index=True)


class Update(SQLModel, table=True):
    """A status change or note of a report (the `servicerequestupdates` extension)."""

    __tablename__ = "report_update"

    id: str = Field(primary_key=True, max_length=40)
    report_id: str = Field(max_length=32, index=True)
    status: str = Field(max_length=16)
    description: str = Field(default="", max_length=2000)
    author: str = Field(max_length=500)  # node id that made it
    time: datetime = Field(index=True)


class Boundary(SQLModel, table=True):
    """A municipality's area: this node's own, and each peer's as announced."""

    __tablename__ = "report_boundary"

    node: str = Field(primary_key=True, max_length=500)
    ags: str = Field(default="", max_length=12)
    name: str = Field(max_length=200)
    geometry: str  # GeoJSON (Multi)Polygon in WGS 84
    sample: bool = False  # sample data of the demo, not an official boundary
    source: str = Field(default="", max_length=500)
    updated: datetime


class Setting(SQLModel, table=True):
    """The operator's choices for the Mängelmelder (moderation, retention, mail, ...)."""

    __tablename__ = "report_setting"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=2000)


class Mail(SQLModel, table=True):
    """A status change mailed to its reporter (or why it could not be): each at most once."""

    __tablename__ = "report_mail"

    update_id: str = Field(primary_key=True, max_length=40)
    sent: datetime
    outcome: str = Field(max_length=300)


class Support(SQLModel, table=True):
    """One person's "me too" on a report, counted once: made here (`person`, a keyed hash of
    the app and the person's id in it, which never leaves this node), or made at the village
    of origin of a report forwarded here (`person` empty, `id` as that village sent it)."""

    __tablename__ = "report_support"

    id: str = Field(primary_key=True, max_length=40)
    report_id: str = Field(max_length=32, index=True)
    person: str = Field(default="", max_length=64, index=True)
    origin: str = Field(max_length=500)  # node id where the person supported it
    time: datetime
