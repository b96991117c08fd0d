"""describe_lemmas: one entry per lemma, many lemmas per LLM call."""

from __future__ import annotations

from langproc.errors import StepSkipped
from langproc.steps.context import StepContext
from langproc.steps.llm import language_name
from langproc.steps.models import Lemma, Lemmas, Words

# Lemmas described per LLM call: big enough for one call per typical page.
BATCH = 60


async def describe_lemmas(ctx: StepContext) -> Lemmas:
    words = ctx.output_of("extract_words", Words)
    if words is None or not words.words:
        raise StepSkipped("there are no words to describe")
    language = ctx.source.language
    wanted: dict[tuple[str, str], Lemma] = {}
    for word in words.words:
        key = (word.lemma, word.part_of_speech)
        if key not in wanted:
            wanted[key] = Lemma(lemma=word.lemma, part_of_speech=word.part_of_speech)
    frequency = ctx.providers.lexicon.zipf_frequency if ctx.providers.lexicon else None
    lemmas = list(wanted.values())
    if ctx.providers.text is not None:
        described: list[Lemma] = []
        for start in range(0, len(lemmas), BATCH):
            batch = lemmas[start : start + BATCH]
            answer = await ctx.providers.text.generate(
                task="describe_lemmas",
                system=(
                    f"You write dictionary entries for learners of {language_name(language)} "
                    f"whose language is {language_name(ctx.source.native_language)}. For each "
                    "lemma give translations, a short etymology, register, CEFR level (A1-C2), "
                    "a mnemonic and synonyms. Keep the lemmas and parts of speech as given."
                ),
                user="\n".join(f"{lemma.lemma}\t{lemma.part_of_speech}" for lemma in batch),
                output=Lemmas,
            )
            described.extend(answer.lemmas)
        lemmas = described
    if frequency is not None:
        lemmas = [
            lemma.model_copy(update={"frequency": frequency(lemma.lemma, language)})
            for lemma in lemmas
        ]
    return Lemmas(lemmas=lemmas)
