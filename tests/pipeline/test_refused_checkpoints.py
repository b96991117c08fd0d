"""A checkpoint the database refuses never leaves a step `running`: what the tables cannot hold is
fitted before it gets there, and a refusal is recorded as `retrying` (lock, deadlock) or `failed`
with the database's message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.models import Sourcefile
from langproc.db.results import WordForm
from langproc.pipeline.graph import Graph, StepSpec
from langproc.steps.context import StepContext
from langproc.steps.models import Text
from tests.fakes.openai_server import FakeOpenAI
from tests.support.engine import (
    MakeRuntime,
    events_of,
    make_settings,
    steps_of,
    submit,
    wait_for_status,
)
from tests.support.service import openai_settings, serving

GREEK = "Ο ήλιος έλαμψε ζεστά και ο ταξιδιώτης έβγαλε το παλτό του."


async def test_a_word_longer_than_the_column_is_left_out(pg_url: str, tmp_path: Path) -> None:
    long_word = "α" * 250
    async with serving(make_settings(pg_url, tmp_path)) as service:
        sid = await service.submit_text(f"{GREEK} {long_word}.", "el")
        body = await service.finished(sid, within_s=30)

    assert body["status"] == "succeeded", body["steps"]
    forms = {w["wordform"] for w in body["words"]}
    assert "ήλιος" in forms
    assert long_word not in forms


async def test_a_model_answer_with_nul_is_fitted_to_the_tables(
    pg_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    fake_llm.answer_fields.update(
        etymology="from Ancient Greek\u0000 ἥλιος",
    )
    async with serving(openai_settings(pg_url, tmp_path, fake_llm)) as service:
        sid = await service.submit_text(GREEK, "el")
        body = await service.finished(sid, within_s=30)

    assert body["status"] == "succeeded", body["steps"]
    assert body["lemmas"]
    # A control character marks a broken answer: the field is dropped, the step still succeeds.
    assert all("\x00" not in (lemma["etymology"] or "") for lemma in body["lemmas"])


class Raw(BaseModel):
    """An output no step model fitted: NUL, which PostgreSQL's JSONB refuses, stays in it."""

    text: str


async def _step(_ctx: StepContext) -> Text:
    return Text(text="ok")


async def _nul(_ctx: StepContext) -> Raw:
    return Raw(text="a\u0000b")


async def _duplicate_rows(session: AsyncSession, sourcefile: Sourcefile, _output: Any) -> None:
    session.add_all(
        WordForm(sourcefile_id=sourcefile.id, position=0, wordform=w, lemma=w) for w in "xy"
    )


async def test_a_refused_checkpoint_fails_the_step_with_the_database_message(
    db_url: str, make_runtime: MakeRuntime
) -> None:
    graph = Graph(
        [
            StepSpec("a", _step),
            StepSpec("b", _step, needs=("a",), store=_duplicate_rows),
            StepSpec("c", _step, needs=("a",)),
        ]
    )
    runtime = make_runtime(db_url, graph=graph)
    await runtime.start(executor=True)
    [sid] = await submit(runtime)
    assert (await wait_for_status(runtime, [sid], {"failed"}, within_s=15))[sid] == "failed"
    steps = await steps_of(runtime, sid)

    assert (steps["b"].status, steps["b"].attempt) == ("failed", 1)
    assert steps["b"].error_message is not None
    assert steps["b"].error_message.startswith("the database refused this step's result: ")
    assert "unique" in steps["b"].error_message.lower()
    assert steps["b"].error_retryable is False
    assert steps["b"].output is None, "nothing of the refused checkpoint was kept"
    assert steps["c"].status == "succeeded"


async def test_nul_in_an_output_fails_the_step_on_postgres(
    pg_url: str, make_runtime: MakeRuntime
) -> None:
    graph = Graph([StepSpec("a", _step), StepSpec("b", _nul, needs=("a",))])
    runtime = make_runtime(pg_url, graph=graph)
    await runtime.start(executor=True)
    [sid] = await submit(runtime)
    assert (await wait_for_status(runtime, [sid], {"failed"}, within_s=15))[sid] == "failed"
    step = (await steps_of(runtime, sid))["b"]

    assert step.status == "failed"
    assert step.error_message is not None
    assert "\\u0000 cannot be converted to text" in step.error_message


def _raising(sqlstate: str, times: dict[str, int]) -> Any:
    """A store that meets a real PostgreSQL error with `sqlstate`, `times["left"]` times."""

    async def store(session: AsyncSession, _sourcefile: Sourcefile, _output: Any) -> None:
        if times["left"] != 0:
            times["left"] -= 1
            await session.execute(
                text(f"DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{sqlstate}'; END $$")
            )

    return store


async def test_a_deadlocked_checkpoint_is_retried_at_once(
    pg_url: str, make_runtime: MakeRuntime
) -> None:
    times = {"left": 2}
    graph = Graph([StepSpec("a", _step, store=_raising("40P01", times))])
    runtime = make_runtime(pg_url, graph=graph)
    await runtime.start(executor=True)
    [sid] = await submit(runtime)
    status = await wait_for_status(runtime, [sid], {"succeeded", "failed"}, within_s=15)
    step = (await steps_of(runtime, sid))["a"]

    assert status[sid] == "succeeded"
    assert (step.attempt, step.output) == (1, {"text": "ok"}), "the step did not run again"
    assert times["left"] == 0


async def test_a_checkpoint_that_keeps_deadlocking_is_retried_within_the_attempt_limit(
    pg_url: str, make_runtime: MakeRuntime
) -> None:
    graph = Graph([StepSpec("a", _step, store=_raising("40001", {"left": -1}))])
    runtime = make_runtime(pg_url, graph=graph, max_attempts=3)
    await runtime.start(executor=True)
    [sid] = await submit(runtime)
    assert (await wait_for_status(runtime, [sid], {"failed"}, within_s=15))[sid] == "failed"
    step = (await steps_of(runtime, sid))["a"]
    events = await events_of(runtime, sid)

    assert (step.status, step.attempt, step.error_retryable) == ("failed", 3, False)
    assert step.error_message == "the database refused this step's result: conflict"
    retrying = [e.payload for e in events if e.payload.get("status") == "retrying"]
    assert len(retrying) == 2
    assert retrying[0]["error"] == {
        "type": "TransientError",
        "message": "the database could not store this step's result: conflict",
        "retryable": True,
    }
