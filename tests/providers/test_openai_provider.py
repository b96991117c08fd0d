"""The OpenAI adapter, through the real `openai` SDK, against the fake server on loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
import pytest_asyncio
from pydantic import BaseModel

from langproc.errors import PermanentError, TransientError
from langproc.providers.openai_provider import (
    Limiter,
    OpenAIProvider,
    classify,
    strict_json_schema,
)
from langproc.providers.usage import Usage, current_usage
from langproc.settings import Settings
from langproc.steps.models import Lemmas, Phrases, Sentences, Translation, Words
from tests.fakes.openai_server import FakeOpenAI, Fault
from tests.paths import SAMPLES

REPO = SAMPLES.parents[1]

STORY = (SAMPLES / "el-story.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(samples_dir=SAMPLES) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_fake(fake: FakeOpenAI) -> None:
    fake.reset()


def make_provider(base_url: str, limiter: Limiter | None = None, **settings: Any) -> OpenAIProvider:
    config = Settings(
        _env_file=None,
        openai_api_key="sk-test",
        openai_base_url=base_url,
        text_model="text-model",
        vision_model="vision-model",
        **settings,
    )
    return OpenAIProvider.from_settings(config, limiter or anyio.CapacityLimiter(8))


@pytest_asyncio.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    adapter = make_provider(fake.base_url, provider_timeout_s=5)
    yield adapter
    await adapter.aclose()


async def extract_words(provider: OpenAIProvider) -> Words:
    return await provider.generate(
        task="extract_words", system="List words.", user=STORY, output=Words
    )


@pytest.mark.parametrize("model", [Words, Phrases, Lemmas, Sentences, Translation])
async def test_generate_returns_a_validated_model_drawn_from_the_text(
    provider: OpenAIProvider, fake: FakeOpenAI, model: type[BaseModel]
) -> None:
    answer = await provider.generate(task="step", system="Be useful.", user=STORY, output=model)

    assert isinstance(answer, model)
    request = fake.requests[-1]["body"]
    assert request["model"] == provider.text_model
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["strict"] is True
    assert request["response_format"]["json_schema"]["schema"] == strict_json_schema(model)
    assert [m["role"] for m in request["messages"]] == ["system", "user"]


async def test_generated_words_come_from_the_input(provider: OpenAIProvider) -> None:
    words = await extract_words(provider)

    assert words.words
    for word in words.words:
        assert word.wordform in STORY
        assert word.lemma == word.wordform.lower()
        assert 0 <= word.centrality <= 1


@pytest.mark.parametrize("model", [Words, Phrases, Lemmas, Sentences, Translation])
def test_strict_schema_requires_every_property_and_forbids_extras(model: type[BaseModel]) -> None:
    def objects(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for key, value in node.items():
                if key != "properties":
                    yield from objects(value)
                else:
                    for sub in value.values():
                        yield from objects(sub)
        elif isinstance(node, list):
            for item in node:
                yield from objects(item)

    schema = strict_json_schema(model)
    found = list(objects(schema))
    assert len(found) >= 1
    for node in found:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    assert '"default"' not in str(schema).replace("'", '"')


async def test_transcribe_returns_the_text_registered_for_a_sample_image(
    provider: OpenAIProvider, fake: FakeOpenAI
) -> None:
    image = (SAMPLES / "el-book-paragraph.png").read_bytes()
    expected = (SAMPLES / "el-book-paragraph.txt").read_text(encoding="utf-8").strip()

    text = await provider.transcribe(image, "image/png", "el")

    assert text == expected
    request = fake.requests[-1]["body"]
    assert request["model"] == provider.vision_model
    parts = request["messages"][1]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "blank line" in request["messages"][0]["content"]
    assert fake.stats.calls_by_task == {"transcribe": 1}


async def test_speak_returns_mp3_and_counts_characters(
    provider: OpenAIProvider, fake: FakeOpenAI
) -> None:
    usage = Usage()
    token = current_usage.set(usage)
    try:
        audio = await provider.speak("Καλημέρα σας, τι κάνετε;", "el")
    finally:
        current_usage.reset(token)

    assert audio.content_type == "audio/mpeg"
    assert audio.data[:2] == b"\xff\xfb"  # an MPEG-1 Layer III frame header
    assert usage == Usage(tts_characters=len("Καλημέρα σας, τι κάνετε;"))
    body = fake.requests[-1]["body"]
    assert (body["model"], body["voice"], body["response_format"]) == (
        provider.tts_model,
        provider.tts_voice,
        "mp3",
    )


async def test_speak_refuses_text_over_the_limit_without_calling(
    provider: OpenAIProvider, fake: FakeOpenAI
) -> None:
    with pytest.raises(PermanentError, match="split it"):
        await provider.speak("α" * (provider.max_input_chars + 1), "el")
    assert fake.stats.total_calls == 0


async def test_usage_is_recorded_for_every_answer_even_an_invalid_one(
    provider: OpenAIProvider, fake: FakeOpenAI
) -> None:
    usage = Usage()
    token = current_usage.set(usage)
    try:
        await extract_words(provider)
        fake.force(Fault.SCHEMA_VIOLATION)
        with pytest.raises(TransientError):
            await extract_words(provider)
    finally:
        current_usage.reset(token)

    assert usage.llm_calls == 2
    assert usage.input_tokens == 2 * (len(STORY) // 4)  # the fake counts 4 characters a token
    assert usage.output_tokens > 0


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (Fault.RATE_LIMIT, TransientError, "rate limited"),
        (Fault.SERVER_ERROR, TransientError, r"provider error \(500\)"),
        (Fault.MALFORMED_JSON, TransientError, "not valid Words JSON"),
        (Fault.SCHEMA_VIOLATION, TransientError, "not valid Words JSON"),
        (Fault.REFUSAL, PermanentError, "refused .*can't help"),
        (Fault.UNAUTHORIZED, PermanentError, r"set OPENAI_API_KEY \(or LANGPROC_OPENAI_API_KEY\)"),
        (Fault.BAD_REQUEST, PermanentError, r"\(400\): Invalid 'messages'"),
        (Fault.NOT_FOUND, PermanentError, "'text-model' was not found.*LANGPROC_TEXT_MODEL"),
    ],
)
async def test_faults_are_classified_once_with_no_sdk_retry(
    provider: OpenAIProvider,
    fake: FakeOpenAI,
    fault: Fault,
    error: type[Exception],
    message: str,
) -> None:
    fake.force(fault)

    with pytest.raises(error, match=message) as caught:
        await extract_words(provider)

    assert type(caught.value) is error
    assert fake.stats.total_calls == 1
    assert fake.stats.faults_injected == {fault.value: 1}
    assert (await extract_words(provider)).words  # the next call succeeds


async def test_rate_limit_carries_retry_after(provider: OpenAIProvider, fake: FakeOpenAI) -> None:
    fake.set_transient_failures(1.0, faults=(Fault.RATE_LIMIT,), retry_after_s=7)

    with pytest.raises(TransientError) as caught:
        await provider.speak("Γεια σου", "el")

    assert caught.value.retry_after_s == 7


async def test_a_slow_answer_times_out_as_transient(fake: FakeOpenAI) -> None:
    fake.slow_response_s = 10
    fake.force(Fault.TIMEOUT)
    adapter = make_provider(fake.base_url, provider_timeout_s=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match=r"did not answer within 0.3 s"):
            await extract_words(adapter)
    finally:
        await adapter.aclose()
    assert time.monotonic() - started < 3


async def test_model_errors_name_the_setting_of_the_capability(
    provider: OpenAIProvider, fake: FakeOpenAI
) -> None:
    fake.force(Fault.NOT_FOUND, times=None)
    with pytest.raises(PermanentError, match="LANGPROC_VISION_MODEL"):
        await provider.transcribe(b"\x89PNG", "image/png", "el")
    with pytest.raises(PermanentError, match="LANGPROC_TTS_MODEL"):
        await provider.speak("Γεια", "el")


def _status_error(
    status: int, headers: dict[str, str], body: object = None
) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request)
    return openai.APIStatusError("error", response=response, body=body)


def test_classify_reads_every_form_of_retry_after_and_spots_exhausted_quota(
    provider: OpenAIProvider,
) -> None:
    call = provider._call("translate", "m", "LANGPROC_TEXT_MODEL")
    in_ms = classify(_status_error(429, {"retry-after-ms": "1500", "retry-after": "9"}), call)
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    as_date = classify(_status_error(503, {"retry-after": date}), call)
    quota = classify(_status_error(429, {}, {"code": "insufficient_quota", "message": "No"}), call)

    assert isinstance(in_ms, TransientError)
    assert in_ms.retry_after_s == 1.5
    assert isinstance(as_date, TransientError)
    assert 25 < (as_date.retry_after_s or 0) <= 30
    assert isinstance(quota, PermanentError)
    assert "quota" in quota.message


@pytest.mark.parametrize(
    "make_limiter", [lambda: anyio.CapacityLimiter(2), lambda: asyncio.Semaphore(2)]
)
async def test_the_limiter_bounds_concurrent_calls(fake: FakeOpenAI, make_limiter: Any) -> None:
    fake.set_latency(150)
    limited = make_provider(fake.base_url, make_limiter())
    unlimited = make_provider(fake.base_url, anyio.CapacityLimiter(6))
    try:
        await asyncio.gather(*(extract_words(limited) for _ in range(6)))
        assert (fake.stats.total_calls, fake.stats.max_in_flight) == (6, 2)
        fake.reset()
        fake.set_latency(150)
        await asyncio.gather(*(extract_words(unlimited) for _ in range(6)))
        assert fake.stats.max_in_flight > 2  # the server does see concurrency when allowed
    finally:
        await limited.aclose()
        await unlimited.aclose()


async def test_fake_forced_faults_match_task_and_count(
    provider: OpenAIProvider, fake: FakeOpenAI
) -> None:
    fake.force(Fault.REFUSAL, times=2, task="translate")

    await extract_words(provider)
    for _ in range(2):
        with pytest.raises(PermanentError):
            await provider.generate(task="translate", system="", user=STORY, output=Translation)
    answer = await provider.generate(task="translate", system="", user=STORY, output=Translation)

    assert answer.translation.startswith("[en] ")
    stats = fake.stats
    assert stats.calls_by_schema == {"extract_words": 1, "translate": 3}
    assert stats.faults_injected == {"refusal": 2}


async def test_fake_checks_the_api_key() -> None:
    with FakeOpenAI(api_key="sk-right") as server:
        adapter = make_provider(server.base_url)
        try:
            with pytest.raises(PermanentError, match="API key was rejected"):
                await extract_words(adapter)
        finally:
            await adapter.aclose()


@pytest.fixture
def fake_process() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", "0", "--latency-ms", "20"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("FAKE_OPENAI_READY "), line
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout:
            process.stdout.close()


async def test_fake_as_a_process_is_controlled_and_counted_over_http(fake_process: str) -> None:
    root = fake_process.removesuffix("/v1")
    adapter = make_provider(fake_process)
    try:
        async with httpx.AsyncClient(base_url=root) as http:
            await http.post("/_faults", json={"force": [{"fault": "server_error", "times": 1}]})
            with pytest.raises(TransientError):
                await extract_words(adapter)
            await extract_words(adapter)
            stats = (await http.get("/_stats")).json()
    finally:
        await adapter.aclose()

    assert stats["total_calls"] == 2
    assert stats["calls_by_endpoint"] == {"/v1/chat/completions": 2}
    assert stats["calls_by_schema"] == {"extract_words": 2}
    assert stats["faults_injected"] == {"server_error": 1}
    assert stats["max_in_flight"] == 1
