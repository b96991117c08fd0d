"""speak_sentences against the fake speech endpoint: calls run concurrently within the provider
limit, each is told the language, and a slower learner pace reaches the endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from langproc.providers.openai_provider import OpenAIProvider
from langproc.providers.ports import Providers
from langproc.settings import Settings
from langproc.steps.context import BlobAccess, Source, StepContext
from langproc.steps.models import Sentence, SentenceAudios, Sentences
from langproc.steps.speak import speak_sentences
from tests.fakes.openai_server import FakeOpenAI

SENTENCES = [f"Αυτή είναι η πρόταση νούμερο {n}, για να ακουστεί." for n in range(8)]
LIMIT = 3


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    # Latency keeps each call open long enough for the next ones to overlap it.
    with FakeOpenAI(latency_ms=150) as server:
        yield server


async def speak(fake: FakeOpenAI, **settings: Any) -> SentenceAudios:
    config = Settings(
        _env_file=None, openai_api_key="sk-test", openai_base_url=fake.base_url, **settings
    )
    provider = OpenAIProvider.from_settings(config, anyio.CapacityLimiter(LIMIT))
    stored: dict[str, bytes] = {}

    async def store(data: bytes, suffix: str) -> str:
        key = f"{len(stored)}{suffix}"
        stored[key] = data
        return key

    async def no_source() -> bytes:
        raise AssertionError("speak_sentences does not read the upload")

    def no_writer() -> Any:
        raise AssertionError("a sentence's audio is stored whole")

    async def run_blocking(fn: Any, *args: Any) -> Any:
        return fn(*args)

    ctx = StepContext(
        source=Source(uuid.uuid4(), "el", "en", "text", "…", "text/plain"),
        providers=Providers(text=None, transcriber=None, speech=provider, lexicon=None),
        outputs={
            "generate_sentences": Sentences(
                sentences=[Sentence(sentence=s) for s in SENTENCES]
            ).model_dump()
        },
        blobs=BlobAccess(read_source=no_source, store=store, writer=no_writer),
        run_blocking=run_blocking,
    )
    try:
        return await speak_sentences(ctx)
    finally:
        await provider.aclose()


async def test_sentences_are_spoken_concurrently_within_the_provider_limit(
    fake: FakeOpenAI,
) -> None:
    audios = await speak(fake)

    assert [item.sentence_index for item in audios.items] == list(range(len(SENTENCES)))
    assert [item.audio.characters for item in audios.items] == [len(s) for s in SENTENCES]
    assert fake.stats.calls_by_endpoint == {"/v1/audio/speech": len(SENTENCES)}
    assert 1 < fake.stats.max_in_flight <= LIMIT


async def test_the_speech_call_is_told_the_language_and_a_slower_pace(fake: FakeOpenAI) -> None:
    await speak(fake, tts_model="gpt-4o-mini-tts", speech_speed=0.8)

    bodies = [r["body"] for r in fake.requests if r["path"] == "/v1/audio/speech"]
    assert len(bodies) == len(SENTENCES)
    assert all("'el'" in body["instructions"] for body in bodies)
    assert all("slowly" in body["instructions"] for body in bodies)
    assert all(body["speed"] == 0.8 for body in bodies)


async def test_tts_1_gets_no_instructions_it_would_refuse(fake: FakeOpenAI) -> None:
    await speak(fake, tts_model="tts-1")

    bodies = [r["body"] for r in fake.requests if r["path"] == "/v1/audio/speech"]
    assert bodies
    assert all("instructions" not in body and "speed" not in body for body in bodies)
