"""Providers are chosen per capability by settings (docs/api.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from langproc.providers.cache import CachedSpeech, CachedTextGenerator, CachedTranscriber
from langproc.providers.espeak import EspeakSpeech
from langproc.providers.factory import build_providers
from langproc.providers.tesseract import TesseractTranscriber
from langproc.runtime import make_run_blocking
from langproc.settings import Settings


class NoCache:
    async def get(self, key: str) -> bytes | None:
        return None

    async def put(self, key: str, value: bytes, blob_key: str | None = None) -> None:
        return None


class NoFiles:
    async def put(self, data: bytes, suffix: str = "") -> str:
        raise AssertionError("not stored in these tests")

    async def get(self, key: str) -> bytes:
        raise FileNotFoundError(key)


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def _build(settings: Settings) -> Any:
    return build_providers(
        settings, make_run_blocking(anyio.CapacityLimiter(1)), NoCache(), NoFiles()
    )


async def test_auto_without_a_key_is_local(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    providers = _build(_settings(tmp_path))
    assert providers.text is None
    assert isinstance(providers.transcriber, TesseractTranscriber)
    assert isinstance(providers.speech, EspeakSpeech)
    assert providers.lexicon is not None


async def test_auto_with_a_key_is_openai_for_everything(tmp_path: Path) -> None:
    providers = _build(_settings(tmp_path, openai_api_key="sk-test"))
    assert isinstance(providers.text, CachedTextGenerator)
    assert isinstance(providers.transcriber, CachedTranscriber)
    assert isinstance(providers.speech, CachedSpeech)
    for close in providers.closers:
        await close()


async def test_per_capability_overrides(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, openai_api_key="sk-test", ocr_provider="local", speech_provider="local"
    )
    providers = _build(settings)
    assert isinstance(providers.text, CachedTextGenerator)
    assert isinstance(providers.transcriber, TesseractTranscriber)
    assert isinstance(providers.speech, EspeakSpeech)
    for close in providers.closers:
        await close()
