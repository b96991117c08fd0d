"""translate: the text in the learner's language, paragraph by paragraph."""

from __future__ import annotations

from langproc.languages import language_name
from langproc.steps.context import StepContext
from langproc.steps.llm import generate_chunked, require_llm, source_text
from langproc.steps.models import Translation

# Characters of source text per call: well inside any current model's context and output limit.
CHUNK_CHARS = 12_000


async def translate(ctx: StepContext) -> Translation:
    llm = require_llm(ctx)
    source, target = language_name(ctx.source.language), language_name(ctx.source.native_language)
    answers = await generate_chunked(
        llm,
        task="translate",
        system=(
            f"You translate {source} texts into {target} for language learners. Translate "
            "faithfully and naturally, paragraph by paragraph, keeping the paragraphs "
            "separated by a blank line. Put the whole translation in `translation`."
        ),
        text=source_text(ctx),
        output=Translation,
        chunk_chars=CHUNK_CHARS,
    )
    return Translation(translation="\n\n".join(a.translation.strip() for a in answers))
