"""Media: the page image of a sourcefile and spoken audio, cacheable and seekable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from langproc.api.deps import Owner, RuntimeDep, Session
from langproc.api.openapi import error_responses
from langproc.api.ranges import blob_response, range_responses
from langproc.db.models import SourcefileKind
from langproc.errors import NotFound
from langproc.runtime import Runtime
from langproc.sourcefiles import services

router = APIRouter(tags=["media"])

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
# Speech is stored as MP3; audio spoken by espeak-ng before it was compressed is WAV.
AUDIO_TYPES = ("audio/mpeg", "audio/wav")


@dataclass(frozen=True)
class Conditions:
    """The request headers that make a media answer partial or empty."""

    range_header: str | None
    if_range: str | None
    if_none_match: str | None


def conditions(
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
) -> Conditions:
    return Conditions(range_header, if_range, if_none_match)


Conditional = Annotated[Conditions, Depends(conditions)]


async def _serve(
    runtime: Runtime, key: str, media_type: str, when: Conditions, what: str
) -> Response:
    try:
        return await blob_response(
            runtime.blobs.path(key),
            media_type=media_type,
            etag=key,
            range_header=when.range_header,
            if_range=when.if_range,
            if_none_match=when.if_none_match,
        )
    except FileNotFoundError as exc:
        raise NotFound(f"{what} is no longer stored") from exc


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
    sourcefile_id: uuid.UUID, session: Session, owner: Owner, runtime: RuntimeDep, when: Conditional
) -> Response:
    sourcefile = await services.get_owned(session, sourcefile_id, owner)
    if sourcefile.kind != SourcefileKind.IMAGE or not sourcefile.blob_key:
        raise NotFound(f"sourcefile {sourcefile_id} is a text: it has no image")
    media_type = sourcefile.content_type or "application/octet-stream"
    what = f"the image of sourcefile {sourcefile_id}"
    return await _serve(runtime, sourcefile.blob_key, media_type, when, what)


@router.get(
    "/api/audio/{audio_id}",
    operation_id="get_audio",
    summary="Audio of a whole text or of one example sentence",
    response_class=Response,
    responses={
        **range_responses(AUDIO_TYPES, "audio: MP3 (older espeak-ng audio: WAV)"),
        **error_responses(401, (404, "No such audio, or another user's."), 422, 503),
    },
)
async def get_audio(
    audio_id: uuid.UUID, session: Session, owner: Owner, runtime: RuntimeDep, when: Conditional
) -> Response:
    audio = await services.get_owned_audio(session, audio_id, owner)
    return await _serve(runtime, audio.blob_key, audio.content_type, when, f"the audio {audio_id}")
