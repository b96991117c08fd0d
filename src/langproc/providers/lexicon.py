"""The local Lexicon: simplemma lemmas, wordfreq Zipf frequencies, and word tokenization.

simplemma knows no part of speech, so its known slips are caught with wordfreq instead: a noun
read as a verb (`voisine` -> `voisiner`, `flores` -> `florar`) gives a lemma far rarer than the
word itself, and a Greek word mapped to another word (`γιαγιά` -> `παππούς`) or to a form that is
itself inflected (`πάντα` -> `πας`) is kept as it stands when it is a frequent word of its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import Final

import simplemma
import wordfreq

from langproc.providers.function_words import is_function_word
from langproc.text.orthography import normalize_orthography

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
# Tokens after which the next word starts a sentence, and those that may stand between.
_SENTENCE_ENDS: Final = (".", "!", "?", "…", ";")
_QUOTES_AND_DASHES: Final = frozenset("«»\"'“”‘’„‹›()[]—–-")
_DIGITS = re.compile(r"\d")

# A word this frequent (Zipf) is a word of its own, not only an inflected form.
_FREQUENT: Final = 4.0
# A lemma this much rarer (Zipf; 1.8 = 60 times) than its word is a misreading ("voisiner").
_MUCH_RARER: Final = 1.8
# Lemmas this frequent are articles, pronouns and the commonest verbs: simplemma has them right.
_FUNCTION_WORD: Final = 5.5
# Greek verbs are listed under the first person, which is rare in text: never "much rarer".
_GREEK_VERB = re.compile(r"(ω|ώ|μαι|ται)$")
# simplemma files every French possessive under "son" (the treebanks' convention); a learner
# looks "ma" up under "mon".
_FRENCH_POSSESSIVES: Final = {
    form: headword
    for headword, forms in {
        "mon": "mon ma mes", "ton": "ton ta tes", "son": "son sa ses",
        "notre": "notre nos", "votre": "votre vos", "leur": "leur leurs",
    }.items()
    for form in forms.split()
}  # fmt: skip
# Greek capitalises days and months; simplemma lemmatizes them like names.
_GREEK_CAPITALISED_NOUNS: Final = frozenset(
    "Δευτέρα Τρίτη Τετάρτη Πέμπτη Παρασκευή Σάββατο Κυριακή Ιανουάριος Φεβρουάριος Μάρτιος "
    "Απρίλιος Μάιος Ιούνιος Ιούλιος Αύγουστος Σεπτέμβριος Οκτώβριος Νοέμβριος Δεκέμβριος".split()
)


class LocalLexicon:
    """Lemmas and frequencies from data shipped with the packages (no network)."""

    def tokenize(self, text: str, language: str) -> list[str]:
        """The word forms of `text` in order (see `tokenize`)."""
        return tokenize(text, language)

    def lemma(self, word: str, language: str) -> str:
        """The dictionary form (see `lemma`)."""
        return lemma(word, language)

    def study_words(self, text: str, language: str) -> list[tuple[str, str]]:
        """(word form, lemma) pairs worth learning (see `study_words`)."""
        return study_words(text, language)

    def zipf_frequency(self, word: str, language: str) -> float:
        """Zipf frequency (0 = unseen, 7 = "the"); 0.0 where wordfreq lacks the language."""
        return zipf_frequency(word, language)

    def is_function_word(self, word: str, language: str) -> bool:
        """An article, pronoun, particle, preposition, conjunction or auxiliary of `language`."""
        return is_function_word(word, language)


def lemma(word: str, language: str) -> str:
    """The dictionary form in the language's standard spelling: simplemma's, unless it is a
    known kind of slip (see the module docstring); the lowercased word where simplemma lacks
    the language."""
    language = language.lower()
    form = _spelling(word, language)
    if language == "fr" and form.lower() in _FRENCH_POSSESSIVES:
        return _FRENCH_POSSESSIVES[form.lower()]
    found = _simplemma(form, language)
    if found is None:
        return form.lower()
    found = _spelling(found, language)
    if found.casefold() != form.casefold() and _keep_form(form, found, language):
        return _singular(form.lower(), language)
    return found


def study_words(text: str, language: str) -> list[tuple[str, str]]:
    """(word form, lemma) for the words of `text` worth learning, in order, repeats included.

    Names, numbers and acronyms are left out. A capital that only starts a sentence is lowered
    first (`Elle` -> `elle`, not `lui`; `Jeden` -> `jeden`, not `jed`); a word capitalised inside
    a sentence is a name (in German, a noun).
    """
    language = language.lower()
    tokens = list(_tokens(text, language))
    inside = {w for w, initial in tokens if not initial and w[:1].isupper() and not w.isupper()}
    pairs: list[tuple[str, str]] = []
    for word, initial in tokens:
        form = _common_form(word, initial, inside, language)
        if form is not None:
            pairs.append((form, lemma(form, language)))
    return pairs


def zipf_frequency(word: str, language: str) -> float:
    """Zipf frequency (0 = unseen, 7 = "the"); 0.0 where wordfreq lacks the language."""
    code = _WORDFREQ_ALIASES.get(language.lower(), language.lower())
    if code not in _wordfreq_languages():
        return 0.0
    try:
        return float(wordfreq.zipf_frequency(word, code))
    except ImportError:
        # ja, ko and zh need optional tokenizers (MeCab, jieba) that are not installed.
        return 0.0


def tokenize(text: str, language: str) -> list[str]:
    """The word forms of `text` in order, repeats included, case kept.

    Punctuation, numbers and URLs are dropped; French, Italian and Catalan elisions are split
    off as words of their own (`l'homme` -> `l'`, `homme`).
    """
    return [word for word, _ in _tokens(text, language)]


def _tokens(text: str, language: str) -> Iterator[tuple[str, bool]]:
    """Each word of `text` and whether it starts a sentence (or a paragraph)."""
    elisions = _ELISIONS.get(language.lower(), frozenset())
    for paragraph in text.split("\n\n"):
        initial = True
        for raw_token in simplemma.simple_tokenizer(paragraph):
            token = raw_token.strip(_WORD_EDGE_MARKS)
            if not token or not token[0].isalpha() or "://" in token:
                if raw_token.endswith(_SENTENCE_ENDS):
                    initial = True
                elif raw_token not in _QUOTES_AND_DASHES:
                    initial = False
                continue
            match = _ELIDED.fullmatch(token) if elisions else None
            if match and match.group(1).lower() in elisions and match.group(3)[0].isalpha():
                yield match.group(1) + match.group(2), initial
                yield match.group(3), False
            else:
                yield token, initial
            initial = False


def _common_form(word: str, initial: bool, inside: set[str], language: str) -> str | None:
    """The word as a common word, lowered if its capital only starts a sentence; None for a
    name, a number or an acronym."""
    if _DIGITS.search(word):
        return None
    if not word[:1].isupper():
        return word
    lower = word.lower()
    capitals = len(word) > 1 and word.isupper()
    if language == "de" and not capitals:
        if not initial:
            # A noun; a name can't be told from one without part of speech (simplemma's German
            # dictionary holds "Berlin" and "Müller", and lacks rare compounds).
            return word
        found = _simplemma(word, language)
        return word if found is not None and found[:1].isupper() else lower
    if language == "el":
        found = _simplemma(_spelling(lower, language), language)
        if found is not None and found in _GREEK_CAPITALISED_NOUNS:
            return word
        if found is not None and found[:1].isupper():
            return None
    if (initial or capitals) and word not in inside and _known(lower, language):
        return lower
    return None


def _keep_form(form: str, found: str, language: str) -> bool:
    """Whether simplemma's lemma is a known kind of slip and the form a frequent word of its own."""
    if language not in {"el", "fr", "es"}:
        # German adjectives are listed uninflected, which is rare in text: no rarity test.
        return False
    form_frequency = zipf_frequency(form, language)
    if form_frequency < _FREQUENT:
        return False
    if language == "el" and _GREEK_VERB.search(found):
        return False
    found_frequency = zipf_frequency(found, language)
    if found_frequency < form_frequency - _MUCH_RARER:
        return True
    if language != "el":
        return False
    if found_frequency >= _FUNCTION_WORD:
        return False  # "η" -> "ο", "ήταν" -> "είμαι": right, however unlike the form
    another_word = _bare(found)[:1] != _bare(form)[:1]
    inflected = _simplemma(found, language) not in {found, None}
    return another_word or (inflected and found_frequency < form_frequency)


