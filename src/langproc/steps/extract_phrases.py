"""extract_phrases: idioms and multi-word expressions of the text."""

from __future__ import annotations

from langproc.steps.context import StepContext
from langproc.steps.llm import language_name, require_llm, source_text
from langproc.steps.models import Phrases


async def extract_phrases(ctx: StepContext) -> Phrases:
    llm = require_llm(ctx)
    return await llm.generate(
        task="extract_phrases",
        system=(
            f"You help learners of {language_name(ctx.source.language)}. List the idioms, "
            "collocations and multi-word expressions in the text, each with its translations "
            f"into {language_name(ctx.source.native_language)}, a literal translation, and a "
            "short usage note. Return an empty list if there are none."
        ),
        user=source_text(ctx),
        output=Phrases,
    )
