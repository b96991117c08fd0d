"""The language pipeline end to end on the OpenAI-compatible path, against the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

from langproc.steps.images import prepare_image
from langproc.text.normalize import normalize_text
from tests.fakes.openai_content import unwrap
from tests.fakes.openai_server import FakeOpenAI
from tests.paths import SAMPLES
from tests.support.service import openai_settings, serving

STORIES = {"el": "el-story.txt", "fr": "fr-story.txt", "es": "es-story.txt", "de": "de-story.txt"}


@pytest.mark.parametrize("language", list(STORIES))
async def test_a_story_ends_with_every_result(
    language: str, db_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    story = (SAMPLES / STORIES[language]).read_text()
    async with serving(openai_settings(db_url, tmp_path, fake_llm)) as service:
        body = await service.finished(await service.submit_text(story, language))

    assert body["status"] == "succeeded", body["steps"]
    steps = {s["name"]: s["status"] for s in body["steps"]}
    assert steps.pop("transcribe") == "skipped"
    assert set(steps.values()) == {"succeeded"}
    assert body["text"] == normalize_text(story)
    assert body["translation"]
    assert body["words"]
    story_words = set(normalize_text(story).split())
    for word in body["words"]:
        assert word["wordform"].strip(".,;:!?«»\"'") in story_words | {word["wordform"]}
        assert word["lemma"]
        assert 0 <= word["centrality"] <= 1
    assert any(word["frequency"] > 0 for word in body["words"]), "real Zipf frequencies"
    lemmas = {(lemma["lemma"], lemma["part_of_speech"]) for lemma in body["lemmas"]}
    assert lemmas == {(w["lemma"], w["part_of_speech"]) for w in body["words"]}
    assert all(lemma["translations"] for lemma in body["lemmas"])
    assert body["phrases"]
    assert body["sentences"]
    assert all(s["audio_url"] for s in body["sentences"])
    assert body["audio_url"]
    assert body["usage"]["llm_calls"] == 5
    assert body["usage"]["tts_characters"] >= len(body["text"])


@pytest.mark.parametrize("sample", ["el-book-paragraph.png", "el-book-line.jpg"])
async def test_greek_photos_are_transcribed_by_the_vision_model(
    sample: str, sqlite_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    data = (SAMPLES / sample).read_bytes()
    expected = (SAMPLES / sample).with_suffix(".txt").read_text()
    # The model is sent the image as prepared for it (oriented, downscaled, re-encoded).
    fake_llm.register_image(prepare_image(data, max_pixels=40_000_000).data, expected)
    async with serving(openai_settings(sqlite_url, tmp_path, fake_llm)) as service:
        sid = await service.submit_file(sample, data, "el")
        body = await service.finished(sid)

    assert body["status"] == "succeeded", body["steps"]
    assert body["kind"] == "image"
    assert body["text"] == normalize_text(expected)
    assert fake_llm.stats.calls_by_task.get("transcribe") == 1
    assert body["words"]
    assert body["audio_url"]


async def test_an_identical_upload_makes_no_provider_call(
    db_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    story = (SAMPLES / "el-story.txt").read_text()
    async with serving(openai_settings(db_url, tmp_path, fake_llm)) as service:
        first = await service.finished(await service.submit_text(story, "el"))
        calls = fake_llm.stats.total_calls
        second = await service.finished(await service.submit_text(story, "el"))

    assert first["status"] == second["status"] == "succeeded"
    assert calls > 0
    assert fake_llm.stats.total_calls == calls
    assert second["usage"]["llm_calls"] == 0
    assert second["words"] == first["words"]
    assert second["translation"] == first["translation"]


async def test_lemmas_are_described_once_per_language(
    db_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    story = (SAMPLES / "el-story.txt").read_text()
    paragraphs = story.split("\n\n")
    async with serving(openai_settings(db_url, tmp_path, fake_llm)) as service:
        first = await service.finished(await service.submit_text(story, "el"))
        fake_llm.requests.clear()
        second = await service.finished(
            await service.submit_text(f"Βρέχει.\n\n{paragraphs[0]}", "el")
        )

    assert first["status"] == second["status"] == "succeeded"
    known = {(w["lemma"], w["part_of_speech"]) for w in first["words"]}
    wanted = {(w["lemma"], w["part_of_speech"]) for w in second["words"]}
    asked = [
        r["body"]["messages"][-1]["content"]
        for r in fake_llm.requests
        if r["path"].endswith("/chat/completions")
        and r["body"]["response_format"]["json_schema"]["name"] == "describe_lemmas"
    ]
    new = wanted - known
    assert new, "the second document has lemmas of its own"
    assert known & wanted, "the two documents share lemmas"
    # One call, asking for exactly the lemmas not described yet: never a known one again.
    [content] = asked
    assert {tuple(line.split("\t")) for line in unwrap(content).splitlines()} == new
