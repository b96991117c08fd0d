"""LocalLexicon: simplemma lemmas, wordfreq frequencies, tokenization."""

from __future__ import annotations

import pytest

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
    # wordfreq knows Japanese but needs MeCab, which is not installed.
    assert lexicon.zipf_frequency("東京", "ja") >= 0.0


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


@pytest.mark.parametrize(
    ("language", "word", "lemma"),
    [
        # simplemma's slips: another word, a verb for a noun, an inflected form for a lemma.
        ("el", "γιαγιά", "γιαγιά"),
        ("el", "ανάμεσα", "ανάμεσα"),
        ("el", "πάντα", "πάντα"),
        ("fr", "voisine", "voisine"),
        ("es", "sale", "sale"),
        ("es", "flores", "flor"),
        ("es", "frutas", "fruta"),
        ("fr", "ma", "mon"),
        ("fr", "leurs", "leur"),
        ("fr", "ses", "son"),
        # ... and what simplemma has right stays as it was.
        ("el", "ήταν", "είμαι"),
        ("el", "η", "ο"),
        ("el", "υπάρχει", "υπάρχω"),
        ("el", "παιδιά", "παιδί"),
        ("el", "όλοι", "όλος"),
        ("fr", "enfants", "enfant"),
        ("fr", "légumes", "légume"),
        ("es", "niños", "niño"),
        ("es", "es", "ser"),
        ("de", "Kinder", "Kind"),
        ("de", "heutigen", "heutig"),
    ],
)
def test_lemmas_prefer_a_frequent_word_over_a_slip(language: str, word: str, lemma: str) -> None:
    assert LocalLexicon().lemma(word, language) == lemma


def test_greek_lemmas_are_monotonic() -> None:
    lexicon = LocalLexicon()
    assert lexicon.lemma("µέχρι", "el") == "μέχρι"
    assert lexicon.lemma("Ἡ", "el") == "ο"
    assert lexicon.lemma("παἰδίά", "el") == "παιδί"
    assert lexicon.lemma("τοῦ", "el") == "ο"


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("fr", "Elle arrive à Lyon.", [("elle", "elle"), ("arrive", "arriver"), ("à", "à")]),
        (
            "de",
            "Jeden Morgen backen Kinder. Kinder lachen.",
            [
                ("jeden", "jeder"),
                ("Morgen", "Morgen"),
                ("backen", "backen"),
                ("Kinder", "Kind"),
                ("Kinder", "Kind"),
                ("lachen", "lachen"),
            ],
        ),
        (
            "de",
            "Sie kauft die Kinderzimmerlampe.",
            [
                ("sie", "sie"),
                ("kauft", "kaufen"),
                ("die", "der"),
                ("Kinderzimmerlampe", "Kinderzimmerlampe"),
            ],
        ),
        ("es", "Saluda a Pedro en 1999.", [("saluda", "saluda"), ("a", "a"), ("en", "en")]),
        (
            "el",
            "Το Σάββατο ο Γιάννης πήγε στην Αθήνα.",
            [("το", "ο"), ("Σάββατο", "Σάββατο"), ("ο", "ο"), ("πήγε", "πηγαίνω"), ("στην", "σε")],
        ),
    ],
)
def test_study_words_lower_sentence_starts_and_leave_out_names_and_numbers(
    language: str, text: str, expected: list[tuple[str, str]]
) -> None:
    assert LocalLexicon().study_words(text, language) == expected


def test_a_name_that_is_also_a_word_is_left_out_where_it_appears_inside_a_sentence() -> None:
    pairs = LocalLexicon().study_words("Claire arrive. Je vois Claire. Il fait clair.", "fr")
    assert [form for form, _ in pairs] == ["arrive", "je", "vois", "il", "fait", "clair"]


def test_an_ocr_misread_page_number_and_acronyms_are_not_words() -> None:
    pairs = LocalLexicon().study_words("A7\n\nLa ONU et la MAISON.", "fr")
    assert [form for form, _ in pairs] == ["la", "et", "la", "maison"]
