"""The fully offline `local` provider: Tesseract, simplemma, wordfreq and espeak-ng, no key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from langproc.db.base import utcnow
from langproc.text.normalize import normalize_text
from tests.mp3 import mp3_duration
from tests.paths import SAMPLES
from tests.support.engine import make_settings
from tests.support.service import serving


def character_error_rate(expected: str, got: str) -> float:
    previous = list(range(len(got) + 1))
    for i, a in enumerate(expected, 1):
        current = [i]
        for j, b in enumerate(got, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] / max(len(expected), 1)


async def test_a_greek_page_offline(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, provider="auto")
    assert settings.openai_api_key is None
    async with serving(settings) as service:
        data = (SAMPLES / "el-book-paragraph.png").read_bytes()
        sid = await service.submit_file("el-book-paragraph.png", data, "el")
        body = await service.finished(sid)
        audio = await service.http.get(body["audio_url"]) if body["audio_url"] else None
        head = await service.http.get(body["audio_url"], headers={"Range": "bytes=0-99"})

    steps = {s["name"]: s for s in body["steps"]}
    assert body["status"] == "succeeded", steps
    expected = normalize_text((SAMPLES / "el-book-paragraph.txt").read_text())
    assert character_error_rate(expected, body["text"]) < 0.05
    assert "άρχισαν" in body["text"], "the hyphenated word was re-joined"

    by_form = {w["wordform"]: w for w in body["words"]}
    assert by_form["άρχισαν"]["lemma"] == "αρχίζω"
    assert by_form["φλόγες"]["lemma"] == "φλόγα"
    assert all(w["frequency"] >= 0 for w in body["words"])
    assert by_form["τα"]["frequency"] > 6, "a real Zipf frequency"
    assert {lemma["lemma"] for lemma in body["lemmas"]} >= {"αρχίζω", "φλόγα"}

    for name in ("translate", "extract_phrases", "generate_sentences"):
        assert steps[name]["status"] == "skipped"
        assert "OPENAI_API_KEY" in steps[name]["error"]["message"]
    assert steps["speak_sentences"]["status"] == "skipped"
    assert steps["speak_text"]["status"] == "succeeded"
    assert body["usage"]["llm_calls"] == 0

    assert audio is not None
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    assert mp3_duration(audio.content) > 3.0
    assert head.status_code == 206
    assert head.content == audio.content[:100]
    assert head.headers["content-range"] == f"bytes 0-99/{len(audio.content)}"


async def test_a_deleted_texts_audio_is_collected_after_the_delay(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path, provider="local")
    story = (SAMPLES / "es-story.txt").read_text()
    async with serving(settings) as service:
        keep = await service.finished(await service.submit_text(story, "es"))
        gone = await service.finished(await service.submit_text(story + "\n\nFin.", "es"))
        keep_key = (await service.http.get(keep["audio_url"])).headers["etag"].strip('"')
        gone_key = (await service.http.get(gone["audio_url"])).headers["etag"].strip('"')
        blobs, collector = service.runtime.blobs, service.runtime.collector
        assert (await service.http.delete(f"/api/sourcefiles/{gone['id']}")).status_code == 204
        removed = await service.http.get(gone["audio_url"])
        kept_at_once = blobs.path(gone_key).exists()
        await collector.collect_once()
        kept_within_delay = blobs.path(gone_key).exists()
        later = utcnow() + timedelta(seconds=settings.blob_collect_delay_s + 1)
        await collector.collect_once(now=later)
        kept = await service.http.get(keep["audio_url"])

    assert removed.status_code == 404
    assert kept_at_once, "a request never unlinks a file"
    assert kept_within_delay, "the collector waits for the safety delay"
    assert not blobs.path(gone_key).exists(), "the deleted text's own audio is collected"
    assert blobs.path(keep_key).exists()
    assert kept.status_code == 200
