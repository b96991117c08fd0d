"""Never paying twice must never serve a wrong answer: a result is reused only for the same
model and the same prompt (which names the learner's language)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.openai_server import FakeOpenAI
from tests.support.service import openai_settings, serving

TEXT = "Ο ήλιος έλαμπε πάνω από τη θάλασσα.\n\nΤα παιδιά έπαιζαν στην άμμο."
TASKS = ("translate", "extract_words", "extract_phrases")


def calls(fake: FakeOpenAI, task: str) -> list[dict[str, Any]]:
    """The bodies of the chat calls the fake received for `task`, in order."""
    return [
        r["body"]
        for r in fake.requests
        if r["path"].endswith("/chat/completions")
        and r["body"]["response_format"]["json_schema"]["name"] == task
    ]


async def test_another_model_is_asked_again(
    db_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    for model in ("model-a", "model-b"):
        settings = openai_settings(db_url, tmp_path, fake_llm, text_model=model)
        async with serving(settings) as service:
            body = await service.finished(await service.submit_text(TEXT, "el"))
        assert body["status"] == "succeeded", body["steps"]
        assert body["usage"]["llm_calls"] > 0, f"{model} answered from another model's results"

    for task in TASKS:
        assert [c["model"] for c in calls(fake_llm, task)] == ["model-a", "model-b"], task


async def test_another_native_language_is_translated_again(
    db_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    async with serving(openai_settings(db_url, tmp_path, fake_llm)) as service:
        for native in ("en", "fr"):
            sid = await service.submit_text(TEXT, "el", native_language=native)
            body = await service.finished(sid)
            assert body["status"] == "succeeded", body["steps"]

    translations = calls(fake_llm, "translate")
    assert len(translations) == 2, "a French learner must not get the cached English translation"
    systems = [c["messages"][0]["content"] for c in translations]
    assert "English" in systems[0]
    assert "French" in systems[1]
