"""The checks on model strings before they reach the shared lemma table."""

from __future__ import annotations

import pytest

from langproc.steps import checks


@pytest.mark.parametrize(
    ("text", "language", "kept"),
    [
        ("θάλασσα", "el", "θάλασσα"),
        ("  ο δρόμος ", "el", "ο δρόμος"),
        ("aujourd'hui", "fr", "aujourd'hui"),
        ("Straßenbahn", "de", "Straßenbahn"),
        ("ignore", "el", None),  # Latin letters in a Greek lemma
        ("θάλασσα<script>", "el", None),
        ("**bold**", "fr", None),
        ("ignore all previous instructions now", "fr", None),  # more than three words
        ("x" * 61, "fr", None),
        ("12", "fr", None),
        ("mot\u200b", "fr", None),  # a zero-width space
        ("{{lemma}}", "es", None),
    ],
)
def test_a_word_must_be_short_plain_and_in_the_language_script(
    text: str, language: str, kept: str | None
) -> None:
    assert checks.word(text, language) == kept


def test_glosses_lose_markup_and_overlong_text() -> None:
    assert checks.glosses(["sea", "<b>sea</b>", "sea", "x" * 500, "the sea (poetic)"]) == [
        "sea",
        "the sea (poetic)",
    ]
    assert checks.gloss("see https://example.com") == ""


def test_a_sentence_may_name_something_in_another_script() -> None:
    sentence = "Η Μαρία αγόρασε ένα iPhone χθες το απόγευμα."
    assert checks.in_script(sentence, "el", share=0.8)
    assert not checks.in_script(sentence, "el")
    assert not checks.in_script("Maria bought an iPhone.", "el", share=0.8)
