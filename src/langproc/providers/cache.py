"""Never pay twice: provider results memoized by everything that determines them.

The key hashes the capability, the provider's model and every input of the call (the system
prompt, the input text or image, the output schema), so a changed prompt or model is a new key
and no version numbers need bumping by hand. Each result is stored the moment the call returns,
so a step interrupted halfway keeps the calls it already paid for.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Protocol

from pydantic import BaseModel

from langproc.providers.ports import (
    AUDIO_SUFFIXES,
    M,
    SpeechAudio,
    SpeechSynthesizer,
    TextGenerator,
    Transcriber,
)


class ResultCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, blob_key: str | None = None) -> None:
        """Store `value`; `blob_key` names a stored file the entry keeps alive."""
        ...


class AudioFiles(Protocol):
    """Where cached speech is kept: files, so that the cache holds only their keys."""

    async def put(self, data: bytes, suffix: str = "") -> str: ...

    async def get(self, key: str) -> bytes: ...


def cache_key(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


@functools.cache
def schema_text(output: type[BaseModel]) -> str:
    """The output model's JSON schema as canonical text (built once per model: pydantic
    builds it anew on every call)."""
    return json.dumps(output.model_json_schema(), sort_keys=True)


class CachedTextGenerator:
    def __init__(self, inner: TextGenerator, cache: ResultCache, model: str) -> None:
        self.inner = inner
        self.cache = cache
        self.model = model

    async def generate(self, *, task: str, system: str, user: str, output: type[M]) -> M:
        key = cache_key("generate", self.model, task, system, user, schema_text(output))
        hit = await self.cache.get(key)
        if hit is not None:
            return output.model_validate_json(hit)
        result = await self.inner.generate(task=task, system=system, user=user, output=output)
        await self.cache.put(key, result.model_dump_json(by_alias=True).encode())
        return result


class CachedTranscriber:
    def __init__(self, inner: Transcriber, cache: ResultCache, model: str) -> None:
        self.inner = inner
        self.cache = cache
        self.model = model

    async def transcribe(self, image: bytes, content_type: str, language: str) -> str:
        key = cache_key("transcribe", self.model, language, image)
        hit = await self.cache.get(key)
        if hit is not None:
            return hit.decode()
        text = await self.inner.transcribe(image, content_type, language)
        await self.cache.put(key, text.encode())
        return text


class _StoredSpeech(BaseModel):
    content_type: str
    blob_key: str


class CachedSpeech:
    """Speech memoized as a stored file; the cache entry holds its key, not the audio."""

    def __init__(
        self, inner: SpeechSynthesizer, cache: ResultCache, model: str, files: AudioFiles
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.model = model
        self.files = files
        self.max_input_chars = inner.max_input_chars

    async def speak(self, text: str, language: str) -> SpeechAudio:
        key = cache_key("speech", self.model, language, text)
        hit = await self.cache.get(key)
        if hit is not None:
            stored = _StoredSpeech.model_validate_json(hit)
            try:
                return SpeechAudio(await self.files.get(stored.blob_key), stored.content_type)
            except FileNotFoundError:
                pass  # the data directory lost it: speak again, the entry stays valid
        audio = await self.inner.speak(text, language)
        blob_key = await self.files.put(audio.data, AUDIO_SUFFIXES.get(audio.content_type, ""))
        stored = _StoredSpeech(content_type=audio.content_type, blob_key=blob_key)
        await self.cache.put(key, stored.model_dump_json().encode(), blob_key=blob_key)
        return audio
