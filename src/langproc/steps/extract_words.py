"""extract_words: the distinct word forms worth learning, with lemmas and real frequencies."""

from __future__ import annotations

from langproc.errors import StepSkipped
from langproc.providers.ports import Lexicon
from langproc.steps.context import StepContext
from langproc.steps.llm import language_name, source_text
from langproc.steps.models import Word, Words


async def extract_words(ctx: StepContext) -> Words:
    text = source_text(ctx)
    lexicon = ctx.providers.lexicon
    language = ctx.source.language
    if ctx.providers.text is None:
        if lexicon is None:
            raise StepSkipped("neither an LLM nor the local lexicon is configured")
        return Words(words=await ctx.run_blocking(_local_words, text, language, lexicon))
    answer = await ctx.providers.text.generate(
        task="extract_words",
        system=(
            f"You help learners of {language_name(language)}. List every distinct word form in "
            "the text that is worth learning (skip names and numbers), each with its dictionary "
            "lemma, part of speech, a short description of its inflection, its translations into "
            f"{language_name(ctx.source.native_language)}, and its centrality to the text "
            "from 0 (incidental) to 1 (essential)."
        ),
        user=text,
        output=Words,
    )
    words = _distinct(answer.words)
    if lexicon is not None:
        words = await ctx.run_blocking(_with_frequencies, words, language, lexicon)
    return Words(words=words)


def _with_frequencies(words: list[Word], language: str, lexicon: Lexicon) -> list[Word]:
    """Blocking (the first lookup of a language loads its word list)."""
    return [
        w.model_copy(update={"frequency": lexicon.zipf_frequency(w.wordform, language)})
        for w in words
    ]


def _local_words(text: str, language: str, lexicon: Lexicon) -> list[Word]:
    """Blocking: tokenizing and lemmatizing a page is CPU work."""
    words = [
        Word(wordform=form, lemma=lemma, frequency=lexicon.zipf_frequency(form, language))
        for form, lemma in lexicon.study_words(text, language)
    ]
    return _distinct(words)


def _distinct(words: list[Word]) -> list[Word]:
    seen: set[str] = set()
    kept: list[Word] = []
    for word in words:
        key = word.wordform.casefold()
        if key and key not in seen:
            seen.add(key)
            kept.append(word.model_copy(update={"centrality": min(max(word.centrality, 0.0), 1.0)}))
    return kept
