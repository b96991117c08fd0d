"""Rows of steps the running graph does not know (a deploy renamed or removed a step, or an old
executor meets a new step) are left for a version that knows them and block nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from langproc.db.models import SourcefileKind, StepRun
from langproc.db.session import session_scope
from langproc.errors import Conflict
from langproc.pipeline.graph import Graph, StepSpec
from langproc.runtime import Runtime
from langproc.sourcefiles.services import NewSourcefile, create_sourcefile
from tests.support.engine import Recorder, retry, steps_of, submit, wait_for_status


async def test_steps_of_another_version_are_left_and_block_nothing(
    runtime: Runtime, recorder: Recorder
) -> None:
    other_version = Graph([StepSpec("renamed", recorder.step("renamed"))])
    async with session_scope(runtime.sessions) as session:
        new = NewSourcefile("u1", "el", "en", SourcefileKind.TEXT, "old", text="κείμενο")
        old = (await create_sourcefile(session, other_version, new)).id
    [sid] = await submit(runtime)
    await runtime.start(executor=True)

    assert (await wait_for_status(runtime, [sid], {"succeeded"}, within_s=15))[sid] == "succeeded"
    step = (await steps_of(runtime, old))["renamed"]
    assert (step.status, step.attempt, step.lease_owner) == ("pending", 0, None)
    assert (old, "renamed") not in recorder.spans


async def test_retry_creates_the_rows_of_steps_added_since(
    runtime: Runtime, recorder: Recorder
) -> None:
    await runtime.start(executor=True)
    [sid] = await submit(runtime)
    await wait_for_status(runtime, [sid], {"succeeded"})
    async with session_scope(runtime.sessions) as session:
        # "d" was added to the graph after this sourcefile was created.
        await session.execute(
            delete(StepRun).where(StepRun.sourcefile_id == sid, StepRun.step == "d")
        )

    await retry(runtime, sid, ["b"])

    assert (await wait_for_status(runtime, [sid], {"succeeded"}, within_s=15))[sid] == "succeeded"
    steps = await steps_of(runtime, sid)
    assert steps["d"].output == {"text": "d(b=b(a=a()),c=c(a=a()))"}
    assert (steps["b"].attempt, steps["d"].attempt) == (2, 1)


async def test_retry_of_failed_steps_passes_over_unknown_ones(runtime: Runtime) -> None:
    [sid] = await submit(runtime)
    async with session_scope(runtime.sessions) as session:
        session.add(StepRun(sourcefile_id=sid, step="removed", status="failed", attempt=1))

    with pytest.raises(Conflict, match="no step has failed"):
        await retry(runtime, sid)
