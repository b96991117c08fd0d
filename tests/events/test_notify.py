"""NOTIFY on PostgreSQL: an event committed by another instance wakes the streams of this one,
with no polling to fall back on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.engine import MakeRuntime, Recorder, diamond, events_of, submit
from tests.support.served import without_polling
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)
# Far below the polling interval `without_polling` sets, far above a NOTIFY's milliseconds.
DEADLINE_S = 20.0


async def test_events_committed_by_another_instance_arrive_by_notify(
    pg_url: str, tmp_path: Path, make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = diamond(Recorder(delay_s=0.1))
    # The server runs no steps: every event after the first is committed by the worker, whose
    # in-process hub the server does not share. Only NOTIFY can tell the server's stream.
    server = make_runtime(pg_url, data_dir=tmp_path / "server", graph=graph, max_concurrent_steps=0)
    worker = make_runtime(pg_url, data_dir=tmp_path / "worker", graph=graph)
    without_polling(server, monkeypatch)
    assert server.listener is not None
    await server.start(executor=False)

    async def listening() -> bool:
        return server.listener is not None and server.listener.connected.is_set()

    await eventually(listening, within_s=10)
    [sid] = await submit(server)
    stream = server.events.stream("u1", sid, 0)
    first = await anext(stream)
    assert (first.type, first.payload["status"]) == ("sourcefile", "queued")
    await worker.start(executor=True)

    received = [first]
    try:
        async with asyncio.timeout(DEADLINE_S):
            async for event in stream:
                received.append(event)
    except TimeoutError:
        raise AssertionError(f"the stream stalled after {received[-1]}") from None
    finally:
        await stream.aclose()
    stored = await events_of(worker, sid)

    assert received[-1].terminal
    assert received[-1].payload["status"] == "succeeded"
    assert [(e.id, e.payload) for e in received] == [(e.id, e.payload) for e in stored]
