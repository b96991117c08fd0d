"""The blocking-call bound: at most `max_blocking_threads` threads run, cancelled or not."""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from langproc.runtime import make_run_blocking
from tests.support.engine import MakeRuntime


async def test_a_cancelled_blocking_call_keeps_its_slot_until_its_thread_ends() -> None:
    run_blocking = make_run_blocking(anyio.CapacityLimiter(1))
    lock = threading.Lock()
    inside = peak = 0
    first_started = threading.Event()
    release_first = threading.Event()

    def work(block: bool) -> None:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        if block:
            first_started.set()
            release_first.wait(20)
        with lock:
            inside -= 1

    first = asyncio.create_task(run_blocking(work, True))
    assert await asyncio.to_thread(first_started.wait, 10)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    second = asyncio.create_task(run_blocking(work, False))
    # A fixed wait on purpose: it proves something does NOT happen. The second call gets every
    # chance to start a second thread while the first still runs.
    await asyncio.wait({second}, timeout=0.5)
    assert not second.done(), "a second thread ran beside the cancelled one"
    release_first.set()
    async with asyncio.timeout(10):
        await second
    assert peak == 1


async def test_keyword_arguments_reach_the_blocking_call() -> None:
    run_blocking = make_run_blocking(anyio.CapacityLimiter(1))
    assert await run_blocking(int, "ff", base=16) == 255


async def test_on_postgresql_the_pool_opens_its_connections_at_start(
    pg_url: str, make_runtime: MakeRuntime
) -> None:
    runtime = make_runtime(pg_url, database_pool_size=5)
    pool = runtime.db.sync_engine.pool
    assert pool.checkedin() == 0

    await runtime.start(executor=False)

    assert pool.checkedin() == 5  # opened, and back in the pool for the first requests


async def test_a_database_that_cannot_be_reached_does_not_stop_the_start(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")

    await runtime.start(executor=False)  # requests get 503 until the database answers

    assert runtime.db.sync_engine.pool.checkedin() == 0
