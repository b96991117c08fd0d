"""The local Lexicon: simplemma lemmas, wordfreq Zipf frequencies, and word tokenization."""

from __future__ import annotations

import re
from functools import cache
from typing import Final

import simplemma
import wordfreq

from langproc.providers.function_words import is_function_word

# ISO 639-1 codes the data sets file under another name.
_SIMPLEMMA_ALIASES: Final = {"bs": "hbs", "hr": "hbs", "sr": "hbs", "no": "nb"}
_WORDFREQ_ALIASES: Final = {"bs": "sh", "hr": "sh", "sr": "sh", "no": "nb", "tl": "fil"}

# Elided articles and pronouns written onto the next word ("l'homme"), split off as their own word.
_ELISIONS: Final = {
    "fr": frozenset("c d j l m n qu s t jusqu lorsqu puisqu quoiqu".split()),
    "it": frozenset("c d l m n s t v un dell all dall nell sull coll quest quell".split()),
    "ca": frozenset("d l m n s t".split()),
}
# Characters simplemma's tokenizer keeps inside a word that can also wrap it (*bold*, _it_).
_WORD_EDGE_MARKS: Final = "*_-\u2010"
_ELIDED = re.compile(r"([^\W\d_]+)(['\u2019])(.+)")


class LocalLexicon:
    """Lemmas and frequencies from data shipped with the packages (no network)."""

    def tokenize(self, text: str, language: str) -> list[str]:
        """The word forms of `text` in order (see `tokenize`)."""
        return tokenize(text, language)

    def lemma(self, word: str, language: str) -> str:
        """The dictionary form; the lowercased word where simplemma lacks the language."""
        code = _SIMPLEMMA_ALIASES.get(language.lower(), language.lower())
        try:
            lemma: str = simplemma.lemmatize(word, lang=code)
        except ValueError:  # simplemma's answer to a language it has no dictionary for
            return word.lower()
        return lemma

    def zipf_frequency(self, word: str, language: str) -> float:
        """Zipf frequency (0 = unseen, 7 = "the"); 0.0 where wordfreq lacks the language."""
        code = _WORDFREQ_ALIASES.get(language.lower(), language.lower())
        if code not in _wordfreq_languages():
            return 0.0
        try:
            return float(wordfreq.zipf_frequency(word, code))
        except ImportError:
            # ja, ko and zh need optional tokenizers (MeCab, jieba) that are not installed.
            return 0.0

    def is_function_word(self, word: str, language: str) -> bool:
        """An article, pronoun, particle, preposition, conjunction or auxiliary of `language`."""
        return is_function_word(word, language)


def tokenize(text: str, language: str) -> list[str]:
    """The word forms of `text` in order, repeats included, case kept.

    Punctuation, numbers and URLs are dropped; French, Italian and Catalan elisions are split
    off as words of their own (`l'homme` -> `l'`, `homme`).
    """
    elisions = _ELISIONS.get(language.lower(), frozenset())
    words: list[str] = []
    for raw_token in simplemma.simple_tokenizer(text):
        token = raw_token.strip(_WORD_EDGE_MARKS)
        if not token or not token[0].isalpha() or "://" in token:
            continue
        match = _ELIDED.fullmatch(token) if elisions else None
        if match and match.group(1).lower() in elisions and match.group(3)[0].isalpha():
            words += [match.group(1) + match.group(2), match.group(3)]
        else:
            words.append(token)
    return words


@cache
def _wordfreq_languages() -> frozenset[str]:
    return frozenset(wordfreq.available_languages())
