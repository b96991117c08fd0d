"""describe_lemmas: one entry per lemma, many lemmas per LLM call, each lemma described once
per language (lemmas the shared table already has are reused, not paid for again).

Lemmas the model leaves out of a batch are asked for once more in the same step; what it leaves
out again is kept as asked (with no description), so no later document pays to ask again.
Every string of an entry is checked before it can reach the shared table, and frequencies
always come from wordfreq.
"""

from __future__ import annotations

import unicodedata

from langproc.errors import StepSkipped, TransientError
from langproc.languages import language_name
from langproc.providers.ports import Lexicon, TextGenerator
from langproc.steps import checks
from langproc.steps.answers import LemmaAnswer, LemmasAnswer
from langproc.steps.context import StepContext
from langproc.steps.llm import generate
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
    else:
        lemmas = [lemma.model_copy(update={"frequency": 0.0}) for lemma in lemmas]
    return Lemmas(lemmas=lemmas)


def _with_frequencies(lemmas: list[Lemma], language: str, lexicon: Lexicon) -> list[Lemma]:
    """Blocking: every lemma's Zipf frequency, from wordfreq alone."""
    return [
        lemma.model_copy(update={"frequency": lexicon.zipf_frequency(lemma.lemma, language)})
        for lemma in lemmas
    ]


async def _describe(ctx: StepContext, llm: TextGenerator, todo: list[Lemma]) -> dict[Key, Lemma]:
    """Describe `todo`, asking once more for what the model left out; all of it ends asked."""
    described = await _ask(ctx, llm, todo)
    left_out = [lemma for lemma in todo if _key(lemma) not in described]
    if left_out:
        described |= await _ask(ctx, llm, left_out)
    for lemma in todo:
        described.setdefault(_key(lemma), lemma.model_copy(update={"described": True}))
    return described


def _key(lemma: Lemma) -> Key:
    return (lemma.lemma, lemma.part_of_speech)


def _match(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


async def _ask(ctx: StepContext, llm: TextGenerator, todo: list[Lemma]) -> dict[Key, Lemma]:
    """Describe `todo` in batches; answers are matched back to the lemmas asked for."""
    language = ctx.source.language
    described: dict[Key, Lemma] = {}
    for start in range(0, len(todo), BATCH):
        for asked, entry in await _answer(ctx, llm, todo[start : start + BATCH]):
            described[_key(asked)] = _checked(entry, asked, language)
    return described


async def _answer(
    ctx: StepContext, llm: TextGenerator, batch: list[Lemma]
) -> list[tuple[Lemma, LemmaAnswer]]:
    """The model's entries for `batch`, matched to the lemmas asked for. A batch whose answer
    was cut off at the model's output limit is asked for in halves instead."""
    language = ctx.source.language
    try:
        answer = await generate(
            llm,
            task="describe_lemmas",
            system=(
                f"You write dictionary entries for learners of {language_name(language)} whose "
                f"language is {language_name(ctx.source.native_language)}. The data lists "
                "lemmas, one per line: the lemma, a tab, its part of speech. Describe each one, "
                "keeping the lemma and part of speech exactly as given. Give gender, article "
                "and plural only for nouns, principal parts only for verbs, and an etymology or "
                "mnemonic only when you are sure of it (null otherwise)."
            ),
            data="\n".join(f"{lemma.lemma}\t{lemma.part_of_speech}" for lemma in batch),
            output=LemmasAnswer,
        )
    except TransientError as exc:
        if exc.kind != "truncated" or len(batch) < 2:
            raise
        half = len(batch) // 2
        return [*await _answer(ctx, llm, batch[:half]), *await _answer(ctx, llm, batch[half:])]
    by_lemma = {_match(entry.lemma): entry for entry in answer.lemmas}
    return [
        (asked, by_lemma[_match(asked.lemma)]) for asked in batch if _match(asked.lemma) in by_lemma
    ]


def _checked(entry: LemmaAnswer, asked: Lemma, language: str) -> Lemma:
    """The entry for `asked`, keeping only the strings that pass `steps.checks`."""
    noun = entry.part_of_speech in ("noun", "proper noun") or asked.part_of_speech == "noun"
    return Lemma(
        lemma=asked.lemma,
        part_of_speech=asked.part_of_speech,
        translations=checks.glosses(entry.translations),
        etymology=checks.gloss(entry.etymology, checks.MAX_NOTE_CHARS),
        register=entry.register_,
        cefr_level=entry.cefr_level,
        mnemonic=checks.gloss(entry.mnemonic, checks.MAX_NOTE_CHARS),
        synonyms=checks.words(entry.synonyms, language, limit=3),
        gender=entry.gender if noun and entry.gender != "none" else "",
        article=(checks.word(entry.article, language, max_words=2) or "") if noun else "",
        plural=(checks.word(entry.plural, language) or "") if noun else "",
        principal_parts=checks.words(entry.principal_parts, language),
        described=True,
    )
