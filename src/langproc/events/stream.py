"""Event streams (SPEC §5): replay the stored events after a position, then follow new ones.

Every stream reads the event table itself, a page at a time and in short sessions, so a slow
client holds one page at most and no connection while it waits. What wakes the waiting streams
is a `Tail`, one per process: it re-reads the newest committed event id after each hub wake-up
(LISTEN/NOTIFY on Postgres, in-process on SQLite) and every `POLL_S`, so a lost notification
only delays delivery, and idle streams cost the database one small query per process, not one
per stream. Event-writing transactions commit in id order (see `publish`), which is what makes
"everything up to the newest id is visible" hold for the reader.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from langproc.db.engine import SessionFactory
from langproc.db.models import Event, Sourcefile, SourcefileStatus
from langproc.events.hub import Hub

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

PAGE_SIZE = 100
# How often the tail looks for new events without a wake-up (a dead LISTEN connection, or
# another process writing to the same SQLite file).
POLL_S = 1.5
# How often an idle stream reads anyway (a stalled tail) and checks its sourcefile still exists.
RECHECK_S = 30.0
TERMINAL_STATUSES = frozenset(
    {SourcefileStatus.SUCCEEDED, SourcefileStatus.FAILED, SourcefileStatus.CANCELLED}
)

_open_streams = 0


def open_streams() -> int:
    """The number of event streams open in this process (for the metrics gauge)."""
    return _open_streams


@dataclass(frozen=True)
class StoredEvent:
    id: int
    type: str
    payload: dict[str, Any]

    @property
    def terminal(self) -> bool:
        """A `sourcefile` event announcing that processing ended."""
        return self.type == "sourcefile" and self.payload.get("status") in TERMINAL_STATUSES


class Tail:
    """The newest committed event id, watched by one task while any stream is open."""

    def __init__(self, sessions: SessionFactory, hub: Hub, poll_s: float = POLL_S) -> None:
        self.latest = 0
        self._sessions = sessions
        self._poll_s = poll_s
        self._dirty = asyncio.Event()
        self._advanced = Hub()
        self._users = 0
        self._task: asyncio.Task[None] | None = None
        # Level-triggered: a notify that lands while the tail is reading is not lost.
        hub.subscribe(self._dirty.set)

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Keep the tail watched for as long as the caller needs it."""
        self._users += 1
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="events.tail")
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0 and self._task is not None:
                task, self._task = self._task, None
                task.cancel()
                await asyncio.wait([task])

    async def wait_past(self, mark: int, within_s: float) -> bool:
        """Wait until an event newer than `mark` is committed; False after `within_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self.latest <= mark:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self._advanced.wait(remaining):
                return False
        return True

    async def _watch(self) -> None:
        while True:
            self._dirty.clear()
            try:
                async with self._sessions() as session:
                    newest = await session.scalar(select(func.max(Event.id)))
            except SQLAlchemyError as exc:
                log.warning("events.tail_read_failed", extra={"error": repr(exc)})
            else:
                if newest is not None and newest > self.latest:
                    self.latest = int(newest)
                    self._advanced.notify()
            try:
                async with asyncio.timeout(self._poll_s):
                    await self._dirty.wait()
            except TimeoutError:
                pass


class EventFeed:
    """Streams of one owner's events, all served from the same tail."""

    def __init__(self, sessions: SessionFactory, tail: Tail) -> None:
        self._sessions = sessions
        self.tail = tail

    async def stream(
        self, owner: str, sourcefile_id: uuid.UUID | None, after: int
    ) -> AsyncGenerator[StoredEvent, None]:
        """The owner's events with id > `after` (of one sourcefile, or all), in id order.

        A sourcefile's stream ends after its terminal `sourcefile` event once nothing newer is
        stored (a retried sourcefile goes on), at once when the client already has that event,
        and when the sourcefile is deleted. The stream of all events never ends.
        """
        global _open_streams
        _open_streams += 1
        try:
            async with self.tail.watching():
                async for event in self._follow(owner, sourcefile_id, after):
                    yield event
        finally:
            _open_streams -= 1

    async def _follow(
        self, owner: str, sourcefile_id: uuid.UUID | None, after: int
    ) -> AsyncIterator[StoredEvent]:
        position = after
        ended = False
        if sourcefile_id is not None:
            status = await self._retrying(self._status, owner, sourcefile_id)
            if status is None:
                return
            # If nothing is stored after `after`, the client has seen the newest status.
            ended = status in TERMINAL_STATUSES
        while True:
            mark = self.tail.latest
            page = await self._retrying(self._page, owner, sourcefile_id, position)
            for event in page:
                yield event
                position = event.id
                ended = event.terminal
            if len(page) == PAGE_SIZE:
                continue
            if sourcefile_id is not None and ended:
                return
            if not await self.tail.wait_past(mark, RECHECK_S) and sourcefile_id is not None:
                if await self._retrying(self._status, owner, sourcefile_id) is None:
                    return

    async def _page(
        self, owner: str, sourcefile_id: uuid.UUID | None, position: int
    ) -> list[StoredEvent]:
        query = select(Event.id, Event.type, Event.payload).where(
            Event.owner == owner, Event.id > position
        )
        if sourcefile_id is not None:
            query = query.where(Event.sourcefile_id == sourcefile_id)
        async with self._sessions() as session:
            rows = await session.execute(query.order_by(Event.id).limit(PAGE_SIZE))
            return [StoredEvent(row.id, row.type, row.payload) for row in rows]

    async def _status(self, owner: str, sourcefile_id: uuid.UUID) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(Sourcefile.status).where(
                    Sourcefile.id == sourcefile_id, Sourcefile.owner == owner
                )
            )

    async def _retrying(
        self, read: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a read until the database answers: an outage delays a stream, never ends it."""
        while True:
            try:
                return await read(*args, **kwargs)
            except SQLAlchemyError as exc:
                log.warning("events.stream_read_failed", extra={"error": repr(exc)})
            await asyncio.sleep(POLL_S)
