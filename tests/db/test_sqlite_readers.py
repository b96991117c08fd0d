"""SQLite in WAL mode: readers never take the write lock, so reads and a write run side by side."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from langproc.api.app import create_app
from langproc.db.models import Sourcefile
from langproc.runtime import Runtime
from langproc.settings import ExecutorPlacement
from tests.support.engine import submit
from tests.support.service import asgi_client

# Far below the 30 s busy timeout that a reader holding the write lock would make us wait.
DEADLINE_S = 5.0


async def test_a_write_commits_while_a_read_transaction_is_open(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
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


async def test_get_requests_answer_while_a_write_transaction_is_open(
    sqlite_runtime: Runtime,
) -> None:
    runtime = sqlite_runtime
    [sid] = await submit(runtime, owner="local")
    async with (
        asgi_client(create_app(runtime=runtime, executor=ExecutorPlacement.OFF)) as http,
        runtime.sessions() as writer,
        writer.begin(),
    ):
        await writer.execute(update(Sourcefile).where(Sourcefile.id == sid).values(title="x"))
        for path in ("/api/sourcefiles", f"/api/sourcefiles/{sid}"):
            response = await asyncio.wait_for(http.get(path), DEADLINE_S)
            assert response.status_code == 200, response.text
        assert (await http.get(f"/api/sourcefiles/{sid}")).json()["title"] == "t0"
