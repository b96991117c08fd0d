"""A step whose process keeps dying (its lease expires unrenewed) is failed after
`max_crashes` re-claims, and the crashes are not charged to its transient-retry budget."""

from __future__ import annotations

import uuid

from langproc.db.models import Sourcefile
from langproc.errors import TransientError
from langproc.runtime import Runtime
from langproc.steps.context import StepContext
from tests.support.engine import Recorder, another_engine, expire_lease, retry, steps_of, submit

# A process dies holding a step: nobody renews the lease, it expires, and a new process (a new
# worker id, as after a restart) claims the step again.
die = expire_lease
restarted = another_engine


async def sourcefile_status(runtime: Runtime, sid: uuid.UUID) -> str:
    async with runtime.sessions() as session:
        sourcefile = await session.get(Sourcefile, sid)
        assert sourcefile is not None
        return sourcefile.status


async def test_a_step_that_kills_its_process_fails_after_max_crashes(runtime: Runtime) -> None:
    runtime.settings.max_crashes = 3
    [sid] = await submit(runtime)
    [claim] = await restarted(runtime).claim(10)
    assert (claim.step, claim.attempt) == ("a", 1)

    for crashes in (1, 2):
        await die(runtime, claim.step_run_id)
        [claim] = await restarted(runtime).claim(10)
        assert (claim.attempt, claim.round_attempt) == (crashes + 1, 1)
        assert (await steps_of(runtime, sid))["a"].crash_count == crashes

    await die(runtime, claim.step_run_id)
    assert await restarted(runtime).claim(10) == []
    step = (await steps_of(runtime, sid))["a"]
    assert (step.status, step.crash_count, step.attempt) == ("failed", 3, 3)
    assert step.error_message == "the process running this step died 3 times"
    assert step.error_retryable is False
    assert step.lease_expires_at is None  # no lease; lease_owner names the last holder
    assert await sourcefile_status(runtime, sid) == "failed"
    assert await restarted(runtime).claim(10) == [], "it is not claimed again"


async def test_crashes_do_not_use_up_the_transient_retry_budget(
    runtime: Runtime, recorder: Recorder
) -> None:
    def rate_limited(_ctx: StepContext) -> None:
        raise TransientError("429 rate limited")

    recorder.behaviour["a"] = rate_limited
    recorder.delay_s = 0.0
    runtime.settings.max_attempts = 2
    runtime.settings.max_crashes = 5
    [sid] = await submit(runtime)
    [claim] = await restarted(runtime).claim(10)
    for _ in range(3):
        await die(runtime, claim.step_run_id)
        [claim] = await restarted(runtime).claim(10)

    engine = restarted(runtime)
    await die(runtime, claim.step_run_id)
    [claim] = await engine.claim(10)
    assert (claim.attempt, claim.round_attempt) == (5, 1)
    await engine.finish(claim, await engine.run(claim))

    step = (await steps_of(runtime, sid))["a"]
    assert (step.status, step.crash_count) == ("retrying", 4)
    assert step.error_message == "429 rate limited"


async def test_a_retry_from_the_api_starts_the_crash_count_again(runtime: Runtime) -> None:
    runtime.settings.max_crashes = 1
    [sid] = await submit(runtime)
    [claim] = await restarted(runtime).claim(10)
    await die(runtime, claim.step_run_id)
    assert await restarted(runtime).claim(10) == []
    assert (await steps_of(runtime, sid))["a"].status == "failed"

    await retry(runtime, sid)
    [claim] = await restarted(runtime).claim(10)
    assert claim.step == "a"
    assert (await steps_of(runtime, sid))["a"].crash_count == 0
