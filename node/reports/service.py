"""The Mängelmelder's rules: categories, client keys, filing, listing and updating reports.

Everything here works on a SQL session and plain values; node.reports.open311_routes, .admin
and .filing speak HTTP and the Open311 format around it. Reports carry no reporter data: that sits in `Reporter`, on the
node where the report was made, and nothing here puts it into an answer or an event.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from allmende.node.messages import say
from allmende.node.reports.models import (
    ERLEDIGT,
    IN_BEARBEITUNG,
    OFFEN,
    STATUSES,
    Category,
    Client,
    Report,
    Reporter,
    Setting,
    Support,
    Update,
)
from allmende.node.reports.open311 import Open311Error, w3c
from allmende.node.reports.privacy import mask

MAX_DESCRIPTION = 4000
MAX_NOTE = 2000
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
DEFAULTS: dict[str, Any] = {
    "moderation": False,  # new reports wait in the console's queue until released
    "retention_days": 365,  # reporter data erased this long after a report is closed
    "rate_per_hour": 10,  # reports one client address may file per hour
    "duplicate_radius": 250,  # metres around an open report of the same category
    "border_buffer": 0,  # metres: a point this close to a border asks the reporter
    "notify": False,  # mail reporters who left an address on each status change
    "smtp_host": "",
    "smtp_port": 25,
    "mail_from": "",
}
STREETLIGHT_LINK = "/actuation/segments"  # a category tied to the street-light registry
STATUS_DE = {OFFEN: "offen", IN_BEARBEITUNG: "in Bearbeitung", ERLEDIGT: "erledigt"}
STATUS_EN = {OFFEN: "open", IN_BEARBEITUNG: "in progress", ERLEDIGT: "done"}


class Invalid(ValueError):
    """Operator input that cannot be stored; the message names the field."""


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


# -- settings -------------------------------------------------------------------------------


def settings(session: Session) -> dict[str, Any]:
    values = dict(DEFAULTS)
    for row in session.exec(select(Setting)):
        if row.name in values:
            values[row.name] = json.loads(row.value)
    return values


def change_settings(session: Session, body: Mapping[str, Any]) -> dict[str, Any]:
    for name, value in body.items():
        if name not in DEFAULTS:
            raise Invalid(
                say(
                    "%(name)s: unknown setting; known are %(known)s",
                    name=name,
                    known=", ".join(DEFAULTS),
                )
            )
        expected = type(DEFAULTS[name])
        if expected is bool and not isinstance(value, bool):
            raise Invalid(say("%(name)s: must be true or false", name=name))
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise Invalid(say("%(name)s: must be a whole number", name=name))
        if expected is int and not 0 <= value <= 100_000:
            raise Invalid(say("%(name)s: must be between 0 and 100000", name=name))
        if expected is str and (not isinstance(value, str) or len(value) > 300):
            raise Invalid(say("%(name)s: text of at most 300 characters", name=name))
    for name, value in body.items():
        session.merge(Setting(name=name, value=json.dumps(value)))
    return {**settings(session), **body}


# -- categories (Open311 services) ----------------------------------------------------------


def _attribute(raw: Any, index: int) -> dict[str, Any]:
    where = f"attributes[{index}]"
    if not isinstance(raw, Mapping):
        raise Invalid(say("%(where)s: must be an object", where=where))
    code = raw.get("code")
    if not isinstance(code, str) or not code or set(code.lower()) - CODE_CHARS or len(code) > 64:
        raise Invalid(say("%(where)s.code: letters, digits, - and _ (at most 64)", where=where))
    datatype = raw.get("datatype", "string")
    if datatype not in DATATYPES:
        raise Invalid(
            say("%(where)s.datatype: one of %(known)s", where=where, known=", ".join(DATATYPES))
        )
    description = raw.get("description", "")
    if not isinstance(description, str) or not description or len(description) > 500:
        raise Invalid(
            say("%(where)s.description: the question residents read (at most 500)", where=where)
        )
    values = raw.get("values", [])
    if datatype.endswith("valuelist"):
        if not isinstance(values, list) or not values:
            raise Invalid(
                say(
                    "%(where)s.values: a list of {key, name} for %(datatype)s",
                    where=where,
                    datatype=datatype,
                )
            )
        for value in values:
            if not isinstance(value, Mapping) or not all(
                isinstance(value.get(k), str) and value.get(k) for k in ("key", "name")
            ):
                raise Invalid(say("%(where)s.values: each needs key and name", where=where))
    return {
        "variable": bool(raw.get("variable", True)),
        "code": code,
        "datatype": datatype,
        "required": bool(raw.get("required", False)),
        "datatype_description": str(raw.get("datatype_description", ""))[:300],
        "order": int(raw.get("order", index + 1)),
        "description": description,
        "values": [{"key": v["key"], "name": v["name"]} for v in values]
        if datatype.endswith("valuelist")
        else [],
    }


CATEGORY_TEXTS = {
    "name_en": 200,
    "description": 2000,
    "group": 200,
    "keywords": 500,
    "department": 200,
    "contact": 300,
    "link": 500,
}
"""A category's optional texts and their lengths at most (the API's and the form's too)."""
CATEGORY_SCHEMA: dict[str, dict[str, Any]] = {
    "code": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    **{field: {"type": "string", "maxLength": limit} for field, limit in CATEGORY_TEXTS.items()},
}


