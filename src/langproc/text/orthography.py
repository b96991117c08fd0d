"""Per-language spelling normalisation of transcriptions and lemmas (pure functions, no I/O).

Greek (`el`): the micro sign becomes mu, and polytonic spelling (or OCR's stray breathings and
accents) becomes monotonic, the only spelling modern Greek dictionaries, word lists and learners
use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Final

Frequency = Callable[[str], float]

_MICRO_SIGN: Final = "\u00b5"
_GREEK_MU: Final = "\u03bc"
_ACUTE: Final = "\u0301"
_DIAERESIS: Final = "\u0308"
# Combining marks of polytonic Greek, after canonical decomposition.
_TO_ACUTE: Final = frozenset({"\u0300", "\u0342"})  # varia (grave), perispomeni (circumflex)
_DROPPED: Final = frozenset(
    {
        "\u0313",  # psili (smooth breathing)
        "\u0314",  # dasia (rough breathing)
        "\u0343",  # koronis
        "\u0345",  # ypogegrammeni (iota subscript)
        "\u0304",  # macron
        "\u0306",  # breve
    }
)
# Spacing forms of the same marks (Tesseract writes them before capitals: "᾿Η").
_SPACING_MARKS: Final = re.compile(
    "[\u1fbd\u1fbf\u1fc0\u1fc1\u1fcd-\u1fcf\u1fdd-\u1fdf\u1fed-\u1fef\u1ffd\u1ffe]"
)
_GREEK_WORD = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff\u0300-\u036f]+")
_VOWELS: Final = frozenset("αεηιουω")
# Vowel pairs written for one sound (unless the second letter has a diaeresis).
_DIGRAPHS: Final = frozenset({"αι", "ει", "οι", "ου", "υι", "αυ", "ευ", "ηυ"})
# Monosyllables that keep their accent in monotonic spelling, to tell them from a homograph.
_ACCENTED_MONOSYLLABLES: Final = frozenset({"ή", "πού", "πώς", "ό"})
_ENCLITICS: Final = frozenset("μου σου του της μας σας τους τον την το τα τις".split())
_NEXT_WORD = re.compile(r"\s+([\u0370-\u03ff\u1f00-\u1fff\u0300-\u036f]+)")


def normalize_orthography(text: str, language: str, frequency: Frequency | None = None) -> str:
    """`text` in the standard modern spelling of `language` (only Greek changes today).

    A Greek word with two accents keeps both before an enclitic ("το τηλέφωνό μου"); elsewhere
    the spelling `frequency` ranks highest is kept, the first accent when none is known. A
    polytonic monosyllable loses its accent ("τὸ" -> "το"), except ή, πού, πώς and ό (ό,τι).
    """
    if language.lower() != "el":
        return text
    text = _SPACING_MARKS.sub("", text.replace(_MICRO_SIGN, _GREEK_MU))

    def monotonic(match: re.Match[str]) -> str:
        following = _NEXT_WORD.match(text, match.end())
        enclitic = following is not None and following.group(1).lower() in _ENCLITICS
        return _monotonic(match.group(), frequency, before_enclitic=enclitic)

    return unicodedata.normalize("NFC", _GREEK_WORD.sub(monotonic, text))


def _monotonic(word: str, frequency: Frequency | None, *, before_enclitic: bool) -> str:
    original = unicodedata.normalize("NFD", word)
    polytonic = any(char in _DROPPED or char in _TO_ACUTE for char in original)
    decomposed = "".join(
        _ACUTE if char in _TO_ACUTE else char for char in original if char not in _DROPPED
    )
    accents = [index for index, char in enumerate(decomposed) if char == _ACUTE]
    if len(accents) > 1 and not (before_enclitic and len(accents) == 2):
        candidates = [_keep_accent(decomposed, keep) for keep in accents]
        if frequency is not None:
            decomposed = max(candidates, key=lambda c: frequency(unicodedata.normalize("NFC", c)))
        else:
            decomposed = candidates[0]
    elif polytonic and len(accents) == 1 and _monosyllable(decomposed):
        if unicodedata.normalize("NFC", decomposed).lower() not in _ACCENTED_MONOSYLLABLES:
            decomposed = decomposed.replace(_ACUTE, "")
    return decomposed


def _keep_accent(decomposed: str, keep: int) -> str:
    return "".join(char for index, char in enumerate(decomposed) if char != _ACUTE or index == keep)


def _monosyllable(decomposed: str) -> bool:
    """One vowel sound: one vowel, a digraph ("τοῦ", "καὶ"), or ι gliding into a vowel ("γιά")."""
    letters = _letters(decomposed.lower())
    nuclei = 0
    for index, letter in enumerate(letters):
        if letter[0] not in _VOWELS:
            continue
        previous = letters[index - 1] if index else " "
        following = letters[index + 1] if index + 1 < len(letters) else " "
        joins_previous = previous[0] + letter[0] in _DIGRAPHS and _DIAERESIS not in letter
        glides = letter[0] == "ι" and previous[0] not in _VOWELS and following[0] in _VOWELS
        if not joins_previous and not glides:
            nuclei += 1
    return nuclei == 1


def _letters(decomposed: str) -> list[str]:
    """Each base letter with the combining marks that follow it."""
    letters: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and letters:
            letters[-1] += char
        else:
            letters.append(char)
    return letters