def _singular(form: str, language: str) -> str:
    """A French or Spanish plural kept as it stands, made singular where that is a frequent word
    simplemma takes as a lemma too ("frutas" -> "fruta", "flores" -> "flor")."""
    if language not in {"fr", "es"} or not form.endswith("s"):
        return form
    for stem in (form[:-1], form[:-2] if form.endswith("es") else ""):
        if (
            stem
            and zipf_frequency(stem, language) >= _FREQUENT - 1
            and lemma(stem, language) == stem
        ):
            return stem
    return form


def _simplemma(word: str, language: str) -> str | None:
    code = _SIMPLEMMA_ALIASES.get(language, language)
    try:
        found: str = simplemma.lemmatize(word, lang=code)
    except ValueError:  # simplemma's answer to a language it has no dictionary for
        return None
    return found


def _known(word: str, language: str) -> bool:
    code = _SIMPLEMMA_ALIASES.get(language, language)
    try:
        return bool(simplemma.is_known(word, lang=code))
    except ValueError:
        return zipf_frequency(word, language) > 0


def _spelling(word: str, language: str) -> str:
    return normalize_orthography(word, language, lambda w: zipf_frequency(w, language))


def _bare(word: str) -> str:
    """Lower case without accents."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@cache
def _wordfreq_languages() -> frozenset[str]:
    return frozenset(wordfreq.available_languages())
