"""Photos sent with a report are re-encoded: GPS and camera data gone, scaled down; image
bombs, files that are no image, damaged and oversized files are refused and nothing kept."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import aiohttp
from PIL import Image
from sqlmodel import Session, select

from allmende.node.reports.models import Report
from tests.reports.conftest import INSIDE, Served

GPS_IFD = 0x8825


def phone_photo() -> bytes:
    """A 3000 x 2000 JPEG with the camera's make and a GPS position in its EXIF."""
    image = Image.new("RGB", (3000, 2000), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "Kamerahersteller"
    exif[0x0110] = "Modell-4711"
    exif[GPS_IFD] = {1: "N", 2: (54.0, 38.0, 48.0), 3: "E", 4: (8.0, 57.0, 56.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # it really has GPS
    return data


def bomb() -> bytes:
    """A tiny PNG whose header claims 100 000 x 100 000 pixels."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    png = bytearray(out.getvalue())
    at = png.index(b"IHDR")
    png[at + 4 : at + 12] = struct.pack(">II", 100_000, 100_000)
    png[at + 17 : at + 21] = struct.pack(">I", zlib.crc32(bytes(png[at : at + 17])))
    return bytes(png)


async def post(
    session: aiohttp.ClientSession, served: Served, photo: bytes
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    for name, value in (
        ("api_key", served.api_key),
        ("service_code", "vandalismus"),
        ("lat", str(INSIDE[0])),
        ("long", str(INSIDE[1])),
        ("description", "Graffiti am Buswartehäuschen"),
    ):
        form.add_field(name, value)
    form.add_field("media", photo, filename="IMG_0001.jpg", content_type="image/jpeg")
    return await session.post(f"{served.open311}/requests.json", data=form)


async def test_photo_is_reencoded_without_metadata(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        async with await post(session, served, phone_photo()) as r:
            assert r.status == 201, await r.text()
            request_id = (await r.json())[0]["service_request_id"]
        async with session.get(f"{served.open311}/requests/{request_id}.json") as r:
            media_url = (await r.json())[0]["media_url"]
        async with session.get(media_url) as r:
            assert r.status == 200 and r.content_type == "image/jpeg"
            kept = await r.read()
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG" and max(image.size) == 2048
    assert not image.getexif() and not image.getexif().get_ifd(GPS_IFD)
    assert b"Kamerahersteller" not in kept and b"Modell-4711" not in kept
    on_disk = b"".join(p.read_bytes() for p in Path(served.node.settings.directory).rglob("*.jpg"))
    assert on_disk == kept


async def test_bad_photos_are_refused_and_nothing_kept(served: Served) -> None:
    photo = phone_photo()
    cases = {
        "bomb": (bomb(), "megapixels"),
        "no image": (b"%PDF-1.7 not a photo at all" * 10, "not a JPEG"),
        "damaged": (photo[: len(photo) // 3], "damaged"),
        "oversized": (photo + b"\0" * (10 * 1024 * 1024), "larger than"),
    }
    async with aiohttp.ClientSession() as session:
        for label, (data, named) in cases.items():
            async with await post(session, served, data) as r:
                errors = await r.json()
                assert r.status == 400, (label, errors)
                assert named in errors[0]["description"], (label, errors)
    with Session(served.node.engine) as session_:
        assert list(session_.exec(select(Report))) == []
    assert list(Path(served.node.settings.directory).rglob("*.jpg")) == []


async def test_the_form_without_a_photo_files_the_report(served: Served) -> None:
    """A browser sends the empty file field when no photo was chosen: no photo, no error."""
    form = aiohttp.FormData()
    for name, value in (
        ("service_code", "vandalismus"),
        ("lat", str(INSIDE[0])),
        ("long", str(INSIDE[1])),
    ):
        form.add_field(name, value)
    form.add_field("media", b"", filename="", content_type="application/octet-stream")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{served.url}/melden", data=form, allow_redirects=False) as r,
    ):
        assert r.status == 303, await r.text()
    with Session(served.node.engine) as db:
        [row] = db.exec(select(Report)).all()
    assert row.media_url == ""
