"""normalize_text and split_into_chunks."""

from __future__ import annotations

import unicodedata

import pytest

from langproc.text.normalize import normalize_text, split_into_chunks
from tests.paths import SAMPLES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("λέ-\nξη", "λέξη"),
        ("λέ\u00ad\nξη", "λέξη"),
        ("λέ\u2010\nξη", "λέξη"),
        (
            "Ο Ιάσωνας πλησίασε τα βόδια που άρ-\nχισαν να ξεφυ-\r\nσούν",
            "Ο Ιάσωνας πλησίασε τα βόδια που άρχισαν να ξεφυσούν",
        ),
        ("a well-known fact", "a well-known fact"),
        ("rendez-vous\navec Jean-\nPierre", "rendez-vous avec Jean-Pierre"),
        ("a dash -\nthen more", "a dash - then more"),
        ("soft\u00adhyphen inside", "softhyphen inside"),
    ],
)
def test_hyphenation(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_paragraphs_lines_and_spaces() -> None:
    raw = "  First line  \nsecond\tline \n\n\n\n Next   paragraph\r\nends here.  \r\n\r\n"
    assert normalize_text(raw) == "First line second line\n\nNext paragraph ends here."


def test_page_numbers_are_dropped() -> None:
    raw = "12\n\nText that goes\n- 13 -\non the next page.\n\n— 14 —\n"
    assert normalize_text(raw) == "Text that goes on the next page."
    assert normalize_text("Chapter 12 begins") == "Chapter 12 begins"


def test_nfc_and_page_breaks() -> None:
    decomposed = unicodedata.normalize("NFD", "Καλημέρα, café")
    assert decomposed != "Καλημέρα, café"
    assert normalize_text(decomposed + "\fNext page") == "Καλημέρα, café\n\nNext page"


def test_empty_text() -> None:
    assert normalize_text(" \n\n 7 \n") == ""


def test_normalisation_is_idempotent() -> None:
    once = normalize_text("Ein Satz\nmit Um-\nbruch.\n\n\n12\nZweiter  Absatz.")
    assert normalize_text(once) == once


def long_text(words: int = 20_000) -> str:
    stories = [
        normalize_text(path.read_text(encoding="utf-8"))
        for path in sorted(SAMPLES.glob("*-story.txt"))
    ]
    assert len(stories) == 4
    paragraphs: list[str] = []
    count = 0
    while count < words:
        for story in stories:
            for paragraph in story.split("\n\n"):
                paragraphs.append(paragraph)
                count += len(paragraph.split())
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("max_chars", [5000, 1000, 200, 40, 7])
def test_chunks_fit_keep_order_and_lose_nothing(max_chars: int) -> None:
    text = long_text()
    assert len(text.split()) >= 20_000
    chunks = split_into_chunks(text, max_chars)
    assert all(0 < len(chunk) <= max_chars for chunk in chunks)
    assert all(chunk == chunk.strip() for chunk in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())
    if max_chars >= 40:  # sentence and word cuts fall where there was whitespace
        assert " ".join(chunks).split() == text.split()


def test_whole_paragraphs_join_back_exactly() -> None:
    text = long_text(2_000)
    longest = max(len(p) for p in text.split("\n\n"))
    chunks = split_into_chunks(text, longest + 10)
    assert len(chunks) > 1
    assert "\n\n".join(chunks) == text


def test_long_paragraph_is_cut_between_sentences() -> None:
    text = "One two three. Four five six! Seven eight nine? Ten."
    assert split_into_chunks(text, 30) == [
        "One two three. Four five six!",
        "Seven eight nine? Ten.",
    ]
    assert split_into_chunks(text, 100) == [text]


def test_long_sentence_is_cut_between_words_and_long_words_anywhere() -> None:
    assert split_into_chunks("aaa bbb ccc ddd", 8) == ["aaa bbb", "ccc ddd"]
    assert split_into_chunks("abcdefghij k", 4) == ["abcd", "efgh", "ij k"]


def test_cjk_sentences_are_cut_without_spaces() -> None:
    assert split_into_chunks("今日は晴れ。明日は雨。", 6) == ["今日は晴れ。", "明日は雨。"]


def test_empty_and_invalid() -> None:
    assert split_into_chunks(" \n\n ", 10) == []
    with pytest.raises(ValueError, match="at least 1"):
        split_into_chunks("text", 0)
