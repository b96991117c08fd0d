"""extract_words: the distinct word forms worth learning, with lemmas and real frequencies.

Frequencies come from wordfreq (through the lexicon), never from a model. With an LLM, the text
is sent in chunks and every word the model returns is checked: its form must be on the page and
its lemma a plausible word of the language, or it is dropped (see `steps.checks`).
"""

from __future__ import annotations

import re

from langproc.errors import StepSkipped
from langproc.languages import language_name
from langproc.providers.ports import Lexicon
from langproc.steps import checks
from langproc.steps.answers import WordAnswer, WordsAnswer
from langproc.steps.context import StepContext
from langproc.steps.llm import generate_chunked, source_text
from langproc.steps.models import Word, Words

# Characters of source text per call: a model lists about one word per six characters, and the
# answer must stay inside its output limit.
CHUNK_CHARS = 4_000
# Languages that capitalise every noun, so a capital inside a sentence does not mark a name.
_CAPITALISED_NOUNS = frozenset({"de", "lb"})
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# What may stand between a sentence's end and its first word: spaces, quotes, dashes, brackets.
_SENTENCE_START = re.compile(r"(?:^|[.!?…;:·\n])[\s\"'«»“”„‘’()\[\]—–-]*$")


async def extract_words(ctx: StepContext) -> Words:
    text = source_text(ctx)
    lexicon = ctx.providers.lexicon
    language = ctx.source.language
    if ctx.providers.text is None:
        if lexicon is None:
            raise StepSkipped("neither an LLM nor the local lexicon is configured")
        return Words(words=await ctx.run_blocking(_local_words, text, language, lexicon))
    answers = await generate_chunked(
        ctx.providers.text,
        task="extract_words",
        system=(
            f"You help learners of {language_name(language)}. List every distinct word form in "
            "the text that is worth learning (skip names and numbers), each with its dictionary "
            "lemma, part of speech, a short description of its inflection, its translations into "
            f"{language_name(ctx.source.native_language)}, and its centrality to the text "
            "from 0 (incidental) to 1 (essential)."
        ),
        text=text,
        output=WordsAnswer,
        chunk_chars=CHUNK_CHARS,
    )
    on_page = {form.casefold() for form in _forms(text)}
    names = _names(text, language)
    found = [
        word
        for answer in answers
        for item in answer.words
        if (word := _checked(item, language, on_page)) is not None
        and word.part_of_speech not in ("proper noun", "numeral")
        and word.wordform.casefold() not in names
    ]
    words = _distinct(found)
    if lexicon is not None:
        words = await ctx.run_blocking(_with_frequencies, words, language, lexicon)
    return Words(words=words)


def _forms(text: str) -> list[str]:
    """Every run of letters (with inner apostrophes and hyphens) of the text, and its parts."""
    forms: list[str] = []
    for token in text.split():
        token = token.strip(".,;:!?«»\"“”„()[]…·—–'’-")
        forms.append(token)
        forms += [part for part in token.replace("’", "'").replace("'", " ").split() if part]
        forms += token.split("-")
    return forms


def _names(text: str, language: str) -> set[str]:
    """Words (casefolded) written with a capital inside sentences and never in lower case."""
    if language in _CAPITALISED_NOUNS:
        return set()
    capitalised: set[str] = set()
    lower: set[str] = set()
    for match in _TOKEN.finditer(text):
        word = match.group()
        if not word[0].isupper():
            lower.add(word.casefold())
        elif not _SENTENCE_START.search(text, 0, match.start()) and not word.isupper():
            capitalised.add(word.casefold())
    return capitalised - lower


def _checked(item: WordAnswer, language: str, on_page: set[str]) -> Word | None:
    """The model's word if its form is on the page and its lemma is a word of the language."""
    form = checks.word(item.wordform, language, max_words=1)
    lemma = checks.word(item.lemma, language)
    if form is None or lemma is None or form.casefold() not in on_page:
        return None
    return Word(
        wordform=form,
        lemma=lemma,
        part_of_speech=item.part_of_speech,
        inflection=checks.gloss(item.inflection),
        translations=checks.glosses(item.translations),
        centrality=item.centrality,
    )


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
