"""Event stream routes (docs/api.md): Server-Sent Events of one sourcefile or all of them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from langproc.api.deps import Session, StreamOwner, get_runtime
from langproc.api.openapi import ValidationErrorResponse, error_responses
from langproc.db.models import Event
from langproc.events.stream import EventFeed
from langproc.sourcefiles import services

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])

# Read per request, so tests can shorten them on this module.
KEEPALIVE_S = 15.0
# A client that takes no bytes for this long is dropped; it reconnects with Last-Event-ID.
SEND_TIMEOUT_S = 60.0
MAX_EVENT_ID = 2**63 - 1

EXAMPLE = (
    "id: 1042\n"
    "event: step\n"
    'data: {"sourcefile_id": "5b0c…", "step": "translate", "status": "succeeded", '
    '"attempt": 1, "error": null, "next_attempt_at": null, "at": "2026-11-28T12:00:00.123Z"}\n'
    "\n"
    "id: 1043\n"
    "event: sourcefile\n"
    'data: {"sourcefile_id": "5b0c…", "status": "succeeded", "at": "2026-11-28T12:00:00.125Z"}\n'
)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A Server-Sent Events stream: `id`, `event` (`step` or `sourcefile`) and "
        "JSON `data` per event, and a comment line every 15 s.",
        "content": {"text/event-stream": {"schema": {"type": "string"}, "example": EXAMPLE}},
    },
    **error_responses(401, 503),
    422: {
        "model": ValidationErrorResponse,
        "description": "A malformed `Last-Event-ID` or `last_event_id`: a non-negative integer.",
        "content": {
            "application/json": {
                "example": {
                    "detail": [
                        {
                            "type": "int_parsing",
                            "loc": ["header", "Last-Event-ID"],
                            "msg": "Input should be a valid integer, unable to parse string "
                            "as an integer",
                            "input": "abc",
                        }
                    ]
                }
            }
        },
    },
}

LastEventIdHeader = Annotated[
    int | None,
    Header(
        alias="Last-Event-ID",
        ge=0,
        le=MAX_EVENT_ID,
        description="Resume after this event id (sent by EventSource when it reconnects).",
    ),
]
LastEventIdQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_EVENT_ID,
        description="Resume after this event id; the Last-Event-ID header wins over it.",
    ),
]


class EventStreamResponse(EventSourceResponse):
    """An SSE response that drops a client that stopped reading with a log line, not a trace."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            log.warning("events.client_stalled", extra={"path": scope.get("path")})


def get_feed(request: Request) -> EventFeed:
    """The process's event feed: every stream shares its tail."""
    return get_runtime(request).events


@router.get(
    "/api/sourcefiles/{sourcefile_id}/events",
    operation_id="stream_sourcefile_events",
    summary="Follow one sourcefile's events live (Server-Sent Events)",
    description="Replays the events after `Last-Event-ID`, then sends new ones as they are "
    "committed; ends after the terminal `sourcefile` event.",
    response_class=EventStreamResponse,
    responses={**RESPONSES, **error_responses(404)},
)
async def stream_sourcefile_events(
    sourcefile_id: uuid.UUID,
    request: Request,
    session: Session,
    owner: StreamOwner,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventStreamResponse:
    await services.get_owned(session, sourcefile_id, owner)
    after = _after(last_event_id_header, last_event_id)
    return _respond(get_feed(request), owner, sourcefile_id, after)


@router.get(
    "/api/events",
    operation_id="stream_events",
    summary="Follow the events of all your sourcefiles live (Server-Sent Events)",
    description="Replays the events after `Last-Event-ID`, then sends new ones as they are "
    "committed; never ends on its own.",
    response_class=EventStreamResponse,
    responses=RESPONSES,
)
async def stream_events(
    request: Request,
    session: Session,
    owner: StreamOwner,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventStreamResponse:
    # Answer 503 now, as every route does, rather than open a stream on a database that is
    # down or not migrated.
    await session.execute(select(Event.id).where(Event.owner == owner).limit(1))
    return _respond(get_feed(request), owner, None, _after(last_event_id_header, last_event_id))


def _after(header: int | None, query: int | None) -> int:
    # EventSource reconnects to the same URL with a newer header: the header is the fresher.
    if header is not None:
        return header
    return query if query is not None else 0


def _respond(
    feed: EventFeed, owner: str, sourcefile_id: uuid.UUID | None, after: int
) -> EventStreamResponse:
    return EventStreamResponse(
        _sse(feed, owner, sourcefile_id, after), ping=KEEPALIVE_S, send_timeout=SEND_TIMEOUT_S
    )


async def _sse(
    feed: EventFeed, owner: str, sourcefile_id: uuid.UUID | None, after: int
) -> AsyncIterator[ServerSentEvent]:
    async with aclosing(feed.stream(owner, sourcefile_id, after)) as events:
        async for event in events:
            yield ServerSentEvent(
                data=json.dumps(event.payload, ensure_ascii=False),
                event=event.type,
                id=str(event.id),
            )
