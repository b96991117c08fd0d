"""What every LLM-backed step shares: getting the text generator, or a clear skip."""

from __future__ import annotations

from langproc.errors import StepSkipped
from langproc.providers.ports import TextGenerator
from langproc.steps.context import StepContext
from langproc.steps.models import Text

NEEDS_LLM = (
    "this step needs an LLM: set OPENAI_API_KEY (or LANGPROC_OPENAI_BASE_URL for a local "
    "OpenAI-compatible server) and LANGPROC_PROVIDER=auto or openai, then retry the step"
)

LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "lt": "Lithuanian", "lv": "Latvian", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian",
    "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def require_llm(ctx: StepContext) -> TextGenerator:
    if ctx.providers.text is None:
        raise StepSkipped(NEEDS_LLM)
    return ctx.providers.text


def source_text(ctx: StepContext) -> str:
    """The transcribed (or uploaded) text every later step works on."""
    text = ctx.output_of("transcribe", Text)
    if text is None or not text.text.strip():
        raise StepSkipped("there is no text to work on")
    return text.text
