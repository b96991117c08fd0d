"""Sourcefile routes: create, list, read, retry, cancel, delete (docs/api.md)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from langproc.api.answers import sourcefile_list, sourcefile_read, sourcefile_url
from langproc.api.deps import Owner, ReadSession, RuntimeDep, Session
from langproc.api.limits import too_large_message
from langproc.api.openapi import error_responses
from langproc.api.schemas import (
    LANGUAGE_ENUM,
    LEVEL_DESCRIPTION,
    LEVEL_ENUM,
    RetryRequest,
    SourcefileCreate,
    SourcefileList,
    SourcefileRead,
)
from langproc.db.models import Sourcefile, SourcefileKind, SourcefileStatus
from langproc.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from langproc.runtime import Runtime
from langproc.sourcefiles import reads, services
from langproc.sourcefiles.intake import check_language, check_level, check_text, check_upload

router = APIRouter(prefix="/api/sourcefiles", tags=["sourcefiles"])

TITLE_MAX_CHARS = 500  # the width of `sourcefile.title`

ERRORS = error_responses(401, 404, 422, 503)
LOCATION = {
    "Location": {"description": "The sourcefile's URL.", "schema": {"type": "string"}},
}

CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": SourcefileCreate.model_json_schema(),
                "example": {"text": "Ήταν μια φορά ένας βασιλιάς.", "language": "el"},
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "language"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A JPEG, PNG, WebP or HEIC photo, or a UTF-8 .txt file.",
                        },
                        "language": {
                            "type": "string",
                            "description": "ISO 639-1 code of the studied language.",
                            "examples": ["el"],
                            **LANGUAGE_ENUM,
                        },
                        "title": {"type": "string", "description": "Default: the file's name."},
                        "native_language": {
                            "type": "string",
                            "description": "Default: en.",
                            "examples": ["en"],
                            **LANGUAGE_ENUM,
                        },
                        "level": {
                            "type": "string",
                            "description": LEVEL_DESCRIPTION,
                            "examples": ["B1"],
                            **LEVEL_ENUM,
                        },
                    },
                }
            },
        },
    }
}


async def _read(session: Session, sourcefile: Sourcefile) -> SourcefileRead:
    return sourcefile_read(await reads.detail(session, sourcefile.id, sourcefile.owner))


@router.post(
    "",
    status_code=202,
    operation_id="create_sourcefile",
    summary="Upload an image or a text and start processing it",
    response_description="Accepted: processing runs in the background.",
    responses={
        202: {"headers": LOCATION},
        **error_responses(400, 401, 413, 415, 422, 503),
    },
    openapi_extra=CREATE_BODY,
)
async def create_sourcefile(
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: Session,
    owner: Owner,
    runtime: RuntimeDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=255,
            description="Repeating a request with the same key returns the first sourcefile.",
        ),
    ] = None,
) -> SourcefileRead:
    if idempotency_key is not None:
        # A repeat is answered before its body is read: nothing of it is stored.
        # Looked up by a reader: the request's write transaction (on SQLite, the write lock
        # that the blob registry's own transaction needs) starts only after the body is stored.
        async with runtime.readers() as reader:
            seen = await services.by_idempotency_key(reader, owner, idempotency_key)
        if seen is not None:
            first = await services.get_owned(session, seen.id, owner)
            response.headers["Location"] = sourcefile_url(first.id)
            return await _read(session, first)
    new = dataclasses.replace(
        await _from_body(request, runtime, owner), idempotency_key=idempotency_key
    )
    sourcefile = await services.create_sourcefile(session, runtime.graph, new)
    background.add_task(_wake, runtime)
    response.headers["Location"] = sourcefile_url(sourcefile.id)
    if idempotency_key is not None:  # perhaps a concurrent repeat's sourcefile: read it
        return await _read(session, sourcefile)
    return sourcefile_read(reads.created(sourcefile, runtime.graph.names))


async def _from_body(request: Request, runtime: Runtime, owner: str) -> services.NewSourcefile:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return await _from_json(request, runtime, owner)
    if content_type.startswith("multipart/form-data"):
        return await _from_form(request, runtime, owner)
    raise UnsupportedMediaType(
        'send a JSON body {"text": ..., "language": ...} or multipart/form-data with a file'
    )


async def _from_json(request: Request, runtime: Runtime, owner: str) -> services.NewSourcefile:
    try:
        body = SourcefileCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        # Without `input`: a body that is not UTF-8 cannot be echoed back as JSON.
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(errors) from exc
    settings = runtime.settings
    return services.NewSourcefile(
        owner=owner,
        language=check_language(body.language),
        native_language=check_language(
            body.native_language or settings.default_native_language, "native_language"
        ),
        kind=SourcefileKind.TEXT,
        title=_title(body.title),
        text=check_text(body.text, settings),
        content_type="text/plain",
        level=check_level(body.level),
    )


async def _from_form(request: Request, runtime: Runtime, owner: str) -> services.NewSourcefile:
    settings = runtime.settings
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("the form has no `file`: attach an image or a .txt file as `file`")
        fields = {k: v for k, v in form.items() if isinstance(v, str) and v.strip()}
        # The body limit leaves room for the form around the file; the file itself gets none.
        if upload.size is not None and upload.size > settings.max_upload_bytes:
            raise PayloadTooLarge(too_large_message(settings.max_upload_bytes))
        data, filename = await upload.read(), upload.filename
    if "language" not in fields:
        raise InvalidInput("`language` is required: the ISO 639-1 code of the studied language")
    language = check_language(fields["language"])
    native = check_language(
        fields.get("native_language", settings.default_native_language), "native_language"
    )
    level = check_level(fields.get("level"))
    intake = await check_upload(data, settings, runtime.run_blocking)
    blob_key = await runtime.blobs.put(intake.data) if intake.data is not None else None
    return services.NewSourcefile(
        owner=owner,
        language=language,
        native_language=native,
        kind=intake.kind,
        title=_title(fields.get("title"), filename),
        text=intake.text,
        blob_key=blob_key,
        content_type=intake.content_type,
        level=level,
    )


# Background tasks are async so that they run on the event loop: a plain function would run in
# a worker thread, and the hub and the executor's tasks are asyncio objects of this loop.
async def _wake(runtime: Runtime) -> None:
    runtime.hub.notify()


async def _interrupt(runtime: Runtime, sourcefile_id: uuid.UUID) -> None:
    runtime.executor.interrupt(sourcefile_id)
    runtime.hub.notify()


def _title(title: str | None, filename: str | None = None) -> str | None:
    """The title as given (refused if it cannot be stored), or else the file's name, made fit."""
    if title is None:
        fitted = (filename or "").replace("\x00", "")[:TITLE_MAX_CHARS]
        return fitted or None
    if "\x00" in title:
        raise InvalidInput("the title contains a NUL character (U+0000): remove it")
    if len(title) > TITLE_MAX_CHARS:
        raise InvalidInput(
            f"the title has {len(title):,} characters; the limit is {TITLE_MAX_CHARS}: shorten it"
        )
    return title


