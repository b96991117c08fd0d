"""Reading Server-Sent Events in tests, over httpx (async or sync) or any source of lines."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TERMINAL = {"succeeded", "failed", "cancelled"}


@dataclass(frozen=True)
class Sse:
    """One received event, with the wall-clock time it arrived."""

    id: int
    event: str
    data: dict[str, Any]
    received_at: datetime

    @property
    def terminal(self) -> bool:
        return self.event == "sourcefile" and self.data["status"] in TERMINAL

    @property
    def latency_s(self) -> float:
        """Seconds from the event's `at` (set when it was written) to its arrival."""
        return (self.received_at - datetime.fromisoformat(self.data["at"])).total_seconds()

    def row(self) -> tuple[int, str, dict[str, Any]]:
        return (self.id, self.event, self.data)


@dataclass
class SseParser:
    """Turns the lines of a `text/event-stream` into events; counts comment lines."""

    comments: int = 0
    _fields: dict[str, str] = field(default_factory=dict)

    def feed(self, line: str) -> Sse | None:
        if line.startswith(":"):
            self.comments += 1
            return None
        if line:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            old = self._fields.get(name)
            self._fields[name] = value if old is None or name != "data" else f"{old}\n{value}"
            return None
        if not self._fields:
            return None
        fields, self._fields = self._fields, {}
        return Sse(
            id=int(fields["id"]),
            event=fields.get("event", "message"),
            data=json.loads(fields["data"]),
            received_at=datetime.now(UTC),
        )


Until = Callable[[list[Sse]], bool]
# How long a test waits for a stream to reach `until` or its end, keep-alive comments or not.
STREAM_DEADLINE_S = 30.0


async def read_async(
    lines: AsyncIterator[str], until: Until | None = None, within_s: float = STREAM_DEADLINE_S
) -> list[Sse]:
    """Events until `until(events)` holds, or to the end of the stream; fails after `within_s`
    (a stream that should end but does not is a failure, not a hang)."""
    parser, events = SseParser(), []
    try:
        async with asyncio.timeout(within_s):
            async for line in lines:
                event = parser.feed(line)
                if event is not None:
                    events.append(event)
                    if until is not None and until(events):
                        break
    except TimeoutError:
        raise AssertionError(_stalled(within_s, until, events)) from None
    return events


def read_sync(
    lines: Iterator[str], until: Until | None = None, within_s: float = STREAM_DEADLINE_S
) -> list[Sse]:
    """Blocking `read_async`. The deadline is checked at each line, so a stream that sends
    nothing at all is ended by the HTTP client's read timeout instead."""
    deadline = time.monotonic() + within_s
    parser, events = SseParser(), []
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            events.append(event)
            if until is not None and until(events):
                break
        if time.monotonic() > deadline:
            raise AssertionError(_stalled(within_s, until, events))
    return events


def _stalled(within_s: float, until: Until | None, events: list[Sse]) -> str:
    what = "the awaited events did not come" if until is not None else "the stream did not end"
    last = events[-1].row() if events else None
    return f"{what} within {within_s} s: {len(events)} events, the last {last}"


def count(n: int) -> Until:
    return lambda events: len(events) >= n
