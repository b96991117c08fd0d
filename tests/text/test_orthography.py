"""normalize_orthography: Greek OCR output and polytonic text in modern monotonic spelling."""

from __future__ import annotations

import pytest
import wordfreq

from langproc.text.orthography import normalize_orthography


def greek_frequency(word: str) -> float:
    return float(wordfreq.zipf_frequency(word, "el"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("µέχρι τα µεσάνυχτα", "μέχρι τα μεσάνυχτα"),  # the micro sign Tesseract writes for μ
        ("Ἡ γιαγιὰ καὶ τὸ παιδί", "Η γιαγιά και το παιδί"),
        ("τοῦ οἱ αὐτὸ εἶναι ᾠδή Ἀθηνᾶ", "του οι αυτό είναι ωδή Αθηνά"),
        ("ἢ ποῦ πῶς", "ή πού πώς"),  # monosyllables that keep their accent
        ("᾿Η πόλη", "Η πόλη"),  # a spacing breathing before a capital
        ("παἰδίά", "παιδιά"),  # OCR's stray marks: the accent that makes a known word stays
        ("ἄνθρωπός του", "άνθρωπός του"),  # an enclitic's second accent is kept
        ("πρωί, ρολόι, προϊόν, γιατί", "πρωί, ρολόι, προϊόν, γιατί"),  # monotonic stays as is
    ],
)
def test_greek_becomes_monotonic(raw: str, expected: str) -> None:
    assert normalize_orthography(raw, "el", greek_frequency) == expected


def test_other_languages_are_left_alone() -> None:
    assert normalize_orthography("5 µm, Ἡ", "fr") == "5 µm, Ἡ"


def test_without_frequencies_the_first_accent_stays() -> None:
    assert normalize_orthography("παἰδίά", "el") == "παιδία"
