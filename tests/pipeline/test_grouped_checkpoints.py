"""Checkpoints that queue up while another is written share one transaction; a group the
database refuses is written again one checkpoint at a time, so that only the refused step fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.models import Sourcefile
from langproc.db.results import WordForm
from langproc.pipeline.graph import Graph, StepSpec
from langproc.pipeline.grouping import GroupWriter
from langproc.runtime import Runtime
from langproc.steps.context import StepContext
from langproc.steps.models import Text
from tests.support.engine import MakeRuntime, events_of, steps_of, submit
from tests.support.waiting import eventually


class Log:
    """A write function that records its groups; the first write waits for `release`."""

    def __init__(self, fail_with: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_with = fail_with

    async def write(self, items: Sequence[int]) -> list[int]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            await self.release.wait()
        if self.fail_with in items:
            raise RuntimeError(f"refused {self.fail_with}")
        return [item * 10 for item in items]


async def first_in_flight(writer: GroupWriter[int, int], log: Log) -> asyncio.Task[int]:
    first = asyncio.create_task(writer.write(0))

    async def started() -> bool:
        return len(log.groups) == 1

    await eventually(started, 5)
    return first


async def test_writes_asked_for_during_a_write_go_together_in_the_next() -> None:
    log = Log()
    writer = GroupWriter(log.write, most=3)
    first = await first_in_flight(writer, log)
    rest = [asyncio.create_task(writer.write(i)) for i in range(1, 6)]
    await asyncio.sleep(0)
    log.release.set()

    assert await asyncio.gather(first, *rest) == [0, 10, 20, 30, 40, 50]
    assert log.groups == [[0], [1, 2, 3], [4, 5]]


async def test_a_refused_group_answers_each_of_its_writers_and_only_them() -> None:
    log = Log(fail_with=2)
    writer = GroupWriter(log.write, most=2)
    first = await first_in_flight(writer, log)
    rest = [asyncio.create_task(writer.write(i)) for i in range(1, 4)]
    log.release.set()

    results = await asyncio.gather(first, *rest, return_exceptions=True)

    assert (results[0], results[3]) == (0, 30)
    assert [str(r) for r in results[1:3]] == ["refused 2", "refused 2"]


async def test_a_cancelled_writer_does_not_stop_the_write_it_is_part_of() -> None:
    log = Log()
    writer = GroupWriter(log.write, most=8)
    first = await first_in_flight(writer, log)
    second = asyncio.create_task(writer.write(1))
    await asyncio.sleep(0)
    first.cancel()
    second.cancel()
    log.release.set()
    third = await writer.write(2)

    assert third == 20
    assert log.groups == [[0], [1, 2]]


async def _ok(_ctx: StepContext) -> Text:
    return Text(text="ok")


async def _duplicate_rows(session: AsyncSession, sourcefile: Sourcefile, _output: Any) -> None:
    session.add_all(
        WordForm(sourcefile_id=sourcefile.id, position=0, wordform=w, lemma=w) for w in "xy"
    )


async def finish_all_at_once(runtime: Runtime, expected: int) -> int:
    """Claim and run every step, then finish them all at once; the transactions committed."""
    engine = runtime.engine
    claims = await engine.claim(100)
    assert len(claims) == expected
    attempts = await asyncio.gather(*(engine.run(claim) for claim in claims))
    commits = 0

    def counted(_connection: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(runtime.db.sync_engine, "commit", counted)
    try:
        await asyncio.gather(*(engine.finish(c, a) for c, a in zip(claims, attempts, strict=True)))
    finally:
        event.remove(runtime.db.sync_engine, "commit", counted)
    return commits


@pytest.mark.timeout(60)
async def test_checkpoints_finished_together_share_transactions(
    db_url: str, make_runtime: MakeRuntime
) -> None:
    runtime = make_runtime(db_url, graph=Graph([StepSpec("a", _ok), StepSpec("b", _ok)]))
    ids = await submit(runtime, 6)

    commits = await finish_all_at_once(runtime, expected=12)

    assert commits <= 3, "the first alone, the eleven that queued behind it together"
    for sid in ids:
        steps = await steps_of(runtime, sid)
        assert {(s.status, s.attempt) for s in steps.values()} == {("succeeded", 1)}
        events = [
            (e.type, e.payload.get("step"), e.payload["status"])
            for e in await events_of(runtime, sid)
        ]
        assert events.count(("step", "a", "succeeded")) == 1
        assert events.count(("step", "b", "succeeded")) == 1
        assert events[-1] == ("sourcefile", None, "succeeded")


@pytest.mark.timeout(60)
async def test_a_refused_step_in_a_group_fails_alone(
    db_url: str, make_runtime: MakeRuntime
) -> None:
    graph = Graph([StepSpec("good", _ok), StepSpec("bad", _ok, store=_duplicate_rows)])
    runtime = make_runtime(db_url, graph=graph)
    ids = await submit(runtime, 4)

    await finish_all_at_once(runtime, expected=8)

    for sid in ids:
        steps = await steps_of(runtime, sid)
        assert steps["good"].status == "succeeded"
        assert steps["bad"].status == "failed"
        assert steps["bad"].error_message is not None
        assert "unique" in steps["bad"].error_message.lower()
