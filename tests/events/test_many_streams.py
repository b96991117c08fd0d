"""Many streams on one process: bounded memory per stream, slow clients held back by the socket
rather than buffered, and closed clients release what they held."""

from __future__ import annotations

import asyncio
import gc
import re
import socket
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import insert

from langproc.api.routes import events as events_routes
from langproc.db.base import utcnow
from langproc.db.models import Event
from langproc.db.session import session_scope
from langproc.events.publish import iso
from langproc.events.stream import open_streams
from langproc.runtime import Runtime
from tests.events.sse import Sse, SseParser, read_async
from tests.support.engine import submit, wait_for_status
from tests.support.served import Served
from tests.support.waiting import eventually

# Hundreds of connections and megabytes of events on a shared machine; the waits inside give
# up first.
pytestmark = pytest.mark.timeout(240)
STREAMS = 200
KIB = 1024


class RawStream:
    """An SSE connection on a bare socket: as little client-side memory as a client can hold."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.seen = b""

    async def read_until(self, pattern: re.Pattern[bytes]) -> None:
        """Read (and drop) bytes until `pattern` has been seen in the stream."""
        while not pattern.search(self.seen):
            chunk = await self.reader.read(64 * KIB)
            assert chunk, "the stream ended"
            self.seen = self.seen[-4 * KIB :] + chunk

    async def events(self) -> AsyncIterator[Sse]:
        """The events, decoding HTTP/1.1 chunked framing (every SSE message is one chunk)."""
        parser = SseParser()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                return
            chunk = (await self.reader.readexactly(size + 2))[:-2].decode()
            for line in chunk.split("\r\n"):
                event = parser.feed(line)
                if event is not None:
                    yield event

    def close(self) -> None:
        self.writer.close()


async def open_raw(port: int, path: str, receive_buffer: int | None = None) -> RawStream:
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return RawStream(reader, writer)


def finished(sourcefile_id: uuid.UUID) -> re.Pattern[bytes]:
    """The bytes of a sourcefile's `succeeded` event (JSON key order differs per database)."""
    sid = str(sourcefile_id).encode()
    return re.compile(
        rb"event: sourcefile\r\ndata: (?=[^\r]*" + sid + rb")(?=[^\r]*\"status\": \"succeeded\")"
    )


@contextmanager
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


@contextmanager
def counting_event_reads(runtime: Runtime) -> Iterator[list[str]]:
    """The SELECTs on the event table run while inside."""
    reads: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if statement.lstrip().startswith("SELECT") and "FROM event" in statement:
            reads.append(statement)

    sa_event.listen(runtime.db.sync_engine, "before_cursor_execute", record)
    try:
        yield reads
    finally:
        sa_event.remove(runtime.db.sync_engine, "before_cursor_execute", record)


async def insert_events(runtime: Runtime, count: int, pad: str) -> None:
    """`count` step events of the local user, `s0`, `s1`…, in one transaction."""
    sid = uuid.uuid4()
    rows = [
        {
            "sourcefile_id": sid,
            "owner": "local",
            "type": "step",
            "payload": {
                "sourcefile_id": str(sid),
                "step": f"s{i}",
                "at": iso(utcnow()),
                "pad": pad,
            },
            "created_at": utcnow(),
        }
        for i in range(count)
    ]
    async with session_scope(runtime.sessions) as session:
        await session.execute(insert(Event), rows)


