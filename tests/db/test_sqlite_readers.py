"""SQLite in WAL mode: readers never take the write lock, so reads and a write run side by side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from langproc.api.app import create_app
from langproc.db.models import Sourcefile
from langproc.runtime import Runtime, build_runtime
from tests.pipeline.conftest import NO_PROVIDERS, Recorder, diamond, make_settings, submit

# Far below the 30 s busy timeout that a reader holding the write lock would make us wait.
DEADLINE_S = 5.0


@pytest.fixture
async def runtime(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = build_runtime(
        make_settings(sqlite_url, tmp_path), graph=diamond(Recorder()), providers=NO_PROVIDERS
    )
    yield rt
    await rt.db.dispose()


async def test_a_write_commits_while_a_read_transaction_is_open(runtime: Runtime) -> None:
    [sid] = await submit(runtime, owner="local")
    async with runtime.readers() as reader, reader.begin():
        assert await reader.scalar(select(Sourcefile.title).where(Sourcefile.id == sid)) == "t0"

        async def write() -> None:
            async with runtime.sessions() as writer, writer.begin():
                await writer.execute(
                    update(Sourcefile).where(Sourcefile.id == sid).values(title="renamed")
                )

        await asyncio.wait_for(write(), DEADLINE_S)
        # The reader still sees its snapshot.
        assert await reader.scalar(select(Sourcefile.title).where(Sourcefile.id == sid)) == "t0"


async def test_get_requests_answer_while_a_write_transaction_is_open(runtime: Runtime) -> None:
    [sid] = await submit(runtime, owner="local")
    app = create_app(runtime=runtime, executor=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
        runtime.sessions() as writer,
        writer.begin(),
    ):
        await writer.execute(update(Sourcefile).where(Sourcefile.id == sid).values(title="x"))
        for path in ("/api/sourcefiles", f"/api/sourcefiles/{sid}"):
            response = await asyncio.wait_for(http.get(path), DEADLINE_S)
            assert response.status_code == 200, response.text
        assert (await http.get(f"/api/sourcefiles/{sid}")).json()["title"] == "t0"
