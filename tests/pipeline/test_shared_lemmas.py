"""The shared lemma table under concurrent `describe_lemmas` checkpoints: no deadlock, and an
LLM's description replaces a local-only entry but is never replaced by one."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import pytest
from sqlalchemy import select, update

from langproc.db.models import StepRun, StepStatus
from langproc.db.results import Lemma as LemmaRow
from langproc.db.session import session_scope
from langproc.pipeline.engine import Claim
from langproc.pipeline.outcomes import Outcome
from langproc.providers.usage import Usage
from langproc.runtime import Runtime
from langproc.steps.models import Lemma, Lemmas
from tests.support.engine import MakeRuntime, submit

WORDS = [f"λέξη{i:03d}" for i in range(300)]


@pytest.fixture
def language_runtime(db_url: str, make_runtime: MakeRuntime) -> Runtime:
    """The real step graph, with no executor: the test claims and checkpoints by hand."""
    return make_runtime(db_url)


async def claim_describe_lemmas(runtime: Runtime, count: int) -> list[Claim]:
    await submit(runtime, count)
    async with session_scope(runtime.sessions) as session:
        await session.execute(
            update(StepRun)
            .where(StepRun.step != "describe_lemmas")
            .values(status=StepStatus.SUCCEEDED, ready=True)
        )
        await session.execute(
            update(StepRun).where(StepRun.step == "describe_lemmas").values(ready=True)
        )
    claims = await runtime.engine.claim(100)
    assert {c.step for c in claims} == {"describe_lemmas"}
    assert len(claims) == count
    return claims


def described(words: list[str], *, by_llm: bool) -> dict[str, Any]:
    lemmas = [
        Lemma(lemma=w, part_of_speech="noun", translations=["word"] if by_llm else [])
        for w in words
    ]
    return Lemmas(lemmas=lemmas).model_dump(mode="json")


async def test_concurrent_checkpoints_do_not_deadlock(
    pg_url: str, make_runtime: MakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = make_runtime(pg_url)
    claims = await claim_describe_lemmas(runtime, 12)
    rng = random.Random(7)
    samples = [rng.sample(WORDS, 200) for _ in claims]
    outcomes = [
        Outcome(StepStatus.SUCCEEDED, output=described(sample, by_llm=True)) for sample in samples
    ]
    with caplog.at_level(logging.WARNING, logger="langproc.pipeline.engine"):
        stored = await asyncio.gather(
            *(
                runtime.engine.checkpoint(claim, outcome, Usage())
                for claim, outcome in zip(claims, outcomes, strict=True)
            ),
            return_exceptions=True,
        )
    async with runtime.sessions() as session:
        rows = (await session.execute(select(LemmaRow))).scalars().all()

    assert stored == [True] * 12
    retried = [r for r in caplog.records if r.getMessage() == "step.checkpoint_retried"]
    assert retried == [], "a checkpoint met a deadlock"
    assert {row.lemma for row in rows} == {w for sample in samples for w in sample}
    assert all(row.described for row in rows)


async def test_a_description_fills_in_a_local_entry_and_is_kept(
    language_runtime: Runtime,
) -> None:
    runtime = language_runtime
    first, second, third = await claim_describe_lemmas(runtime, 3)
    words = WORDS[:3]
    for claim, by_llm in ((first, False), (second, True), (third, False)):
        outcome = Outcome(StepStatus.SUCCEEDED, output=described(words, by_llm=by_llm))
        assert await runtime.engine.checkpoint(claim, outcome, Usage())

    async with runtime.sessions() as session:
        rows = (await session.execute(select(LemmaRow).order_by(LemmaRow.lemma))).scalars().all()
    assert [(r.lemma, r.described, r.translations) for r in rows] == [
        (w, True, ["word"]) for w in words
    ]
