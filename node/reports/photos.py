"""Photos of reports: checked and re-encoded before anything keeps them.

A phone photo carries the place it was taken, the device's make and serial and the time in
its EXIF; a crafted file can claim billions of pixels (an image bomb) or not be an image at
all. So the upload is read within a byte limit, its header is checked for format and pixel
count before any pixel is decoded, it is turned upright as the camera says, scaled down,
and written anew as a JPEG without any metadata: nothing of the original file is kept.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel camera; more is refused before decoding
MAX_SIDE = 2048  # what is kept, as FixMyStreet does
FORMATS = ("JPEG", "PNG", "WEBP")


class BadPhoto(ValueError):
    """A photo that is not taken; the message says why, for the reporter."""


def reencode(data: bytes) -> bytes:
    """The photo as a fresh JPEG of at most MAX_SIDE pixels a side, without metadata."""
    if len(data) > MAX_BYTES:
        raise BadPhoto(f"the photo is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise BadPhoto(f"the photo has more than {MAX_PIXELS // 1_000_000} megapixels")
            image.load()
            upright = ImageOps.exif_transpose(image)
    except BadPhoto:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadPhoto(f"the photo has more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except UnidentifiedImageError:
        raise BadPhoto("the file is not a JPEG, PNG or WebP photo we can read") from None
    except (OSError, ValueError, SyntaxError):  # truncated or corrupt image data
        raise BadPhoto("the photo is damaged or incomplete") from None
    if upright is None:
        upright = image
    picture = upright.convert("RGB")
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85, optimize=True)  # no exif= given: none is written
    return out.getvalue()


def store(directory: Path, report_id: str, jpeg: bytes) -> Path:
    folder = directory / "reports" / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report_id}.jpg"
    path.write_bytes(jpeg)
    return path


def path_of(directory: Path, report_id: str) -> Path | None:
    if not report_id.isalnum():
        return None
    path = directory / "reports" / "photos" / f"{report_id}.jpg"
    return path if path.is_file() else None
