"""LocalLexicon: simplemma lemmas, wordfreq frequencies, tokenization."""

from __future__ import annotations

import pytest
import wordfreq

from langproc.providers.lexicon import LocalLexicon, tokenize
from tests.paths import SAMPLES


@pytest.mark.parametrize(
    ("language", "word", "lemma"),
    [
        ("el", "βόδια", "βόδι"),
        ("el", "άρχισαν", "αρχίζω"),
        ("el", "φλόγες", "φλόγα"),
        ("fr", "chevaux", "cheval"),
        ("fr", "mangeait", "manger"),
        ("fr", "yeux", "œil"),
        ("es", "perros", "perro"),
        ("es", "comieron", "comer"),
        ("es", "fue", "ser"),
        ("de", "Häuser", "Haus"),
        ("de", "ging", "gehen"),
        ("de", "Kinder", "Kind"),
    ],
)
def test_lemmas(language: str, word: str, lemma: str) -> None:
    assert LocalLexicon().lemma(word, language) == lemma


@pytest.mark.parametrize(
    ("language", "word"),
    [("el", "και"), ("el", "σπίτι"), ("fr", "maison"), ("es", "casa"), ("de", "Haus")],
)
def test_common_words_have_a_zipf_frequency(language: str, word: str) -> None:
    assert 3.0 < LocalLexicon().zipf_frequency(word, language) < 8.0


def test_rare_words_are_rarer_than_common_ones() -> None:
    lexicon = LocalLexicon()
    assert lexicon.zipf_frequency("ξεφυσούν", "el") < lexicon.zipf_frequency("σπίτι", "el")


def test_unsupported_languages_fall_back_without_crashing() -> None:
    lexicon = LocalLexicon()
    assert lexicon.lemma("Hello", "xx") == "hello"
    assert lexicon.zipf_frequency("hello", "xx") == 0.0
    # wordfreq knows Japanese but needs MeCab for it: without MeCab the word counts as unseen.
    try:
        expected = wordfreq.zipf_frequency("東京", "ja")
    except ImportError:
        expected = 0.0
    assert lexicon.zipf_frequency("東京", "ja") == expected


def test_tokenize_keeps_words_and_drops_punctuation_and_numbers() -> None:
    text = "Ο Ιάσωνας πλησίασε τα *βόδια*, που άρχισαν... το 1821 (!)"
    assert tokenize(text, "el") == [
        "Ο",
        "Ιάσωνας",
        "πλησίασε",
        "τα",
        "βόδια",
        "που",
        "άρχισαν",
        "το",
    ]


def test_tokenize_splits_french_elisions_but_keeps_compounds() -> None:
    words = tokenize("L'homme qu'il a vu aujourd'hui, c’est-à-dire 3,5 fois.", "fr")
    assert words == [
        "L'",
        "homme",
        "qu'",
        "il",
        "a",
        "vu",
        "aujourd'hui",
        "c’",
        "est-à-dire",
        "fois",
    ]
    assert LocalLexicon().lemma("L'", "fr") == "le"


@pytest.mark.parametrize("language", ["el", "fr", "es", "de"])
def test_sample_stories_give_lemmas_and_frequencies(language: str) -> None:
    lexicon = LocalLexicon()
    words = tokenize((SAMPLES / f"{language}-story.txt").read_text(encoding="utf-8"), language)
    assert len(words) > 80
    known = [w for w in words if lexicon.zipf_frequency(w, language) > 0]
    assert len(known) / len(words) > 0.9
    assert sum(lexicon.lemma(w, language) != w.lower() for w in words) > 10
