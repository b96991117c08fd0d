"""generate_sentences: example sentences for the most useful lemmas."""

from __future__ import annotations

from langproc.errors import StepSkipped
from langproc.steps.context import StepContext
from langproc.steps.llm import language_name, require_llm
from langproc.steps.models import Lemmas, Sentences

# How many lemmas get example sentences: the most frequent ones are the most useful to learn.
MOST_USEFUL = 12


async def generate_sentences(ctx: StepContext) -> Sentences:
    llm = require_llm(ctx)
    lemmas = ctx.output_of("describe_lemmas", Lemmas)
    if lemmas is None or not lemmas.lemmas:
        raise StepSkipped("there are no lemmas to write sentences for")
    useful = sorted(lemmas.lemmas, key=lambda lemma: lemma.frequency, reverse=True)[:MOST_USEFUL]
    return await llm.generate(
        task="generate_sentences",
        system=(
            f"You write short, natural example sentences in {language_name(ctx.source.language)} "
            "for language learners: one sentence per lemma given, each with its translation into "
            f"{language_name(ctx.source.native_language)}, the lemmas it uses, and its CEFR level."
        ),
        user="\n".join(lemma.lemma for lemma in useful),
        output=Sentences,
    )
