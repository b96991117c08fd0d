"""The diamond test graph behind a real uvicorn on loopback, on either database.

httpx's ASGI transport hands over a response only once it is complete, so streams that stay
open are tested over real sockets.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from langproc.api.app import create_app
from langproc.events import stream
from langproc.events.stream import EventFeed, Tail
from langproc.runtime import Runtime, build_runtime
from tests.pipeline.conftest import NO_PROVIDERS, Recorder, diamond, make_settings
from tests.waiting import eventually


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    app: FastAPI
    runtime: Runtime
    server: uvicorn.Server

    @property
    def connections(self) -> int:
        """Connections uvicorn still holds, and their request tasks (both must drain)."""
        state = self.server.server_state
        return max(len(state.connections), len(state.tasks))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, recorder: Recorder) -> Runtime:
    return build_runtime(
        make_settings(db_url, tmp_path), graph=diamond(recorder), providers=NO_PROVIDERS
    )


# Far above any test's deadline: an event that arrives in time was not found by polling.
NEVER_S = 3600.0


def without_polling(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `runtime`'s streams learn of new events only from hub wake-ups (a local commit, or a
    NOTIFY through its LISTEN connection): the tail and idle streams never poll."""
    monkeypatch.setattr(stream, "RECHECK_S", NEVER_S)
    runtime.events = EventFeed(runtime.sessions, Tail(runtime.sessions, runtime.hub, NEVER_S))


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[Served]:
    """The app (with its executor) on a loopback port; stopped at teardown."""
    app = create_app(runtime=runtime)
    sock = socket.socket()
    # Accepted sockets inherit this: a client that stops reading holds the server back after
    # ~100 KB in the kernel, instead of after the megabytes Linux would otherwise buffer.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_config=None, ws="none", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await eventually(started, within_s=10)
    try:
        yield Served(f"http://127.0.0.1:{port}", port, app, runtime, server)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=20) as client:
        yield client
