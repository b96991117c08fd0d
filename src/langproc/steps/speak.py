"""speak_text and speak_sentences: audio of the whole text (in chunks) and of each sentence."""

from __future__ import annotations

import asyncio

from langproc.errors import PermanentError, StepSkipped
from langproc.providers.ports import AUDIO_SUFFIXES, SpeechSynthesizer
from langproc.steps.context import StepContext
from langproc.steps.llm import source_text
from langproc.steps.models import Audio, SentenceAudio, SentenceAudios, Sentences
from langproc.text.normalize import split_into_chunks

# MP3 frames stand alone, so consecutive parts join by concatenation; other formats cannot.
JOINABLE = "audio/mpeg"


def _speech(ctx: StepContext) -> SpeechSynthesizer:
    if ctx.providers.speech is None:
        raise StepSkipped("no speech provider is configured")
    return ctx.providers.speech


async def speak_text(ctx: StepContext) -> Audio:
    """Speak the text chunk by chunk, appending each part to one file as it arrives."""
    speech = _speech(ctx)
    text = source_text(ctx)
    content_type: str | None = None
    async with ctx.blobs.writer() as out:
        for index, chunk in enumerate(split_into_chunks(text, speech.max_input_chars)):
            audio = await speech.speak(chunk, ctx.source.language)
            if index and (audio.content_type != content_type or content_type != JOINABLE):
                raise PermanentError(
                    f"the speech provider returned {content_type} then {audio.content_type}: "
                    f"only {JOINABLE} parts can be joined into one file"
                )
            content_type = audio.content_type
            await out.write(audio.data)
        if content_type is None:
            raise StepSkipped("there is no text to speak")
        key = await out.commit(AUDIO_SUFFIXES.get(content_type, ""))
    return Audio(blob_key=key, content_type=content_type, characters=len(text))


async def speak_sentences(ctx: StepContext) -> SentenceAudios:
    speech = _speech(ctx)
    sentences = ctx.output_of("generate_sentences", Sentences)
    if sentences is None or not sentences.sentences:
        raise StepSkipped("there are no sentences to speak")

    async def spoken(index: int, text: str) -> SentenceAudio:
        audio = await speech.speak(text, ctx.source.language)
        key = await ctx.blobs.store(audio.data, AUDIO_SUFFIXES.get(audio.content_type, ""))
        stored = Audio(blob_key=key, content_type=audio.content_type, characters=len(text))
        return SentenceAudio(sentence_index=index, audio=stored)

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
