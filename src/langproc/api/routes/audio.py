"""Spoken audio: whole texts and example sentences, seekable for `<audio>`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from langproc.api.deps import Owner, RuntimeDep, Session
from langproc.api.ranges import blob_response
from langproc.api.schemas import ErrorResponse, error_responses
from langproc.errors import NotFound
from langproc.pipeline import services

router = APIRouter(tags=["media"])

_BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
_AUDIO = {"audio/mpeg": _BINARY, "audio/wav": _BINARY}

AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "MP3 (OpenAI speech) or WAV (espeak-ng).", "content": _AUDIO},
    206: {"description": "The byte range asked for with `Range`.", "content": _AUDIO},
    304: {"description": "Not modified: `If-None-Match` names this audio's ETag."},
    416: {
        "model": ErrorResponse,
        "description": "The range is outside the audio; `Content-Range: bytes */size`.",
    },
    **error_responses(401, (404, "No such audio, or another user's."), 422, 503),
}


@router.get(
    "/api/audio/{audio_id}",
    operation_id="get_audio",
    summary="Audio of a whole text or of one example sentence",
    response_class=Response,
    responses=AUDIO_RESPONSES,
)
async def get_audio(
    audio_id: uuid.UUID,
    session: Session,
    owner: Owner,
    runtime: RuntimeDep,
    range_header: Annotated[
        str | None,
        Header(alias="Range", description="One byte range, e.g. `bytes=0-1023` or `bytes=-500`."),
    ] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    audio = await services.get_owned_audio(session, audio_id, owner)
    try:
        data = await runtime.blobs.get(audio.blob_key)
    except FileNotFoundError as exc:
        raise NotFound(f"the audio {audio_id} is no longer stored") from exc
    return blob_response(
        data,
        media_type=audio.content_type,
        etag=audio.blob_key,
        range_header=range_header,
        if_range=if_range,
        if_none_match=if_none_match,
    )
