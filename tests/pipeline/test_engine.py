"""The engine on a diamond graph: order, parallelism, checkpoints, fencing, retries, failures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from langproc.db.base import utcnow
from langproc.db.models import StepRun, StepStatus
from langproc.db.session import session_scope
from langproc.errors import PermanentError, TransientError
from langproc.pipeline.engine import Outcome
from langproc.pipeline.graph import Graph, StepSpec
from langproc.providers.usage import Usage
from langproc.runtime import Runtime, build_runtime
from langproc.sourcefiles.services import retry_sourcefile
from langproc.steps.context import StepContext
from tests.pipeline.conftest import (
    NO_PROVIDERS,
    Recorder,
    events_of,
    make_settings,
    steps_of,
    submit,
    wait_for_status,
)


async def expire_lease(runtime: Runtime, step_run_id: int) -> None:
    async with session_scope(runtime.sessions) as session:
        await session.execute(
            update(StepRun)
            .where(StepRun.id == step_run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_parallel_branches_run_in_dependency_order(
    runtime: Runtime, recorder: Recorder
) -> None:
    await runtime.start(executor=True)
    [sid] = await submit(runtime)

    assert (await wait_for_status(runtime, [sid], {"succeeded", "failed"}))[sid] == "succeeded"
    span = {name: recorder.spans[(sid, name)][0] for name in "abcd"}
    assert span["a"][1] <= min(span["b"][0], span["c"][0])
    assert max(span["b"][0], span["c"][0]) < min(span["b"][1], span["c"][1]), "b, c overlap"
    assert span["d"][0] >= max(span["b"][1], span["c"][1])
    steps = await steps_of(runtime, sid)
    assert steps["d"].output == {"text": "d(b=b(a=a()),c=c(a=a()))"}
    assert all(s.status == "succeeded" and s.attempt == 1 for s in steps.values())


async def test_every_state_change_is_an_event_in_commit_order(
    runtime: Runtime, recorder: Recorder
) -> None:
    await runtime.start(executor=True)
    [sid] = await submit(runtime)
    await wait_for_status(runtime, [sid], {"succeeded"})

    events = await events_of(runtime, sid)
    ids = [e.id for e in events]
    assert ids == sorted(set(ids))
    changes = [(e.type, e.payload.get("step"), e.payload["status"]) for e in events]
    assert changes[0] == ("sourcefile", None, "queued")
    assert changes[-1] == ("sourcefile", None, "succeeded")
    assert events[-1].payload["progress"] == {"completed": 4, "total": 4}
    assert events[0].payload["progress"] == {"completed": 0, "total": 4}
    for name in "abcd":
        mine = [c[2] for c in changes if c[1] == name]
        assert mine == ["running", "succeeded"]
    assert ("sourcefile", None, "processing") in changes


async def test_stale_executor_cannot_overwrite_a_newer_attempt(runtime: Runtime) -> None:
    [sid] = await submit(runtime)
    [first] = await runtime.engine.claim(10)
    assert (first.step, first.attempt) == ("a", 1)
    await expire_lease(runtime, first.step_run_id)
    other = type(runtime.engine)(
        sessions=runtime.sessions,
        graph=runtime.graph,
        providers=runtime.engine.providers,
        blobs=runtime.blobs,
        settings=runtime.settings,
        hub=runtime.hub,
        run_blocking=runtime.run_blocking,
        lemmas=runtime.engine.lemmas,
    )
    [second] = await other.claim(10)
    assert (second.step_run_id, second.attempt) == (first.step_run_id, 2)

    stale = Outcome("succeeded", output={"text": "stale"})  # type: ignore[arg-type]
    fresh = Outcome("succeeded", output={"text": "fresh"})  # type: ignore[arg-type]
    assert await runtime.engine.checkpoint(first, stale, Usage()) is False
    assert await other.checkpoint(second, fresh, Usage()) is True
    assert (await steps_of(runtime, sid))["a"].output == {"text": "fresh"}
    succeeded = [e for e in await events_of(runtime, sid) if e.payload.get("status") == "succeeded"]
    assert len(succeeded) == 1


async def test_an_executor_cannot_checkpoint_its_own_expired_attempt(runtime: Runtime) -> None:
    """The fence checks the attempt, not only the owner: the same executor re-claimed the step
    after its lease ran out, and the late first attempt must not overwrite the second."""
    [sid] = await submit(runtime)
    [first] = await runtime.engine.claim(10)
    await expire_lease(runtime, first.step_run_id)
    [second] = await runtime.engine.claim(10)
    assert (second.step_run_id, second.attempt) == (first.step_run_id, 2)

    stale = Outcome(StepStatus.SUCCEEDED, output={"text": "stale"})
    fresh = Outcome(StepStatus.SUCCEEDED, output={"text": "fresh"})
    assert await runtime.engine.checkpoint(first, stale, Usage()) is False
    assert await runtime.engine.checkpoint(second, fresh, Usage()) is True
    step = (await steps_of(runtime, sid))["a"]
    assert (step.output, step.attempt) == ({"text": "fresh"}, 2)


async def test_the_heartbeat_keeps_a_step_longer_than_its_lease(
    db_url: str, tmp_path: Path
) -> None:
    recorder = Recorder(delay_s=2.5)
    graph = Graph([StepSpec("a", recorder.step("a"))])
    settings = make_settings(
        db_url, tmp_path, lease_s=1.0, heartbeat_s=0.2, poll_interval_s=0.2, shutdown_grace_s=0.5
    )
    runtime = build_runtime(settings, graph=graph, providers=NO_PROVIDERS)
    try:
        await runtime.start(executor=True)
        [sid] = await submit(runtime)
        await wait_for_status(runtime, [sid], {"succeeded"})
        step = (await steps_of(runtime, sid))["a"]
    finally:
        await runtime.stop()

    assert len(recorder.spans[(sid, "a")]) == 1, "the step ran once"
    assert step.attempt == 1


async def test_transient_errors_retry_with_backoff_honouring_retry_after(
    runtime: Runtime, recorder: Recorder
) -> None:
    failures = {"left": 2}

    def flaky(_ctx: StepContext) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise TransientError("429 rate limited", retry_after_s=0.4)

    recorder.behaviour["b"] = flaky
    await runtime.start(executor=True)
    [sid] = await submit(runtime)

    assert (await wait_for_status(runtime, [sid], {"succeeded", "failed"}))[sid] == "succeeded"
    spans = recorder.spans[(sid, "b")]
    assert len(spans) == 3
    gaps = [spans[i + 1][0] - spans[i][1] for i in range(2)]
    assert all(gap >= 0.4 for gap in gaps), gaps
    steps = await steps_of(runtime, sid)
    assert (steps["b"].attempt, steps["b"].error_type) == (3, None)
    retrying = [e for e in await events_of(runtime, sid) if e.payload.get("status") == "retrying"]
    assert len(retrying) == 2
    assert retrying[0].payload["error"]["retryable"] is True
    assert retrying[0].payload["next_attempt_at"] is not None


async def test_permanent_failure_keeps_other_branches_and_retry_completes_it(
    runtime: Runtime, recorder: Recorder
) -> None:
    broken = {"yes": True}

    def fail(_ctx: StepContext) -> None:
        if broken["yes"]:
            raise PermanentError("the API key was rejected: set OPENAI_API_KEY")

    recorder.behaviour["c"] = fail
    await runtime.start(executor=True)
    [sid] = await submit(runtime)

    assert (await wait_for_status(runtime, [sid], {"succeeded", "failed"}))[sid] == "failed"
    steps = await steps_of(runtime, sid)
    assert steps["b"].status == "succeeded"
    assert steps["b"].output is not None
    assert (steps["c"].status, steps["c"].attempt) == ("failed", 1)
    assert steps["c"].error_message == "the API key was rejected: set OPENAI_API_KEY"
    assert steps["c"].error_retryable is False
    assert steps["d"].status == "pending"

    broken["yes"] = False
    async with session_scope(runtime.sessions) as session:
        await retry_sourcefile(session, runtime.graph, sid, "u1", None)
    runtime.executor.wake()
    assert (await wait_for_status(runtime, [sid], {"succeeded", "failed"}))[sid] == "succeeded"
    assert len(recorder.spans[(sid, "b")]) == 1, "the finished branch was not run again"


async def test_attempts_are_bounded(runtime: Runtime, recorder: Recorder) -> None:
    def always(_ctx: StepContext) -> None:
        raise TransientError("503 from the provider")

    recorder.behaviour["a"] = always
    runtime.settings.max_attempts = 3
    await runtime.start(executor=True)
    [sid] = await submit(runtime)

    assert (await wait_for_status(runtime, [sid], {"succeeded", "failed"}))[sid] == "failed"
    step = (await steps_of(runtime, sid))["a"]
    assert (step.attempt, step.status) == (3, "failed")
    assert (step.error_type, step.error_retryable) == ("TransientError", False)


async def test_retry_of_named_steps_reruns_exactly_them_and_downstream(
    runtime: Runtime, recorder: Recorder
) -> None:
    await runtime.start(executor=True)
    [sid] = await submit(runtime)
    await wait_for_status(runtime, [sid], {"succeeded"})

    async with session_scope(runtime.sessions) as session:
        await retry_sourcefile(session, runtime.graph, sid, "u1", ["b"])
    runtime.executor.wake()
    await wait_for_status(runtime, [sid], {"succeeded"})
    runs = {name: len(recorder.spans[(sid, name)]) for name in "abcd"}
    assert runs == {"a": 1, "b": 2, "c": 1, "d": 2}
    # d takes b's output: its second run waits for b's second run, not for b's old status.
    assert recorder.spans[(sid, "d")][1][0] >= recorder.spans[(sid, "b")][1][1]


async def test_a_step_that_cannot_reach_the_database_is_retried_not_failed(
    runtime: Runtime, recorder: Recorder
) -> None:
    """The result cache and the lemma table are read inside steps: a database restart met there
    is a transient error, as it is in a checkpoint; a bug in a step still fails it at once."""
    unreachable = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    tries = {"b": 0}

    async def reads_the_database(_ctx: StepContext) -> None:
        tries["b"] += 1
        if tries["b"] == 1:
            async with unreachable.connect() as connection:
                await connection.execute(text("SELECT 1"))

    def buggy(_ctx: StepContext) -> None:
        raise ValueError("a bug")

    recorder.behaviour["b"] = reads_the_database
    recorder.behaviour["c"] = buggy
    await runtime.start(executor=True)
    [sid] = await submit(runtime)

    assert (await wait_for_status(runtime, [sid], {"succeeded", "failed"}))[sid] == "failed"
    await unreachable.dispose()
    steps = await steps_of(runtime, sid)
    assert (steps["b"].status, steps["b"].attempt) == ("succeeded", 2)
    retrying = [
        e.payload["error"]
        for e in await events_of(runtime, sid)
        if e.payload.get("step") == "b" and e.payload["status"] == "retrying"
    ]
    assert len(retrying) == 1
    assert retrying[0]["message"].startswith("the database was unreachable")
    assert (steps["c"].status, steps["c"].attempt) == ("failed", 1)
    assert steps["c"].error_message == "internal error in step c (ValueError): a bug"
