"""Cached speech is a stored file: the cache entry names it, and keeps it from being collected."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from langproc.db.base import utcnow
from langproc.db.cache import DbResultCache
from langproc.db.models import CacheEntry
from langproc.providers.cache import CachedSpeech
from langproc.providers.espeak import EspeakSpeech
from langproc.providers.usage import Usage, current_usage
from langproc.runtime import Runtime


async def test_speech_is_cached_by_file_key_not_by_value(runtime: Runtime) -> None:
    speech = CachedSpeech(
        EspeakSpeech(runtime.run_blocking), DbResultCache(runtime.sessions), "espeak", runtime.blobs
    )
    usage = Usage()
    token = current_usage.set(usage)
    try:
        first = await speech.speak("Καλημέρα σας.", "el")
        again = await speech.speak("Καλημέρα σας.", "el")
    finally:
        current_usage.reset(token)

    assert again == first
    assert usage.tts_characters == len("Καλημέρα σας."), "spoken once, then from the cache"
    async with runtime.sessions() as session:
        (entry,) = (await session.execute(select(CacheEntry))).scalars().all()
    key = hashlib.sha256(first.data).hexdigest() + ".mp3"
    assert entry.blob_key == key
    assert len(entry.value) < 200, "the entry holds the file's key, not the audio"
    assert runtime.blobs.path(key).read_bytes() == first.data

    later = utcnow() + timedelta(seconds=runtime.settings.blob_collect_delay_s + 1)
    await runtime.collector.collect_once(now=later)
    assert runtime.blobs.path(key).exists(), "a cache entry keeps its file"


async def test_a_lost_cached_file_is_spoken_again(runtime: Runtime) -> None:
    speech = CachedSpeech(
        EspeakSpeech(runtime.run_blocking), DbResultCache(runtime.sessions), "espeak", runtime.blobs
    )
    first = await speech.speak("Καλησπέρα.", "el")
    path = runtime.blobs.path(hashlib.sha256(first.data).hexdigest() + ".mp3")
    path.unlink()
    assert await speech.speak("Καλησπέρα.", "el") == first
    assert path.read_bytes() == first.data