@router.get(
    "",
    operation_id="list_sourcefiles",
    summary="List the caller's sourcefiles, newest first",
    responses=error_responses(401, (422, "A bad `status`, `limit` or `cursor`."), 503),
)
async def list_sourcefiles(
    session: ReadSession,
    owner: Owner,
    status: Annotated[
        SourcefileStatus | None, Query(description="Only sourcefiles in this state.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
    ] = None,
) -> SourcefileList:
    page = await reads.list_sourcefiles(session, owner, status=status, limit=limit, cursor=cursor)
    return sourcefile_list(page)


@router.get(
    "/{sourcefile_id}",
    operation_id="get_sourcefile",
    summary="Everything about one sourcefile: status, steps and results so far",
    responses=ERRORS,
)
async def get_sourcefile(
    sourcefile_id: uuid.UUID, session: ReadSession, owner: Owner
) -> SourcefileRead:
    return sourcefile_read(await reads.detail(session, sourcefile_id, owner))


@router.post(
    "/{sourcefile_id}/retry",
    status_code=202,
    operation_id="retry_sourcefile",
    summary="Re-run steps (named ones with their downstream, or every failed one)",
    responses=error_responses(
        400, 401, 404, (409, "A named step is running, or nothing failed to re-run."), 422, 503
    ),
)
async def retry_sourcefile(
    sourcefile_id: uuid.UUID,
    session: Session,
    owner: Owner,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    body: RetryRequest | None = None,
) -> SourcefileRead:
    steps = body.steps if body is not None else None
    sourcefile = await services.retry_sourcefile(
        session, runtime.graph, sourcefile_id, owner, steps
    )
    background.add_task(_wake, runtime)
    return await _read(session, sourcefile)


@router.post(
    "/{sourcefile_id}/cancel",
    status_code=202,
    operation_id="cancel_sourcefile",
    summary="Stop processing; results so far are kept",
    responses=ERRORS,
)
async def cancel_sourcefile(
    sourcefile_id: uuid.UUID,
    session: Session,
    owner: Owner,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> SourcefileRead:
    sourcefile = await services.cancel_sourcefile(session, runtime.graph, sourcefile_id, owner)
    background.add_task(_interrupt, runtime, sourcefile_id)
    return await _read(session, sourcefile)


@router.delete(
    "/{sourcefile_id}",
    status_code=204,
    operation_id="delete_sourcefile",
    summary="Cancel and delete a sourcefile with its results and files",
    responses=ERRORS,
)
async def delete_sourcefile(
    sourcefile_id: uuid.UUID,
    session: Session,
    owner: Owner,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> Response:
    await services.delete_sourcefile(session, sourcefile_id, owner)
    background.add_task(_interrupt, runtime, sourcefile_id)
    return Response(status_code=204)