def checked_category(body: Any) -> Category:
    if not isinstance(body, Mapping):
        raise Invalid(say("body: a JSON object with code and name"))
    code = body.get("code")
    if not isinstance(code, str) or not code or set(code) - CODE_CHARS or len(code) > 64:
        raise Invalid(say("code: lower-case letters, digits, - and _ (at most 64), e.g. muell"))
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Invalid(say("name: the category as residents read it, e.g. Müll (at most 200)"))
    texts: dict[str, str] = {}
    for field, limit in CATEGORY_TEXTS.items():
        value = body.get(field, "")
        if not isinstance(value, str) or len(value) > limit:
            raise Invalid(
                say("%(field)s: text of at most %(limit)s characters", field=field, limit=limit)
            )
        texts[field] = value.strip()
    raw_attributes = body.get("attributes", [])
    if not isinstance(raw_attributes, list) or len(raw_attributes) > 30:
        raise Invalid(say("attributes: a list of at most 30 attribute definitions"))
    attributes = [_attribute(a, i) for i, a in enumerate(raw_attributes)]
    if len({a["code"] for a in attributes}) != len(attributes):
        raise Invalid(say("attributes: each code once"))
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise Invalid(say("active: true or false"))
    return Category(
        code=code,
        name=name.strip(),
        attributes=json.dumps(attributes, ensure_ascii=False),
        active=active,
        created=now(),
        **texts,
    )


def save_category(session: Session, category: Category) -> bool:
    """Insert or replace; True when it is new."""
    old = session.get(Category, category.code)
    if old is not None:
        category.created = old.created
    session.merge(category)
    return old is None


def retire_category(session: Session, code: str) -> bool:
    """Offer the category no more (its reports keep it); False when there is none."""
    row = session.get(Category, code)
    if row is None:
        return False
    row.active = False
    session.add(row)
    return True


def categories(session: Session, *, active_only: bool = True) -> list[Category]:
    query = select(Category).order_by(col(Category.group), col(Category.name))
    if active_only:
        query = query.where(col(Category.active).is_(True))
    return list(session.exec(query))


def category_json(row: Category) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "name_en": row.name_en,
        "description": row.description,
        "group": row.group,
        "keywords": row.keywords,
        "department": row.department,
        "contact": row.contact,
        "link": row.link,
        "active": row.active,
        "attributes": json.loads(row.attributes),
    }


def service_json(row: Category, moderated: bool) -> dict[str, Any]:
    return {
        "service_code": row.code,
        "service_name": row.name,
        "description": row.description or row.name,
        "metadata": row.attributes != "[]",
        "type": "batch" if moderated else "realtime",
        "keywords": row.keywords,
        "group": row.group,
    }


def definition_json(row: Category) -> dict[str, Any]:
    return {"service_code": row.code, "attributes": json.loads(row.attributes)}


