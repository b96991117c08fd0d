"""Function words (articles, pronouns, particles, prepositions, conjunctions, auxiliaries) per
language, from the stopwords-iso lists that the `stopwordsiso` package ships (no network).

The lists are generous: they also hold some very common adverbs and verbs. That suits their use
here, which is to keep words out of the study list; a word wrongly left out costs less than an
article offered as vocabulary. Greek lists are partly unaccented, so words are compared without
accents.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Final

import stopwordsiso

# ISO 639-1 codes the lists file under another name (Serbian: its Croatian neighbour's list).
_ALIASES: Final = {"sr": "hr", "no": "nb"}


def is_function_word(word: str, language: str) -> bool:
    """Whether `word` (any case, with or without accents) is a function word of `language`."""
    return _bare(word) in _function_words(language.lower())


def _bare(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.strip().casefold().replace("’", "'"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@cache
def _function_words(language: str) -> frozenset[str]:
    code = _ALIASES.get(language, language)
    words = stopwordsiso.stopwords(code) if stopwordsiso.has_lang(code) else set()
    return frozenset(_bare(word) for word in words)
