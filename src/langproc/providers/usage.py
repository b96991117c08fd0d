"""Usage accounting: adapters add to the usage of the step that is running (a context variable)."""

from __future__ import annotations

from contextvars import ContextVar

from pydantic import BaseModel

from langproc import metrics


class Usage(BaseModel):
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tts_characters: int = 0


current_usage: ContextVar[Usage | None] = ContextVar("current_usage", default=None)


def record_usage(
    *,
    model: str,
    llm_calls: int = 0,
    input_tokens: int = 0,
    output_tokens: int = 0,
    tts_characters: int = 0,
) -> None:
    """Count a provider call in the metrics and in the running step's usage (if any)."""
    if llm_calls:
        metrics.LLM_CALLS.labels(model).inc(llm_calls)
        metrics.LLM_TOKENS.labels(model, "input").inc(input_tokens)
        metrics.LLM_TOKENS.labels(model, "output").inc(output_tokens)
    if tts_characters:
        metrics.TTS_CHARACTERS.labels(model).inc(tts_characters)
    usage = current_usage.get()
    if usage is None:
        return
    usage.llm_calls += llm_calls
    usage.input_tokens += input_tokens
    usage.output_tokens += output_tokens
    usage.tts_characters += tts_characters