# -- client apps ----------------------------------------------------------------------------


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_client(session: Session, name: object) -> tuple[Client, str]:
    """A client app and its API key; the key is shown once and only its hash is kept."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Invalid(say("name: the app's name (at most 200 characters)"))
    key = secrets.token_urlsafe(24)
    row = Client(id=uuid.uuid4().hex[:16], name=name.strip(), key_hash=key_hash(key), created=now())
    session.add(row)
    return row, key


def client_for(session: Session, key: str | None) -> Client:
    if not key:
        raise Open311Error(403, "api_key is required to file a request")
    row = session.exec(select(Client).where(Client.key_hash == key_hash(key))).first()
    if row is None or row.revoked:
        raise Open311Error(403, "api_key is not valid")
    return row


def clients(session: Session) -> list[Client]:
    return list(session.exec(select(Client).order_by(col(Client.created))))


# -- reports --------------------------------------------------------------------------------


@dataclass
class Filing:
    """A checked request to file a report, before routing decides who handles it."""

    category: Category
    description: str
    lat: float | None
    long: float | None
    address: str
    media_url: str
    attributes: dict[str, Any]
    email: str
    first_name: str
    last_name: str
    phone: str


def _one(form: Mapping[str, Any], name: str, limit: int) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Open311Error(400, say("%(name)s must be text", name=name))
    if len(value) > limit:
        raise Open311Error(
            400, say("%(name)s is longer than %(limit)s characters", name=name, limit=limit)
        )
    return value.strip()


def _coordinate(text: str, name: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(
            400, say("%(name)s must be a number (WGS 84 degrees)", name=name)
        ) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(
            400,
            say("%(name)s must lie between %(low)s and %(high)s", name=name, low=low, high=high),
        )
    return value


def _attributes(session: Session, form: Any, category: Category) -> dict[str, Any]:
    from allmende.node.reports import lights

    definitions = {a["code"]: a for a in json.loads(category.attributes)}
    if lights.tied(category):  # the segment, checked against the registry below
        definitions.setdefault(
            lights.ATTRIBUTE,
            {"datatype": "singlevaluelist", "values": [], "required": False, "variable": True},
        )
    given: dict[str, Any] = {}
    keys = form.keys() if hasattr(form, "keys") else []
    for key in set(keys):
        if not key.startswith("attribute["):
            continue
        code = key[len("attribute[") :].split("]", 1)[0]
        if code not in definitions:
            raise Open311Error(
                400,
                say(
                    "attribute[%(code)s] is not defined for %(category)s",
                    code=code,
                    category=category.code,
                ),
            )
        definition = definitions[code]
        values = form.getall(key) if hasattr(form, "getall") else [form[key]]
        values = [v for v in values if isinstance(v, str)]
        allowed = {v["key"] for v in definition["values"]}
        if allowed and any(v not in allowed for v in values):
            raise Open311Error(
                400,
                say(
                    "attribute[%(code)s] must be one of %(allowed)s",
                    code=code,
                    allowed=", ".join(sorted(allowed)),
                ),
            )
        if any(len(v) > 500 for v in values):
            raise Open311Error(
                400, say("attribute[%(code)s] is longer than 500 characters", code=code)
            )
        given[code] = values if definition["datatype"] == "multivaluelist" else values[0]
    if lights.tied(category) and lights.ATTRIBUTE in given:
        segment = given[lights.ATTRIBUTE]
        if segment == lights.NONE or not segment:  # "none of these / not sure"
            del given[lights.ATTRIBUTE]
        elif not lights.known(session, segment):
            raise Open311Error(
                400,
                say("attribute[segment] '%(segment)s' is no street light here", segment=segment),
            )
    for code, definition in definitions.items():
        if definition["required"] and definition["variable"] and not given.get(code):
            raise Open311Error(
                400,
                say(
                    "attribute[%(code)s] is required: %(question)s",
                    code=code,
                    question=definition["description"],
                ),
            )
    return given


def checked_filing(session: Session, form: Any, ags: str) -> Filing:
    jurisdiction = _one(form, "jurisdiction_id", 64)
    if jurisdiction and jurisdiction != ags:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction!r} is not served here ({ags})")
    code = _one(form, "service_code", 64)
    if not code:
        raise Open311Error(400, say("service_code is required"))
    category = session.get(Category, code)
    if category is None or not category.active:
        raise Open311Error(404, say("service_code '%(code)s' is not offered here", code=code))
    lat_text, long_text = _one(form, "lat", 40), _one(form, "long", 40)
    address = _one(form, "address_string", 500)
    if bool(lat_text) != bool(long_text):
        raise Open311Error(400, say("lat and long go together"))
    lat = _coordinate(lat_text, "lat", -90, 90) if lat_text else None
    long = _coordinate(long_text, "long", -180, 180) if long_text else None
    if lat is None and not address and not _one(form, "address_id", 200):
        raise Open311Error(400, say("a location is required: lat and long, or address_string"))
    description = _one(form, "description", MAX_DESCRIPTION)
    media_url = _one(form, "media_url", 1000)
    if media_url and not media_url.startswith(("https://", "http://")):
        raise Open311Error(400, say("media_url must be an http(s) URL"))
    email = _one(form, "email", 320)
    if email and ("@" not in email or any(ch.isspace() for ch in email)):
        raise Open311Error(400, say("email is not an e-mail address"))
    return Filing(
        category=category,
        description=description,
        lat=lat,
        long=long,
        address=address,
        media_url=media_url,
        attributes=_attributes(session, form, category),
        email=email,
        first_name=_one(form, "first_name", 200),
        last_name=_one(form, "last_name", 200),
        phone=_one(form, "phone", 64),
    )


def new_report(
    filing: Filing,
    *,
    origin: str,
    responsible: str,
    routing: str,
    released: bool,
    client: str,
    resident: str = "",
) -> tuple[Report, Reporter]:
    moment = now()
    report = Report(
        id=uuid.uuid4().hex[:12],
        token=secrets.token_hex(8),
        origin=origin,
        responsible=responsible,
        service_code=filing.category.code,
        service_name=filing.category.name,
        description=mask(filing.description),
        attributes=json.dumps(filing.attributes, ensure_ascii=False),
        lat=filing.lat,
        long=filing.long,
        address=mask(filing.address),
        media_url=filing.media_url,
        status=OFFEN,
        routing=routing,
        requested=moment,
        updated=moment,
        released=released,
    )
    reporter = Reporter(
        report_id=report.id,
        email=filing.email,
        first_name=filing.first_name,
        last_name=filing.last_name,
        phone=filing.phone,
        client_id=client,
        resident=resident,
    )
    return report, reporter


def open311_status(report: Report) -> str:
    return "closed" if report.status == ERLEDIGT else "open"


def request_json(report: Report, agency: str = "") -> dict[str, Any]:
    """A report as GeoReport v2 shows it: never who reported it."""
    return {
        "service_request_id": report.id,
        "status": open311_status(report),
        "status_notes": report.status_notes or None,
        "service_name": report.service_name,
        "service_code": report.service_code,
        "description": report.description or None,
        "agency_responsible": agency or None,
        "service_notice": None,
        "requested_datetime": w3c(aware(report.requested)),
        "updated_datetime": w3c(aware(report.updated)),
        "expected_datetime": None,
        "address": report.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": report.lat,
        "long": report.long,
        "media_url": report.media_url or None,
        "detailed_status": report.status,
        "supporters": report.supporters,
    }


@dataclass
class Query:
    ids: list[str]
    codes: list[str]
    start: datetime | None
    end: datetime | None
    statuses: list[str]
    limit: int = 1000
    resident: str = ""  # an app's resident: their own reports, held ones too


def find_reports(session: Session, query: Query) -> list[Report]:
    """Released reports by the spec's filters (or, for `resident`, theirs, released or
    not); ids override the rest; by default the last 90 days (or the 90 days before `end`),
    at most `limit`."""
    if query.resident:
        select_ = select(Report).where(
            Reporter.report_id == Report.id, Reporter.resident == query.resident
        )
    else:
        select_ = select(Report).where(col(Report.released).is_(True))
    if query.ids:
        select_ = select_.where(col(Report.id).in_(query.ids))
    else:
        end = query.end or now()
        start = query.start or end - timedelta(days=90)
        select_ = select_.where(col(Report.requested) >= start, col(Report.requested) <= end)
        if query.codes:
            select_ = select_.where(col(Report.service_code).in_(query.codes))
        wanted = set(query.statuses)
        if wanted == {"open"}:
            select_ = select_.where(col(Report.status) != ERLEDIGT)
        elif wanted == {"closed"}:
            select_ = select_.where(col(Report.status) == ERLEDIGT)
    select_ = select_.order_by(col(Report.requested).desc()).limit(query.limit)
    return list(session.exec(select_))


def updates_between(
    session: Session, start: datetime, end: datetime
) -> list[tuple[Update, Report]]:
    rows = session.exec(
        select(Update, Report)
        .where(Update.report_id == Report.id)
        .where(col(Report.released).is_(True))
        .where(col(Update.time) >= start, col(Update.time) <= end)
        .order_by(col(Update.time))
        .limit(1000)
    )
    return list(rows)


def update_json(update: Update) -> dict[str, Any]:
    return {
        "update_id": update.id,
        "service_request_id": update.report_id,
        "status": "CLOSED" if update.status == ERLEDIGT else "OPEN",
        "updated_datetime": w3c(aware(update.time)),
        "description": update.description or None,
        "media_url": None,
        "external_status_code": update.status,
    }


def apply_update(
    session: Session,
    report: Report,
    status: str,
    note: str,
    author: str,
    moment: datetime,
    *,
    update_id: str | None = None,
) -> Update:
    """Record a status change or note on a report (here, or as a peer reported it)."""
    if status not in STATUSES:
        raise Invalid(say("status: one of %(known)s", known=", ".join(STATUSES)))
    if len(note) > MAX_NOTE:
        raise Invalid(say("note: at most %(limit)s characters", limit=MAX_NOTE))
    update = Update(
        id=update_id or uuid.uuid4().hex,
        report_id=report.id,
        status=status,
        description=mask(note),
        author=author,
        time=moment,
    )
    report.status = status
    if note:
        report.status_notes = update.description
    report.updated = moment
    report.closed = moment if status == ERLEDIGT else None
    session.add(update)
    session.add(report)
    return update


def statuses_of(text: str) -> list[str]:
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    for status in wanted:
        if status not in ("open", "closed"):
            raise Open311Error(400, "status must be open or closed (comma-separated)")
    return wanted


def listed(text: str, name: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if len(values) > 100:
        raise Open311Error(400, f"{name}: at most 100 values")
    return values


def by_ids(session: Session, ids: Sequence[str]) -> dict[str, Report]:
    return {r.id: r for r in session.exec(select(Report).where(col(Report.id).in_(list(ids))))}


def anonymise(session: Session, moment: datetime, retention_days: int) -> int:
    """Erase the reporters of reports closed more than `retention_days` ago (Art. 5(1)(e)
    GDPR: kept no longer than needed to tell them the outcome), and who supported them;
    the reports and their supporter counts stay."""
    cutoff = moment - timedelta(days=retention_days)
    done = list(
        session.exec(
            select(Reporter)
            .where(Reporter.report_id == Report.id)
            .where(col(Report.closed).is_not(None))
            .where(col(Report.closed) < cutoff)
        )
    )
    for reporter in done:
        session.delete(reporter)
    supporters = session.exec(
        select(Support)
        .where(Support.report_id == Report.id, Support.person != "")
        .where(col(Report.closed).is_not(None))
        .where(col(Report.closed) < cutoff)
    )
    for support in supporters:  # who supported: the keyed hash goes too, the count stays
        support.person = ""
        session.add(support)
    return len(done)


EARTH_RADIUS = 6_371_000.0


def metres(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine), good to a metre at village scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(math.sqrt(h))


def nearby(
    session: Session, lat: float, long: float, radius: float, codes: Sequence[str] = ()
) -> list[tuple[float, Report]]:
    """Open, released reports within `radius` metres, nearest first (duplicate suggestions)."""
    dlat = radius / 111_320.0
    dlong = radius / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    query = (
        select(Report)
        .where(col(Report.released).is_(True), Report.status != ERLEDIGT)
        .where(col(Report.lat).between(lat - dlat, lat + dlat))
        .where(col(Report.long).between(long - dlong, long + dlong))
    )
    if codes:
        query = query.where(col(Report.service_code).in_(list(codes)))
    found = []
    for row in session.exec(query.limit(500)):
        assert row.lat is not None and row.long is not None
        distance = metres(lat, long, row.lat, row.long)
        if distance <= radius:
            found.append((distance, row))
    return sorted(found, key=lambda pair: pair[0])[:5]


def per_category(
    reports: Sequence[tuple[str, datetime, datetime | None]],
) -> list[dict[str, Any]]:
    """Reports (category, reported, closed) per category with how many are done and the
    median time to fix (hours from report to closing), for the portal's chart; most
    reported first."""
    groups: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for name, requested, closed in reports:
        groups.setdefault(name, []).append((requested, closed))
    rows = []
    for name, members in groups.items():
        hours = sorted(
            (closed - requested).total_seconds() / 3600
            for requested, closed in members
            if closed is not None
        )
        median = None
        if hours:
            middle = len(hours) // 2
            median = hours[middle] if len(hours) % 2 else (hours[middle - 1] + hours[middle]) / 2
        rows.append(
            {"name": name, "count": len(members), "done": len(hours), "median_hours": median}
        )
    return sorted(rows, key=lambda row: (-row["count"], row["name"]))
