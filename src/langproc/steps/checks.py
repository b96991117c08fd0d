"""Checks on strings a model returns before they are used or stored (the lemma table is shared
by every user, so a page that talks the model into writing something odd must not put it there).

A word must be short, written in the script of its language, and free of markup and control
characters; free text (translations, notes) must be short and free of markup.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# The Unicode script names (the first word of a letter's character name) each language is
# written in; languages not listed are not checked for script.
_SCRIPTS: Final[dict[str, frozenset[str]]] = {
    "el": frozenset({"GREEK"}),
    "ru": frozenset({"CYRILLIC"}),
    "uk": frozenset({"CYRILLIC"}),
    "bg": frozenset({"CYRILLIC"}),
    "sr": frozenset({"CYRILLIC", "LATIN"}),
    "ar": frozenset({"ARABIC"}),
    "he": frozenset({"HEBREW"}),
    "hi": frozenset({"DEVANAGARI"}),
    "th": frozenset({"THAI"}),
    "ko": frozenset({"HANGUL", "CJK"}),
    "ja": frozenset({"CJK", "HIRAGANA", "KATAKANA"}),
    "zh": frozenset({"CJK"}),
}
_LATIN_LANGUAGES: Final = frozenset(
    "ca cs da de en es et fi fr hr hu id it lt lv nl no pl pt ro sk sl sv tr vi".split()
)
# Markup, template and prompt syntax; none of it belongs in a word or a short gloss.
_MARKUP: Final = re.compile(r"[<>{}\\`|#*_=~^$@]|://|\n\n")
_WORD_PUNCTUATION: Final = frozenset("'’-‐. ")

MAX_WORD_CHARS: Final = 60
MAX_GLOSS_CHARS: Final = 120
MAX_NOTE_CHARS: Final = 400


def script_of(char: str) -> str:
    """The script name of a letter (`GREEK`, `LATIN`, `CJK`, …)."""
    return unicodedata.name(char, "").split(" ", 1)[0]


def in_script(text: str, language: str, *, share: float = 1.0) -> bool:
    """Whether (at least `share` of) the letters of `text` belong to the script `language` is
    written in."""
    scripts = _SCRIPTS.get(language) or (
        frozenset({"LATIN"}) if language in _LATIN_LANGUAGES else None
    )
    letters = [c for c in text if c.isalpha()]
    if scripts is None or not letters:
        return True
    return sum(script_of(c) in scripts for c in letters) >= share * len(letters)


def has_markup(text: str) -> bool:
    return bool(_MARKUP.search(text)) or any(
        unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" for c in text
    )


def word(text: str, language: str, *, max_words: int = 3) -> str | None:
    """`text` stripped if it can be a word or lemma of `language`, else None."""
    text = unicodedata.normalize("NFC", text).strip()
    if not text or len(text) > MAX_WORD_CHARS or len(text.split()) > max_words:
        return None
    if has_markup(text) or not any(c.isalpha() for c in text):
        return None
    if any(not (c.isalpha() or c in _WORD_PUNCTUATION or unicodedata.category(c) == "Mn")
           for c in text):  # fmt: skip
        return None
    return text if in_script(text, language) else None


def gloss(text: str | None, max_chars: int = MAX_GLOSS_CHARS) -> str:
    """`text` stripped if it is short plain text, else the empty string."""
    text = unicodedata.normalize("NFC", text or "").strip()
    if len(text) > max_chars or has_markup(text):
        return ""
    return text


def glosses(items: list[str], limit: int = 5) -> list[str]:
    """The distinct acceptable glosses among `items`, at most `limit`."""
    kept: list[str] = []
    for item in items:
        text = gloss(item)
        if text and text not in kept:
            kept.append(text)
    return kept[:limit]


def words(items: list[str], language: str, limit: int = 6) -> list[str]:
    """The distinct acceptable words of `language` among `items`, at most `limit`."""
    kept: list[str] = []
    for item in items:
        text = word(item, language)
        if text and text not in kept:
            kept.append(text)
    return kept[:limit]
