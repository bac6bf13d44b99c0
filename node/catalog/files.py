"""Files uploaded as distributions: stored once under their SHA-256, streamed, size-limited.

A file is written to a temporary name while its digest is computed and moved to
`DIR/data/files/<sha256>` only when complete, so a broken upload never leaves a file that
looks whole; the same content uploaded twice is stored once. Files are never deleted by the node (a
retracted dataset may be published again, and an upload in flight may share a digest).
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from allmende.node.file_modes import open_private, private_directory

CHUNK = 256 * 1024
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class FileTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    byte_size: int
    path: Path


EXTENSIONS = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
    "geojson": "application/geo+json",
    "jsonld": "application/ld+json",
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "nt": "application/n-triples",
    "xml": "application/xml",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
    "txt": "text/plain",
    "parquet": "application/vnd.apache.parquet",
}


def guess_media_type(declared: str | None, file_name: str | None) -> str | None:
    """The declared media type, or one from the file name when the client sent none useful."""
    if declared and declared not in ("application/octet-stream", "multipart/form-data"):
        return declared.split(";")[0].strip().lower()
    if file_name and "." in file_name:
        extension = file_name.rsplit(".", 1)[1].lower()
        return EXTENSIONS.get(extension) or mimetypes.types_map.get("." + extension)
    return None


def safe_file_name(name: str | None) -> str | None:
    """A file name fit for a header and a catalog: no path, no control or quote characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r'[\x00-\x1f\x7f"<>|*?:;]+', "_", base).strip(" .")[:200]
    return cleaned or None


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 8187)."""
    from urllib.parse import quote

    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def files_directory(node_directory: Path) -> Path:
    return node_directory / "data" / "files"


def file_path(directory: Path, sha256: str) -> Path:
    if not SHA256_HEX.match(sha256):
        raise ValueError("not a SHA-256 digest")
    return directory / sha256


async def store_stream(chunks: AsyncIterator[bytes], directory: Path, limit: int) -> StoredFile:
    """Write the stream to the content-addressed store; refuse it beyond `limit` bytes."""
    temporary = directory / "incoming"
    await asyncio.to_thread(private_directory, directory)
    await asyncio.to_thread(private_directory, temporary)
    partial = temporary / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    # owner-only: a restricted dataset's file must not be readable by other accounts
    handle = os.fdopen(await asyncio.to_thread(open_private, partial), "wb")
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise FileTooLarge(limit)
            digest.update(chunk)
            await asyncio.to_thread(handle.write, chunk)
        await asyncio.to_thread(handle.flush)
        await asyncio.to_thread(os.fsync, handle.fileno())
    except BaseException:
        handle.close()
        await asyncio.to_thread(partial.unlink, missing_ok=True)
        raise
    handle.close()
    final = directory / digest.hexdigest()
    await asyncio.to_thread(os.replace, partial, final)
    return StoredFile(digest.hexdigest(), size, final)
