"""describe_lemmas: one entry per lemma, many lemmas per LLM call, each lemma described once
per language (lemmas the shared table already has are reused, not paid for again)."""

from __future__ import annotations

from langproc.errors import StepSkipped
from langproc.providers.ports import Lexicon, TextGenerator
from langproc.steps.context import StepContext
from langproc.steps.llm import language_name
from langproc.steps.models import Lemma, Lemmas, Words

# Lemmas described per LLM call: big enough for one call per typical page.
BATCH = 60

Key = tuple[str, str]


async def describe_lemmas(ctx: StepContext) -> Lemmas:
    words = ctx.output_of("extract_words", Words)
    if words is None or not words.words:
        raise StepSkipped("there are no words to describe")
    language = ctx.source.language
    wanted: dict[Key, Lemma] = {}
    for word in words.words:
        wanted.setdefault(
            (word.lemma, word.part_of_speech),
            Lemma(lemma=word.lemma, part_of_speech=word.part_of_speech),
        )
    llm = ctx.providers.text
    known = (
        await ctx.lemmas.described(language, list(wanted), by_llm=llm is not None)
        if ctx.lemmas is not None
        else {}
    )
    todo = [lemma for key, lemma in wanted.items() if key not in known]
    fresh = await _describe(ctx, llm, todo) if llm is not None and todo else {}
    lemmas = [known.get(key) or fresh.get(key) or bare for key, bare in wanted.items()]
    lexicon = ctx.providers.lexicon
    if lexicon is not None:
        lemmas = await ctx.run_blocking(_with_frequencies, lemmas, language, lexicon)
    return Lemmas(lemmas=lemmas)


def _with_frequencies(lemmas: list[Lemma], language: str, lexicon: Lexicon) -> list[Lemma]:
    """Blocking: fills in Zipf frequencies the entries lack."""
    return [
        lemma
        if lemma.frequency
        else lemma.model_copy(update={"frequency": lexicon.zipf_frequency(lemma.lemma, language)})
        for lemma in lemmas
    ]


async def _describe(ctx: StepContext, llm: TextGenerator, todo: list[Lemma]) -> dict[Key, Lemma]:
    """Describe `todo` in batches; answers are matched back to the lemmas asked for."""
    described: dict[Key, Lemma] = {}
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        answer = await llm.generate(
            task="describe_lemmas",
            system=(
                f"You write dictionary entries for learners of {language_name(ctx.source.language)}"
                f" whose language is {language_name(ctx.source.native_language)}. For each lemma "
                "given (one per line: lemma, a tab, part of speech) give translations, a short "
                "etymology, register, CEFR level (A1-C2), a mnemonic and synonyms. Keep every "
                "lemma and part of speech exactly as given."
            ),
            user="\n".join(f"{lemma.lemma}\t{lemma.part_of_speech}" for lemma in batch),
            output=Lemmas,
        )
        by_lemma = {entry.lemma: entry for entry in answer.lemmas}
        for asked in batch:
            entry = by_lemma.get(asked.lemma)
            if entry is not None:
                key = (asked.lemma, asked.part_of_speech)
                described[key] = entry.model_copy(update={"part_of_speech": asked.part_of_speech})
    return described
