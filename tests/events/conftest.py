"""The diamond test graph behind a real uvicorn on loopback, on either database (see
tests/support/served.py for why streams need real sockets)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from langproc.api.app import create_app
from langproc.runtime import Runtime
from tests.support.served import Served
from tests.support.waiting import eventually


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
