"""Serving immutable blobs over HTTP: strong ETags, `If-None-Match`, `If-Range` and single
byte ranges (RFC 9110 §13-14), shared by the image and audio routes.

The bytes are streamed from the file in blocks after the route has returned (and its database
session is closed): a range reads only its bytes, and a 304 does not open the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import Response
from starlette.responses import StreamingResponse

from langproc.api.openapi import ErrorResponse

IMMUTABLE = "private, max-age=31536000, immutable"

_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)
# Positions beyond any blob we store; longer digit strings mean the same and skip int()'s limit.
_HUGE = 10**18
_BLOCK = 64 * 1024


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start` to `end` of a representation, both inclusive."""

    start: int
    end: int

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(Exception):
    """The range asks for bytes the representation does not have."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a `Range` header asks for, clamped to `size`; None means send everything.

    A header we do not serve (another unit, several ranges, bad syntax) is ignored, as
    RFC 9110 allows; a well-formed range that misses the representation raises
    `RangeNotSatisfiable`.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = _position(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _position(first)
    end = _position(last) if last else _HUGE
    if end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, min(end, size - 1))


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 18 else _HUGE


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",")]


async def blob_response(
    path: Path,
    *,
    media_type: str,
    etag: str,
    range_header: str | None = None,
    if_range: str | None = None,
    if_none_match: str | None = None,
    cache_control: str = IMMUTABLE,
) -> Response:
    """200, 206, 304 or 416 for the file at `path`, whose content never changes under `etag`
    (unquoted). A missing file raises `FileNotFoundError`."""
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Cache-Control": cache_control, "Accept-Ranges": "bytes"}
    if if_none_match is not None and (
        if_none_match.strip() == "*" or quoted in _tags(if_none_match)
    ):
        return Response(status_code=304, headers=headers)
    # If-Range uses the strong comparison: a weak or different validator means "send it all".
    if if_range is not None and if_range.strip() != quoted:
        range_header = None
    size = (await anyio.Path(path).stat()).st_size
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        detail = {"detail": f"the range {range_header!r} is outside the {size} bytes of this file"}
        return Response(
            json.dumps(detail),
            status_code=416,
            media_type="application/json",
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
    status = 200
    if byte_range is None:
        byte_range = ByteRange(0, size - 1)
    else:
        status = 206
        headers["Content-Range"] = byte_range.content_range(size)
    length = byte_range.end + 1 - byte_range.start
    headers["Content-Length"] = str(length)
    return StreamingResponse(
        _read(path, byte_range.start, length),
        status_code=status,
        media_type=media_type,
        headers=headers,
    )


async def _read(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        await file.seek(start)
        while length > 0:
            block = await file.read(min(_BLOCK, length))
            if not block:
                return
            length -= len(block)
            yield block


def range_responses(media_types: Iterable[str], what: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for 200, 206, 304 and 416 of a route answered by `blob_response`."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    content = {media_type: binary for media_type in media_types}
    caching = {
        "ETag": {"description": "The SHA-256 of the bytes, quoted.", "schema": {"type": "string"}},
        "Cache-Control": {
            "description": f"`{IMMUTABLE}`: the bytes never change.",
            "schema": {"type": "string"},
        },
    }
    outside = "the range 'bytes=900-' is outside the 512 bytes of this file"
    return {
        200: {"description": f"The {what}.", "content": content, "headers": caching},
        206: {
            "description": f"The byte range of the {what} asked for with `Range`.",
            "content": content,
            "headers": {
                **caching,
                "Content-Range": {"description": "`bytes a-b/size`", "schema": {"type": "string"}},
            },
        },
        304: {"description": f"Not modified: `If-None-Match` names the {what}'s ETag."},
        416: {
            "model": ErrorResponse,
            "description": f"The range is outside the {what}; `Content-Range: bytes */size`.",
            "content": {"application/json": {"example": {"detail": outside}}},
        },
    }
