"""The capabilities steps need, as Protocols. Steps depend on these only.

Every adapter raises `TransientError` or `PermanentError` (see `langproc.errors`), classified
once where the provider's error is caught; a step never sees a provider's own exception type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
T = TypeVar("T")


# The file name suffix of each audio type a speech provider returns.
AUDIO_SUFFIXES = {"audio/mpeg": ".mp3", "audio/wav": ".wav"}


@dataclass(frozen=True)
class SpeechAudio:
    data: bytes
    content_type: str


class TextGenerator(Protocol):
    """Structured text generation: the answer is validated against `output`."""

    async def generate(self, *, task: str, system: str, user: str, output: type[M]) -> M: ...


class Transcriber(Protocol):
    """Reads the text of a page image in `language` (ISO 639-1)."""

    async def transcribe(self, image: bytes, content_type: str, language: str) -> str: ...


class SpeechSynthesizer(Protocol):
    """Speaks at most `max_input_chars` characters of text per call."""

    max_input_chars: int

    async def speak(self, text: str, language: str) -> SpeechAudio: ...


class Lexicon(Protocol):
    """Lemmas and word frequencies from local data (no network)."""

    def tokenize(self, text: str, language: str) -> list[str]: ...

    def lemma(self, word: str, language: str) -> str: ...

    def study_words(self, text: str, language: str) -> list[tuple[str, str]]:
        """(word form, lemma) for each word worth learning, in order; no names or numbers."""
        ...

    def zipf_frequency(self, word: str, language: str) -> float: ...

    def is_function_word(self, word: str, language: str) -> bool: ...


@dataclass(frozen=True)
class Providers:
    """The ports, chosen by settings; `text` is None when no LLM is configured."""

    text: TextGenerator | None
    transcriber: Transcriber | None
    speech: SpeechSynthesizer | None
    lexicon: Lexicon | None
    # Called once on shutdown (HTTP clients and the like).
    closers: tuple[Callable[[], Awaitable[None]], ...] = ()


class RunBlocking(Protocol):
    """Runs a blocking call in a worker thread and awaits its result (like starlette's
    `run_in_threadpool`)."""

    async def __call__(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...
