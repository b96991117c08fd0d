"""generate_sentences: example sentences at the learner's level for the lemmas worth studying
in this text (see `steps.study`), each with its translation and the target word marked."""

from __future__ import annotations

from langproc.errors import StepSkipped
from langproc.languages import language_name
from langproc.steps import checks
from langproc.steps.answers import SentenceAnswer, SentencesAnswer
from langproc.steps.context import StepContext
from langproc.steps.llm import generate, require_llm
from langproc.steps.models import Lemma, Lemmas, Sentence, Sentences, Words
from langproc.steps.study import choose_lemmas

# How many lemmas get an example sentence.
MOST_USEFUL = 12
MAX_SENTENCE_CHARS = 300


async def generate_sentences(ctx: StepContext) -> Sentences:
    llm = require_llm(ctx)
    lemmas = ctx.output_of("describe_lemmas", Lemmas)
    words = ctx.output_of("extract_words", Words)
    if lemmas is None or not lemmas.lemmas:
        raise StepSkipped("there are no lemmas to write sentences for")
    language, level = ctx.source.language, ctx.source.level
    lexicon = ctx.providers.lexicon
    chosen = choose_lemmas(
        lemmas.lemmas,
        words.words if words is not None else [],
        language=language,
        level=level,
        count=MOST_USEFUL,
        is_function_word=lexicon.is_function_word if lexicon is not None else None,
    )
    if not chosen:
        raise StepSkipped("the text has no content words to write example sentences for")
    answer = await generate(
        llm,
        task="generate_sentences",
        system=(
            f"You write example sentences in {language_name(language)} for learners at CEFR "
            f"level {level} whose language is {language_name(ctx.source.native_language)}. The "
            "data lists lemmas, one per line: the lemma, a tab, its part of speech, a tab, its "
            "meaning. For each lemma write one short, natural sentence at that level that uses "
            "it, with its translation; name the lemma as given and the form it takes in the "
            "sentence exactly as written there."
        ),
        data="\n".join(
            f"{lemma.lemma}\t{lemma.part_of_speech or '-'}\t{', '.join(lemma.translations[:2])}"
            for lemma in chosen
        ),
        output=SentencesAnswer,
    )
    by_lemma = {lemma.lemma.casefold(): lemma for lemma in chosen}
    sentences: dict[str, Sentence] = {}
    for item in answer.sentences:
        sentence = _checked(item, by_lemma, language)
        if sentence is not None:
            sentences.setdefault(sentence.sentence.casefold(), sentence)
    return Sentences(sentences=list(sentences.values()))


def _checked(item: SentenceAnswer, chosen: dict[str, Lemma], language: str) -> Sentence | None:
    """The sentence if it is plain text of the language for one of the chosen lemmas."""
    target = chosen.get(item.target_lemma.strip().casefold())
    text = checks.gloss(item.sentence, MAX_SENTENCE_CHARS)
    # A sentence may name a brand or a place in another script, not be written in one.
    if target is None or not text or not checks.in_script(text, language, share=0.8):
        return None
    form = checks.word(item.target_form, language) or ""
    if form.casefold() not in text.casefold():
        form = _form_in(text, target.lemma)
    used = [lemma for lemma in item.lemmas if lemma.strip().casefold() in chosen]
    return Sentence(
        sentence=text,
        translation=checks.gloss(item.translation, MAX_SENTENCE_CHARS),
        lemmas=list(dict.fromkeys([target.lemma, *used])),
        cefr_level=item.cefr_level,
        target_lemma=target.lemma,
        target_form=form,
    )


def _form_in(sentence: str, lemma: str) -> str:
    """The word of `sentence` that looks most like a form of `lemma` (a shared start), or ''."""
    stem = lemma.casefold()[: max(3, len(lemma) - 3)]
    for token in sentence.split():
        word = token.strip(".,;:!?«»\"“”„()…·—–'’")
        if word.casefold().startswith(stem):
            return word
    return ""
