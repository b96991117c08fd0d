"""Chooses an adapter per capability from settings (docs/api.md)."""

from __future__ import annotations

import anyio

from langproc.providers.cache import (
    AudioFiles,
    CachedSpeech,
    CachedTextGenerator,
    CachedTranscriber,
    ResultCache,
)
from langproc.providers.espeak import EspeakSpeech
from langproc.providers.lexicon import LocalLexicon
from langproc.providers.openai_provider import OpenAIProvider
from langproc.providers.ports import (
    Providers,
    RunBlocking,
    SpeechSynthesizer,
    TextGenerator,
    Transcriber,
)
from langproc.providers.tesseract import TesseractTranscriber
from langproc.settings import ProviderChoice, Settings


def resolve(choice: ProviderChoice, settings: Settings) -> ProviderChoice:
    """`auto` means openai where a key or base URL is configured, local otherwise."""
    if choice != ProviderChoice.AUTO:
        return choice
    configured = settings.openai_api_key is not None or settings.openai_base_url is not None
    return ProviderChoice.OPENAI if configured else ProviderChoice.LOCAL


def build_providers(
    settings: Settings, run_blocking: RunBlocking, cache: ResultCache, files: AudioFiles
) -> Providers:
    main = resolve(settings.provider, settings)
    ocr = resolve(settings.ocr_provider or main, settings)
    speech = resolve(settings.speech_provider or main, settings)
    openai: OpenAIProvider | None = None
    if ProviderChoice.OPENAI in (main, ocr, speech):
        limiter = anyio.CapacityLimiter(settings.max_concurrent_provider_calls)
        openai = OpenAIProvider.from_settings(settings, limiter)
    endpoint = settings.openai_base_url or "https://api.openai.com/v1"
    text: TextGenerator | None = None
    transcriber: Transcriber = TesseractTranscriber(run_blocking)
    speaker: SpeechSynthesizer = EspeakSpeech(
        run_blocking, words_per_minute=round(150 * settings.speech_speed)
    )
    if openai is not None and main == ProviderChoice.OPENAI:
        text = CachedTextGenerator(openai, cache, f"{endpoint}|{settings.text_model}")
    if openai is not None and ocr == ProviderChoice.OPENAI:
        transcriber = CachedTranscriber(openai, cache, f"{endpoint}|{settings.vision_model}")
    if openai is not None and speech == ProviderChoice.OPENAI:
        voice = f"{endpoint}|{settings.tts_model}|{settings.tts_voice}|{settings.speech_speed:g}"
        speaker = CachedSpeech(openai, cache, voice, files)
    return Providers(
        text=text,
        transcriber=transcriber,
        speech=speaker,
        lexicon=LocalLexicon(),
        closers=(openai.aclose,) if openai is not None else (),
    )
