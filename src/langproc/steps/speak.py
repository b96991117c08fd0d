"""speak_text and speak_sentences: audio of the whole text (in chunks) and of each sentence."""

from __future__ import annotations

import asyncio
import io
import wave

from langproc.errors import StepSkipped
from langproc.providers.ports import SpeechAudio, SpeechSynthesizer
from langproc.steps.context import StepContext
from langproc.steps.llm import source_text
from langproc.steps.models import Audio, SentenceAudio, SentenceAudios, Sentences
from langproc.steps.text import split_into_chunks

SUFFIXES = {"audio/mpeg": ".mp3", "audio/wav": ".wav"}


def _speech(ctx: StepContext) -> SpeechSynthesizer:
    if ctx.providers.speech is None:
        raise StepSkipped("no speech provider is configured")
    return ctx.providers.speech


async def _store(ctx: StepContext, audio: SpeechAudio, characters: int) -> Audio:
    key = await ctx.blobs.store(audio.data, SUFFIXES.get(audio.content_type, ""))
    return Audio(blob_key=key, content_type=audio.content_type, characters=characters)


def join_audio(parts: list[SpeechAudio]) -> SpeechAudio:
    """One file from consecutive parts: WAV frames are merged, MP3 frames concatenated."""
    if len(parts) == 1 or parts[0].content_type != "audio/wav":
        return SpeechAudio(b"".join(p.data for p in parts), parts[0].content_type)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        for index, part in enumerate(parts):
            with wave.open(io.BytesIO(part.data), "rb") as reader:
                if index == 0:
                    writer.setparams(reader.getparams())
                writer.writeframes(reader.readframes(reader.getnframes()))
    return SpeechAudio(out.getvalue(), "audio/wav")


async def speak_text(ctx: StepContext) -> Audio:
    speech = _speech(ctx)
    text = source_text(ctx)
    parts = [
        await speech.speak(chunk, ctx.source.language)
        for chunk in split_into_chunks(text, speech.max_input_chars)
    ]
    return await _store(ctx, join_audio(parts), len(text))


async def speak_sentences(ctx: StepContext) -> SentenceAudios:
    speech = _speech(ctx)
    sentences = ctx.output_of("generate_sentences", Sentences)
    if sentences is None or not sentences.sentences:
        raise StepSkipped("there are no sentences to speak")

    async def spoken(index: int, text: str) -> SentenceAudio:
        audio = await speech.speak(text, ctx.source.language)
        return SentenceAudio(sentence_index=index, audio=await _store(ctx, audio, len(text)))

    # All at once: the provider's own limit bounds how many calls are in flight. The first
    # failure cancels the rest and is raised as itself, for the engine to classify.
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(spoken(index, sentence.sentence))
                for index, sentence in enumerate(sentences.sentences)
            ]
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return SentenceAudios(items=[task.result() for task in tasks])
