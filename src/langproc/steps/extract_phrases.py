"""extract_phrases: idioms and multi-word expressions of the text, chunk by chunk."""

from __future__ import annotations

from langproc.languages import language_name
from langproc.steps import checks
from langproc.steps.context import StepContext
from langproc.steps.llm import generate_chunked, require_llm, source_text
from langproc.steps.models import Phrase, Phrases

# Characters of source text per call: the answer (a few phrases per paragraph) stays far
# below any model's output limit.
CHUNK_CHARS = 8_000


async def extract_phrases(ctx: StepContext) -> Phrases:
    llm = require_llm(ctx)
    answers = await generate_chunked(
        llm,
        task="extract_phrases",
        system=(
            f"You help learners of {language_name(ctx.source.language)}. List the idioms, "
            "collocations and multi-word expressions in the text, each with its translations "
            f"into {language_name(ctx.source.native_language)}, a literal translation, and a "
            "short usage note. Return an empty list if there are none."
        ),
        text=source_text(ctx),
        output=Phrases,
        chunk_chars=CHUNK_CHARS,
    )
    seen: set[str] = set()
    phrases: list[Phrase] = []
    for phrase in (p for answer in answers for p in answer.phrases):
        kept = _checked(phrase)
        if kept is not None and kept.phrase.casefold() not in seen:
            seen.add(kept.phrase.casefold())
            phrases.append(kept)
    return Phrases(phrases=phrases)


def _checked(phrase: Phrase) -> Phrase | None:
    """The phrase with its glosses checked; None if it is not plain text of the page."""
    words = checks.gloss(phrase.phrase, checks.MAX_GLOSS_CHARS)
    if not words:
        return None
    return Phrase(
        phrase=words,
        translations=checks.glosses(phrase.translations),
        literal_translation=checks.gloss(phrase.literal_translation),
        notes=checks.gloss(phrase.notes, checks.MAX_NOTE_CHARS),
    )
