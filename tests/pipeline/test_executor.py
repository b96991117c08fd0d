"""The executor at the edges: quick retries, early cancels, cancelled checkpoints, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.base import utcnow
from langproc.db.clock import database_now
from langproc.db.models import Sourcefile
from langproc.db.session import session_scope
from langproc.errors import TransientError
from langproc.pipeline.engine import Claim
from langproc.pipeline.graph import Graph, StepSpec
from langproc.runtime import Runtime
from langproc.steps.context import StepContext
from tests.support.engine import (
    MakeRuntime,
    Recorder,
    one_step,
    steps_of,
    submit,
    wait_for_status,
)
from tests.support.waiting import eventually


async def test_a_quick_retry_is_not_cancelled_as_a_lost_lease(
    runtime: Runtime, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder.delay_s = 0.6
    failures = {"left": 1}

    def fail_once(_ctx: StepContext) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise TransientError("503 from the provider")

    recorder.behaviour["a"] = fail_once
    [sid] = await submit(runtime)
    key = (sid, "a")
    renew = runtime.engine.heartbeat

    async def slow_heartbeat(held: Collection[tuple[int, int]]) -> Any:
        # A renewal sent during the first attempt reaches the database after the retry began.
        if recorder.in_flight.get(key) and not recorder.spans.get(key):

            async def retry_started() -> bool:
                return recorder.in_flight.get(key) == 1 and len(recorder.spans.get(key, [])) == 1

            await eventually(retry_started, within_s=10)
        return await renew(held)

    monkeypatch.setattr(runtime.engine, "heartbeat", slow_heartbeat)
    await runtime.start(executor=True)

    assert (await wait_for_status(runtime, [sid], {"succeeded", "failed"}))[sid] == "succeeded"
    step = (await steps_of(runtime, sid))["a"]
    assert step.attempt == 2, "the retry was cancelled and run again"
    assert len(recorder.spans[key]) == 2


async def test_a_step_cancelled_before_it_starts_is_not_kept_leased(
    make_runtime: MakeRuntime,
    db_url: str,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = make_runtime(db_url, graph=one_step(recorder), lease_s=1.5, shutdown_grace_s=0.5)
    claim = rt.engine.claim
    interrupted = []

    async def claim_then_interrupt(limit: int) -> list[Claim]:
        claims = await claim(limit)
        if claims and not interrupted:
            # A cancel request that arrives before the claimed task has taken its first step.
            interrupted.append(claims[0].sourcefile_id)
            asyncio.get_running_loop().call_soon(rt.executor.interrupt, claims[0].sourcefile_id)
        return claims

    monkeypatch.setattr(rt.engine, "claim", claim_then_interrupt)
    [sid] = await submit(rt)
    await rt.start(executor=True)

    # Its lease must lapse, so that the step is claimed again and runs.
    assert (await wait_for_status(rt, [sid], {"succeeded", "failed"}))[sid] == "succeeded"
    assert interrupted == [sid]
    assert (await steps_of(rt, sid))["a"].attempt == 2
    assert len(recorder.spans[(sid, "a")]) == 1


async def test_a_checkpoint_cancelled_half_way_completes_and_leaves_the_database_writable(
    make_runtime: MakeRuntime, db_url: str, recorder: Recorder
) -> None:
    in_checkpoint = asyncio.Event()
    proceed = asyncio.Event()

    async def slow_store(session: AsyncSession, sourcefile: Sourcefile, _output: Any) -> None:
        await session.execute(
            update(Sourcefile).where(Sourcefile.id == sourcefile.id).values(title="stored")
        )
        in_checkpoint.set()
        await proceed.wait()

    graph = Graph([StepSpec("a", recorder.step("a"), store=slow_store)])
    rt = make_runtime(db_url, graph=graph)
    [sid] = await submit(rt)
    await rt.start(executor=True)
    async with asyncio.timeout(20):
        await in_checkpoint.wait()

    rt.executor.interrupt(sid)  # as a cancel, a shutdown or a lost lease would
    proceed.set()

    async def idle() -> bool:
        return not rt.executor.running

    await eventually(idle, within_s=10)
    step = (await steps_of(rt, sid))["a"]
    assert (step.status, step.attempt) == ("succeeded", 1)
    async with asyncio.timeout(5), session_scope(rt.sessions) as session:
        title = (
            await session.execute(
                update(Sourcefile)
                .where(Sourcefile.id == sid)
                .values(title="another writer")
                .returning(Sourcefile.title)
            )
        ).scalar_one()
    assert title == "another writer"


async def test_a_step_running_through_the_shutdown_grace_is_not_run_twice(
    make_runtime: MakeRuntime, db_url: str, recorder: Recorder
) -> None:
    recorder.delay_s = 2.5
    graph = one_step(recorder)
    leaving = make_runtime(db_url, graph=graph, lease_s=1.5, shutdown_grace_s=0.5)
    staying = make_runtime(db_url, graph=graph, lease_s=1.5, shutdown_grace_s=0.5)
    [sid] = await submit(leaving)
    await leaving.start(executor=True)

    async def started() -> bool:
        return bool(recorder.in_flight.get((sid, "a")))

    await eventually(started)
    await staying.start(executor=True)
    # A grace longer than the lease (as a slow step's checkpoint can be): renewals go on.
    await leaving.executor.stop(4.0)

    assert (await wait_for_status(staying, [sid], {"succeeded", "failed"}))[sid] == "succeeded"
    assert len(recorder.spans[(sid, "a")]) == 1, "another executor ran the step as well"
    assert (await steps_of(staying, sid))["a"].attempt == 1


async def test_steps_claimed_as_shutdown_begins_are_handed_back(
    make_runtime: MakeRuntime,
    db_url: str,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = make_runtime(db_url, graph=one_step(recorder))
    claim = rt.engine.claim
    stopping: list[asyncio.Task[None]] = []

    async def claim_as_shutdown_begins(limit: int) -> list[Claim]:
        claims = await claim(limit)
        if claims and not stopping:
            stopping.append(asyncio.create_task(rt.executor.stop(0.0)))
            await asyncio.sleep(0)  # the stop begins while this claim is still in flight
        return claims

    monkeypatch.setattr(rt.engine, "claim", claim_as_shutdown_begins)
    ids = await submit(rt, 3)
    await rt.start(executor=True)

    async def stop_began() -> bool:
        return bool(stopping)

    await eventually(stop_began)
    async with asyncio.timeout(20):
        await stopping[0]

    for sid in ids:
        step = (await steps_of(rt, sid))["a"]
        assert (step.status, step.lease_owner) == ("pending", None)
    assert not recorder.spans, "a step claimed while stopping was run"


async def test_leases_are_renewed_by_the_database_clock(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    [sid] = await submit(runtime)
    [claim] = await runtime.engine.claim(1)
    # This process's clock runs an hour ahead of the database's.
    monkeypatch.setattr("langproc.pipeline.engine.utcnow", lambda: utcnow() + timedelta(hours=1))

    assert await runtime.engine.heartbeat({(claim.step_run_id, claim.attempt)}) == set()
    async with runtime.sessions() as session:
        now = await database_now(session)
    lease = (await steps_of(runtime, sid))[claim.step].lease_expires_at
    assert lease is not None
    assert now < lease <= now + timedelta(seconds=runtime.settings.lease_s)
