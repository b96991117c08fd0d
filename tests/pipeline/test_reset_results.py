"""A reset step loses its result rows, and sentence audio is served only from a finished
`speak_sentences`: a re-run's new sentences never get the old sentences' audio."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select

from langproc.api.app import create_app
from langproc.db.models import StepStatus
from langproc.db.results import Audio
from langproc.pipeline.outcomes import Outcome
from langproc.providers.usage import Usage
from langproc.runtime import Runtime, build_runtime
from langproc.settings import ExecutorPlacement, Settings
from langproc.steps.models import Sentence, Sentences
from tests.fakes.openai_server import FakeOpenAI
from tests.support.service import asgi_client, openai_settings, serving

GREEK = "Ο ήλιος έλαμψε ζεστά και ο ταξιδιώτης έβγαλε το παλτό του."
NEW = Sentences(
    sentences=[
        Sentence(sentence="Ο βοριάς φύσηξε.", translation="The north wind blew."),
        Sentence(sentence="Ο ήλιος έλαμψε.", translation="The sun shone."),
    ]
)


@asynccontextmanager
async def api_without_executor(
    settings: Settings,
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The API alone, so that the test decides when each step is checkpointed."""
    runtime = build_runtime(settings)
    async with asgi_client(create_app(runtime=runtime, executor=ExecutorPlacement.OFF)) as http:
        yield runtime, http


async def sentence_audio_rows(runtime: Runtime, sid: str) -> int:
    async with runtime.sessions() as session:
        count = await session.scalar(
            select(func.count()).where(
                Audio.sourcefile_id == uuid.UUID(sid), Audio.sentence_position.is_not(None)
            )
        )
    return int(count or 0)


async def test_new_sentences_never_get_the_old_sentences_audio(
    db_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    settings = openai_settings(db_url, tmp_path, fake_llm)
    async with serving(settings) as service:
        sid = await service.submit_text(GREEK, "el")
        first = await service.finished(sid, within_s=30)
    assert first["status"] == "succeeded", first["steps"]
    old_audio = {s["audio_url"] for s in first["sentences"]}
    assert None not in old_audio

    async with api_without_executor(settings) as (runtime, http):
        response = await http.post(
            f"/api/sourcefiles/{sid}/retry", json={"steps": ["generate_sentences"]}
        )
        assert response.status_code == 202, response.text
        assert await sentence_audio_rows(runtime, sid) == 0, "the reset step's rows are gone"
        [claim] = await runtime.engine.claim(10)
        assert claim.step == "generate_sentences"
        outcome = Outcome(StepStatus.SUCCEEDED, output=NEW.model_dump(mode="json"))
        assert await runtime.engine.checkpoint(claim, outcome, Usage())
        between = (await http.get(f"/api/sourcefiles/{sid}")).json()

    assert [s["sentence"] for s in between["sentences"]] == [s.sentence for s in NEW.sentences]
    assert [s["audio_url"] for s in between["sentences"]] == [None, None]
    assert between["audio_url"] == first["audio_url"], "the text's audio was not reset"

    async with serving(settings) as service:
        last = await service.finished(sid, within_s=30)
    assert last["status"] == "succeeded", last["steps"]
    new_audio = [s["audio_url"] for s in last["sentences"]]
    assert None not in new_audio
    assert not set(new_audio) & old_audio
