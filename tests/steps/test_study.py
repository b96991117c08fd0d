"""The lemmas chosen for example sentences, on the real sample stories with the real lexicon
(simplemma lemmas, wordfreq frequencies): content words, never function words or names."""

from __future__ import annotations

import pytest

from langproc.providers.lexicon import LocalLexicon
from langproc.steps.models import Lemma, Word
from langproc.steps.study import choose_lemmas
from tests.paths import SAMPLES
from tests.steps.function_words import FUNCTION_WORDS

LEXICON = LocalLexicon()


def local_words(language: str) -> tuple[list[Word], list[Lemma]]:
    text = (SAMPLES / f"{language}-story.txt").read_text(encoding="utf-8")
    words: dict[str, Word] = {}
    for form in LEXICON.tokenize(text, language):
        words.setdefault(
            form.casefold(),
            Word(
                wordform=form,
                lemma=LEXICON.lemma(form, language),
                frequency=LEXICON.zipf_frequency(form, language),
            ),
        )
    lemmas = {
        w.lemma: Lemma(lemma=w.lemma, frequency=LEXICON.zipf_frequency(w.lemma, language))
        for w in words.values()
    }
    return list(words.values()), list(lemmas.values())


@pytest.mark.parametrize("language", sorted(FUNCTION_WORDS))
def test_no_function_word_is_chosen_for_sentences(language: str) -> None:
    words, lemmas = local_words(language)
    chosen = choose_lemmas(
        lemmas,
        words,
        language=language,
        level="B1",
        count=12,
        is_function_word=LEXICON.is_function_word,
    )

    picked = [lemma.lemma for lemma in chosen]
    assert len(picked) == 12, picked
    assert not [p for p in picked if p.casefold() in FUNCTION_WORDS[language]], picked
    forms = {w.lemma: w.wordform for w in words}
    assert not [p for p in picked if forms[p].casefold() in FUNCTION_WORDS[language]], picked
    if language != "de":
        assert not [p for p in picked if p[0].isupper()], f"names chosen: {picked}"


def test_the_level_moves_the_choice_to_rarer_words() -> None:
    words, lemmas = local_words("fr")

    def mean_frequency(level: str) -> float:
        chosen = choose_lemmas(
            lemmas, words, language="fr", level=level, count=8, is_function_word=None
        )
        return sum(lemma.frequency for lemma in chosen) / len(chosen)

    assert mean_frequency("A1") > mean_frequency("B1") > mean_frequency("C2")


def test_a_model_part_of_speech_keeps_grammar_words_and_names_out() -> None:
    lemmas = [
        Lemma(lemma="θάλασσα", part_of_speech="noun", frequency=4.6),
        Lemma(lemma="αυτός", part_of_speech="pronoun", frequency=6.0),
        Lemma(lemma="Μαρία", part_of_speech="proper noun", frequency=4.5),
        Lemma(lemma="τρία", part_of_speech="numeral", frequency=4.6),
    ]
    words = [Word(wordform=lemma.lemma, lemma=lemma.lemma, part_of_speech=lemma.part_of_speech)
             for lemma in lemmas]  # fmt: skip

    chosen = choose_lemmas(
        lemmas, words, language="el", level="B1", count=12, is_function_word=None
    )

    assert [lemma.lemma for lemma in chosen] == ["θάλασσα"]