def allocated() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_200_open_streams_stay_small_and_closing_releases_them(served: Served) -> None:
    runtime, before = served.runtime, open_streams()

    async def quiet() -> bool:
        return runtime.db.pool.checkedout() == 0

    # One stream stays open throughout, so the shared tail and first-use caches are part of
    # the baseline, and a pipeline runs once before measuring.
    keeper = await open_raw(served.port, "/api/events")
    [warmup] = await submit(runtime, owner="local")
    await keeper.read_until(finished(warmup))
    await eventually(quiet)
    with traced():
        baseline = allocated()
        opening = (open_raw(served.port, "/api/events") for _ in range(STREAMS))
        clients = list(await asyncio.gather(*opening))
        # 200 streams on a pool of 10 (+10 overflow): they hold no connection while waiting.
        await eventually(lambda: _at(before + 1 + STREAMS))
        # Every stream has replayed what was stored, so all of them have caught up.
        async with asyncio.timeout(30):
            await asyncio.gather(*(c.read_until(finished(warmup)) for c in clients))
        with counting_event_reads(runtime) as reads:
            [sid] = await submit(runtime, owner="local")
            assert (await wait_for_status(runtime, [sid], {"succeeded"}))[sid] == "succeeded"
            async with asyncio.timeout(30):
                await asyncio.gather(*(c.read_until(finished(sid)) for c in clients))
            await eventually(quiet)
        per_stream = (allocated() - baseline) / STREAMS

        for client in clients:
            client.close()
        del clients, client

        async def released() -> bool:
            return open_streams() == before + 1 and served.connections == 1

        await eventually(released)
        left = allocated() - baseline
        keeper.close()
    await eventually(lambda: _at(before))

    # A pipeline's dozen events reach 200 caught-up streams through the shared tail, not
    # through a query per stream and event (measured: 8 to 15 reads, against 2,400 or so).
    assert len(reads) < STREAMS / 4, f"{len(reads)} reads of the event table"
    # Measured: about 60 KiB per stream, client sockets included (mostly the four tasks
    # sse-starlette runs per response and the request's middleware and dependency state).
    assert per_stream < 128 * KIB, f"{per_stream / KIB:.1f} KiB per open stream"
    # What stays is grown hash tables (weak sets of tasks, selector maps), not the streams.
    held = per_stream * STREAMS
    assert left < held / 5, f"{left / KIB:.0f} of {held / KIB:.0f} KiB left after closing"


async def test_a_client_that_stops_reading_is_held_back_not_buffered(
    served: Served, http: httpx.AsyncClient
) -> None:
    runtime, before = served.runtime, open_streams()
    count, pad = 8000, "x" * 400  # 4 MB of events, far more than the socket buffers take
    slow = await open_raw(served.port, "/api/events", receive_buffer=4 * KIB)
    await eventually(lambda: _at(before + 1))
    with traced():
        baseline = allocated()
        await insert_events(runtime, count, pad)
        runtime.hub.notify()

        # A client that reads keeps up; meanwhile the slow one has taken what it could.
        def got_all(events: list[Sse]) -> bool:
            return len(events) == count

        async with http.stream("GET", "/api/events") as response:
            fast = await read_async(response.aiter_lines(), got_all, within_s=60)
        del fast
        growth = allocated() - baseline

    slow_received = []
    async with asyncio.timeout(60):
        async for event in slow.events():
            slow_received.append(event.data["step"])
            if len(slow_received) == count:
                break
    slow.close()
    await eventually(lambda: _at(before))

    # Measured: about 1.4 MiB (the tail's window, a page per stream, socket buffers); keeping
    # what the slow client has not taken would hold more than the 4 MB published.
    assert growth < 2.5 * 1024 * KIB, f"{growth / KIB:.0f} KiB held for a client that stopped"
    assert slow_received == [f"s{i}" for i in range(count)]


async def _at(level: int) -> bool:
    return open_streams() == level


async def test_a_client_that_takes_nothing_for_a_while_is_dropped(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_routes, "SEND_TIMEOUT_S", 0.5)
    runtime, before = served.runtime, open_streams()
    stuck = await open_raw(served.port, "/api/events", receive_buffer=4 * KIB)
    await eventually(lambda: _at(before + 1))
    await insert_events(runtime, 2000, "x" * 400)
    runtime.hub.notify()
    await eventually(lambda: _at(before))
    stuck.close()
