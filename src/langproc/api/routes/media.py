"""Uploaded media: the page image of a sourcefile, cacheable and seekable."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from langproc.api.deps import Owner, RuntimeDep, Session
from langproc.api.ranges import blob_response
from langproc.api.schemas import ErrorResponse, error_responses
from langproc.db.models import SourcefileKind
from langproc.errors import NotFound
from langproc.pipeline import services

router = APIRouter(tags=["media"])

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
_BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
_CACHING = {
    "ETag": {"description": "The image's SHA-256, quoted.", "schema": {"type": "string"}},
    "Cache-Control": {
        "description": "`private, max-age=31536000, immutable`: the bytes never change.",
        "schema": {"type": "string"},
    },
}

_OUTSIDE = "the range 'bytes=900-' is outside the 512 bytes of this file"

IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The uploaded image, in the format it was uploaded in.",
        "content": dict.fromkeys(IMAGE_TYPES, _BINARY),
        "headers": _CACHING,
    },
    206: {
        "description": "The byte range asked for with `Range`.",
        "content": dict.fromkeys(IMAGE_TYPES, _BINARY),
        "headers": {
            **_CACHING,
            "Content-Range": {"description": "`bytes a-b/size`.", "schema": {"type": "string"}},
        },
    },
    304: {"description": "Not modified: `If-None-Match` names this image's ETag."},
    416: {
        "model": ErrorResponse,
        "description": "The range is outside the image; `Content-Range: bytes */size`.",
        "content": {"application/json": {"example": {"detail": _OUTSIDE}}},
    },
    **error_responses(401, (404, "No such sourcefile, another user's, or a text one."), 422, 503),
}


@router.get(
    "/api/sourcefiles/{sourcefile_id}/image",
    operation_id="get_sourcefile_image",
    summary="The uploaded page image of an image sourcefile",
    response_class=Response,
    responses=IMAGE_RESPONSES,
)
async def get_sourcefile_image(
    sourcefile_id: uuid.UUID,
    session: Session,
    owner: Owner,
    runtime: RuntimeDep,
    range_header: Annotated[
        str | None,
        Header(alias="Range", description="One byte range, e.g. `bytes=0-1023` or `bytes=-500`."),
    ] = None,
    if_range: Annotated[
        str | None,
        Header(alias="If-Range", description="Serve the range only if the ETag still matches."),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(alias="If-None-Match", description="Cached ETags: a match answers 304."),
    ] = None,
) -> Response:
    sourcefile = await services.get_owned(session, sourcefile_id, owner)
    if sourcefile.kind != SourcefileKind.IMAGE or not sourcefile.blob_key:
        raise NotFound(f"sourcefile {sourcefile_id} is a text: it has no image")
    try:
        data = await runtime.blobs.get(sourcefile.blob_key)
    except FileNotFoundError as exc:
        raise NotFound(f"the image of sourcefile {sourcefile_id} is no longer stored") from exc
    return blob_response(
        data,
        media_type=sourcefile.content_type or "application/octet-stream",
        etag=sourcefile.blob_key,
        range_header=range_header,
        if_range=if_range,
        if_none_match=if_none_match,
    )
