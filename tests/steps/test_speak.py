"""speak_text with the real espeak-ng: a long text is spoken chunk by chunk into one MP3 file
on disk, holding about one chunk's audio in memory at a time."""

from __future__ import annotations

import tracemalloc
import uuid

import pytest

from langproc.errors import PermanentError
from langproc.providers.espeak import EspeakSpeech
from langproc.providers.ports import Providers, SpeechAudio
from langproc.runtime import Runtime
from langproc.steps.context import BlobAccess, Source, StepContext
from langproc.steps.speak import speak_text
from tests.mp3 import mp3_duration
from tests.paths import SAMPLES


async def _no_source() -> bytes:
    raise AssertionError("speak_text does not read the upload")


def _context(runtime: Runtime, speech: object, text: str) -> StepContext:
    return StepContext(
        source=Source(uuid.uuid4(), "el", "en", "text", text, "text/plain"),
        providers=Providers(text=None, transcriber=None, speech=speech, lexicon=None),  # type: ignore[arg-type]
        outputs={"transcribe": {"text": text}},
        blobs=BlobAccess(_no_source, runtime.blobs.put, runtime.blobs.writer),
        run_blocking=runtime.run_blocking,
    )


async def test_long_text_is_spoken_into_one_file_a_chunk_at_a_time(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    story = (SAMPLES / "el-story.txt").read_text().strip()
    text = "\n\n".join([story] * (6000 // len(story) + 1))
    speech = EspeakSpeech(runtime.run_blocking, max_input_chars=300)
    tracemalloc.start()
    try:
        audio = await speak_text(_context(runtime, speech, text))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    data = runtime.blobs.path(audio.blob_key).read_bytes()
    assert audio.content_type == "audio/mpeg"
    assert audio.blob_key.endswith(".mp3")
    assert audio.characters == len(text)
    # Every byte of the joined file is an MP3 frame, and it lasts as long as the text takes.
    assert mp3_duration(data) > len(text) / 30
    # A chunk of 300 characters is about 0.75 MB as WAV; all 20+ of them would be 15 MB.
    assert peak < 4 * 1024 * 1024, f"{peak:,} bytes at the peak for {len(data):,} bytes of MP3"
    assert not list(runtime.blobs.root.glob(".*.tmp")), "the temporary file was moved in place"


class MixedSpeech:
    """Answers MP3, then WAV: parts that cannot be joined by concatenation."""

    max_input_chars = 20

    def __init__(self) -> None:
        self.calls = 0

    async def speak(self, text: str, language: str) -> SpeechAudio:
        self.calls += 1
        return SpeechAudio(b"\xff\xf3 frame", "audio/mpeg" if self.calls == 1 else "audio/wav")


async def test_parts_that_cannot_be_joined_fail_and_leave_no_file(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    ctx = _context(runtime, MixedSpeech(), "Ένα δύο τρία.\n\nΤέσσερα πέντε έξι.")
    with pytest.raises(PermanentError, match="only audio/mpeg parts can be joined"):
        await speak_text(ctx)
    assert not [p for p in runtime.blobs.root.rglob("*") if p.is_file()]
