"""Event streams (docs/api.md): replay the stored events after a position, then follow new ones.

One `Tail` per process follows the event table for every open stream: after each hub wake-up
(LISTEN/NOTIFY on Postgres, in-process on SQLite), and every `POLL_S` in case a wake-up was
lost, it reads the events committed since its last read into a shared `Window` of the newest
events. A stream that has caught up takes its events from the window, so a new event costs
one query per process, not one per stream; a stream that is behind the window (replaying, or a
slow client) reads the table itself, a page at a time in short sessions. No stream holds a
connection while it waits, nor more than a page of events.

This relies on event-writing transactions committing in id order (see `publish`): once id N is
visible, every event below N is committed or never will be.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Select, func, select

from langproc.db.models import TERMINAL_SOURCEFILE_STATUSES, Event, Sourcefile
from langproc.db.session import SessionFactory, autocommit_scope
from langproc.events.hub import Hub

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

PAGE_SIZE = 100
# The newest events the tail keeps for streams that have caught up (shared by all of them).
WINDOW_SIZE = 500
# How often the tail looks for new events without a wake-up (a dead LISTEN connection, or
# another process writing to the same SQLite file).
POLL_S = 1.5
# The longest wait between reads while the database does not answer.
MAX_BACKOFF_S = 10.0
# How often an idle stream reads the table itself (should the tail stall) and checks that its
# sourcefile still exists (a deleted one has no events left to end its stream).
RECHECK_S = 30.0

_open_streams = 0


def open_streams() -> int:
    """The number of event streams open in this process (for the metrics gauge)."""
    return _open_streams


@dataclass(frozen=True)
class StoredEvent:
    id: int
    sourcefile_id: uuid.UUID
    owner: str
    type: str
    payload: dict[str, Any]

    @property
    def terminal(self) -> bool:
        """A `sourcefile` event announcing that processing ended."""
        return (
            self.type == "sourcefile" and self.payload.get("status") in TERMINAL_SOURCEFILE_STATUSES
        )


@dataclass(frozen=True)
class Window:
    """Every committed event with `after < id <= upto`."""

    after: int
    upto: int
    events: tuple[StoredEvent, ...] = ()

    def covers(self, position: int) -> bool:
        """True when the window holds every event after `position` (and there are some)."""
        return self.after <= position < self.upto

    def since(self, position: int) -> tuple[StoredEvent, ...]:
        return self.events[bisect.bisect_right(self.events, position, key=lambda e: e.id) :]

    def extended(self, new: tuple[StoredEvent, ...]) -> Window:
        """The window with `new` (all committed events after `upto`), the oldest dropped."""
        events = self.events + new
        dropped, kept = events[:-WINDOW_SIZE], events[-WINDOW_SIZE:]
        return Window(dropped[-1].id if dropped else self.after, kept[-1].id, kept)


def _events() -> Select[tuple[int, uuid.UUID, str, str, dict[str, Any]]]:
    return select(Event.id, Event.sourcefile_id, Event.owner, Event.type, Event.payload)


class Tail:
    """The newest events of the process's database, read once for all open streams."""

    def __init__(self, sessions: SessionFactory, hub: Hub, poll_s: float = POLL_S) -> None:
        self.window = Window(0, 0)
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
        """Keep the tail followed for as long as the caller needs it."""
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

    async def wait_past(self, position: int, within_s: float) -> bool:
        """Wait until an event after `position` is committed; False after `within_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self.window.upto <= position:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self._advanced.wait(remaining):
                return False
        return True

    async def _watch(self) -> None:
        # Start at the newest event: whoever is behind it reads the table itself.
        self.window = Window(0, 0)
        started = False
        wait_s = self._poll_s
        while True:
            self._dirty.clear()
            more = False
            try:
                if started:
                    more = await self._read()
                else:
                    await self._start()
                    started = True
                wait_s = self._poll_s
            except Exception as exc:  # asyncpg raises some unwrapped while connecting
                # Back off while the database is away; a wake-up (the listener reconnecting)
                # still cuts the wait short.
                wait_s = min(wait_s * 2, MAX_BACKOFF_S)
                log.warning("events.tail_read_failed", extra={"error": f"{type(exc).__name__}"})
            if more:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._dirty.wait()

    async def _start(self) -> None:
        async with autocommit_scope(self._sessions) as session:
            newest = int(await session.scalar(select(func.max(Event.id))) or 0)
        self.window = Window(newest, newest)
        self._advanced.notify()

    async def _read(self) -> bool:
        """Read what was committed since the last read; True when a full page came back."""
        upto = self.window.upto
        async with autocommit_scope(self._sessions) as session:
            rows = await session.execute(
                _events().where(Event.id > upto).order_by(Event.id).limit(PAGE_SIZE)
            )
            events = tuple(StoredEvent(*row) for row in rows)
        if events:
            self.window = self.window.extended(events)
            self._advanced.notify()
        return len(events) == PAGE_SIZE


class EventFeed:
    """Streams of one owner's events, all following the same tail."""

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
        # Every wanted event up to `position` has been sent (or was before `after`).
        position = after
        ended = False
        if sourcefile_id is not None:
            status = await self._retrying(self._status, owner, sourcefile_id)
            if status is None:
                return
            # If nothing is stored after `after`, the client has seen the newest status.
            ended = status in TERMINAL_SOURCEFILE_STATUSES
        while True:
            page, checked = await self._next_page(owner, sourcefile_id, position)
            for event in page:
                yield event
                ended = event.terminal
            position = checked
            if len(page) == PAGE_SIZE:
                continue
            if sourcefile_id is not None and ended:
                return
            if not await self.tail.wait_past(position, RECHECK_S) and sourcefile_id is not None:
                if await self._retrying(self._status, owner, sourcefile_id) is None:
                    return

    async def _next_page(
        self, owner: str, sourcefile_id: uuid.UUID | None, position: int
    ) -> tuple[list[StoredEvent], int]:
        """Up to a page of wanted events after `position`, and the id they were looked for up
        to: from the tail's window when it covers `position`, else from the table."""
        window = self.tail.window
        if window.covers(position):
            page = []
            for event in window.since(position):
                if event.owner == owner and sourcefile_id in (None, event.sourcefile_id):
                    page.append(event)
                    if len(page) == PAGE_SIZE:
                        return page, event.id
            return page, window.upto
        page = await self._retrying(self._page, owner, sourcefile_id, position)
        if len(page) == PAGE_SIZE:
            return page, page[-1].id
        # A short page holds everything committed up to the window read before it.
        return page, max([position, window.upto, *(e.id for e in page[-1:])])

    async def _page(
        self, owner: str, sourcefile_id: uuid.UUID | None, position: int
    ) -> list[StoredEvent]:
        query = _events().where(Event.owner == owner, Event.id > position)
        if sourcefile_id is not None:
            query = query.where(Event.sourcefile_id == sourcefile_id)
        async with autocommit_scope(self._sessions) as session:
            rows = await session.execute(query.order_by(Event.id).limit(PAGE_SIZE))
            return [StoredEvent(*row) for row in rows]

    async def _status(self, owner: str, sourcefile_id: uuid.UUID) -> str | None:
        async with autocommit_scope(self._sessions) as session:
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
            except Exception as exc:  # asyncpg raises some unwrapped while connecting
                log.warning("events.stream_read_failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(POLL_S)
