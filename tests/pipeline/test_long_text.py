"""A 20,000-word text is translated and spoken in chunks, in order, within the model's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from langproc.steps.translate import CHUNK_CHARS
from langproc.text.normalize import normalize_text
from tests.fakes.openai_content import unwrap
from tests.fakes.openai_server import FakeOpenAI
from tests.paths import SAMPLES
from tests.support.service import openai_settings, serving

SPEECH_LIMIT = 4096


def long_greek_text(words: int) -> str:
    story = (SAMPLES / "el-story.txt").read_text().strip()
    chapters = []
    while sum(len(c.split()) for c in chapters) < words:
        chapters.append(f"Κεφάλαιο {len(chapters) + 1}.\n\n{story}")
    return "\n\n".join(chapters)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_twenty_thousand_words(sqlite_url: str, tmp_path: Path, fake_llm: FakeOpenAI) -> None:
    text = long_greek_text(20_000)
    assert len(text.split()) >= 20_000
    settings = openai_settings(sqlite_url, tmp_path, fake_llm, max_text_chars=300_000)
    async with serving(settings) as service:
        body = await service.finished(await service.submit_text(text, "el"), within_s=120)
        audio = await service.http.get(body["audio_url"])

    assert body["status"] == "succeeded", body["steps"]
    normalized = normalize_text(text)
    paragraphs = normalized.split("\n\n")

    translated = [
        unwrap(r["body"]["messages"][-1]["content"])
        for r in fake_llm.requests
        if r["path"].endswith("/chat/completions")
        and r["body"]["response_format"]["json_schema"]["name"] == "translate"
    ]
    assert len(translated) > 1
    assert all(len(chunk) <= CHUNK_CHARS for chunk in translated)
    assert "\n\n".join(translated) == normalized
    assert body["translation"].split("\n\n") == [f"[en] {p}" for p in paragraphs]

    spoken = [r["body"]["input"] for r in fake_llm.requests if r["path"].endswith("/speech")]
    sentences = {s["sentence"] for s in body["sentences"]}
    text_chunks = [chunk for chunk in spoken if chunk not in sentences]
    assert len(text_chunks) > 1
    assert all(len(chunk) <= SPEECH_LIMIT for chunk in text_chunks)
    assert "\n\n".join(text_chunks) == normalized
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/mpeg"
