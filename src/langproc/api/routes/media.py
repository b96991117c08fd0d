"""Uploaded media: the page image of a sourcefile, cacheable and seekable."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response

from langproc.api.deps import Owner, RuntimeDep, Session
from langproc.api.ranges import blob_response, range_responses
from langproc.api.schemas import error_responses
from langproc.db.models import SourcefileKind
from langproc.errors import NotFound
from langproc.pipeline import services

router = APIRouter(tags=["media"])

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")


@router.get(
    "/api/sourcefiles/{sourcefile_id}/image",
    operation_id="get_sourcefile_image",
    summary="The uploaded page image of an image sourcefile",
    response_class=Response,
    responses={
        **range_responses(IMAGE_TYPES, "image, in the format it was uploaded in"),
        **error_responses(
            401, (404, "No such sourcefile, another user's, or a text one."), 422, 503
        ),
    },
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
