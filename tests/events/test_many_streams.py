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

import httpx
from sqlalchemy import insert

from langproc.db.base import utcnow
from langproc.db.engine import session_scope
from langproc.db.models import Event
from langproc.events.publish import iso
from langproc.events.stream import open_streams
from tests.events.conftest import Served
from tests.events.sse import Sse, SseParser, read_async
from tests.pipeline.conftest import submit, wait_for_status
from tests.waiting import eventually

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


def allocated() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_200_open_streams_stay_small_and_closing_releases_them(served: Served) -> None:
    runtime, before = served.runtime, open_streams()
    with traced():
        # One stream stays open throughout, so the shared tail and first-use caches are
        # part of the baseline, and a pipeline runs once before measuring.
        keeper = await open_raw(served.port, "/api/events")
        [warmup] = await submit(runtime, owner="local")
        await keeper.read_until(finished(warmup))
        baseline = allocated()

        clients = [await open_raw(served.port, "/api/events") for _ in range(STREAMS)]
        # 200 streams on a pool of 10 (+10 overflow): they hold no connection while waiting.
        await eventually(lambda: _at(before + 1 + STREAMS))
        [sid] = await submit(runtime, owner="local")
        assert (await wait_for_status(runtime, [sid], {"succeeded"}))[sid] == "succeeded"
        async with asyncio.timeout(30):
            await asyncio.gather(*(c.read_until(finished(sid)) for c in clients))
        per_stream = (allocated() - baseline) / STREAMS

        for client in clients:
            client.close()
        await eventually(lambda: _at(before + 1))
        left = allocated() - baseline
        keeper.close()
    await eventually(lambda: _at(before))

    assert per_stream < 64 * KIB, f"{per_stream / KIB:.1f} KiB per open stream"
    assert left < 10 * per_stream, f"{left / KIB:.0f} KiB left after closing {STREAMS} streams"


async def test_a_client_that_stops_reading_is_held_back_not_buffered(
    served: Served, http: httpx.AsyncClient
) -> None:
    runtime, before = served.runtime, open_streams()
    count, pad = 8000, "x" * 2000  # 16 MB of events, more than the socket buffers take
    with traced():
        slow = await open_raw(served.port, "/api/events", receive_buffer=4 * KIB)
        await eventually(lambda: _at(before + 1))
        baseline = allocated()
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
        del rows
        runtime.hub.notify()

        # A client that reads keeps up; meanwhile the slow one has taken what it could.
        def got_all(events: list[Sse]) -> bool:
            return len(events) == count

        async with asyncio.timeout(60), http.stream("GET", "/api/events") as response:
            fast = await read_async(response.aiter_lines(), got_all)
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

    assert growth < 2 * 1024 * KIB, f"{growth / KIB:.0f} KiB held for a client that stopped"
    assert slow_received == [f"s{i}" for i in range(count)]


async def _at(level: int) -> bool:
    return open_streams() == level
