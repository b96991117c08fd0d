"""Which lemmas of a text a learner should study: content words ranked by how central they are
to the text and how useful they are at the learner's level.

Function words (articles, pronouns, particles, prepositions, conjunctions, auxiliaries), names
and numbers are never chosen: by part of speech where a model gave one, by the lexicon's list of
function words, and by spelling (a capitalised lemma is a name, except in German). Usefulness is
the distance of the lemma's Zipf frequency from the band a learner at that level is learning:
a B1 learner already knows the words above Zipf 5.5 or so and will rarely meet those below 3.5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langproc.steps.answers import NOT_STUDY_WORDS
from langproc.steps.models import Lemma, Word

# The centre of the Zipf band each level is learning (wordfreq: 7 "the", 4 "hat", 2 rare).
BAND_CENTRE = {"A1": 5.6, "A2": 5.1, "B1": 4.6, "B2": 4.1, "C1": 3.6, "C2": 3.1}
# Languages that capitalise every noun, so a capital says nothing about names.
_CAPITALISED_NOUNS = frozenset({"de", "lb"})

IsFunctionWord = Callable[[str, str], bool]


@dataclass(frozen=True)
class Candidate:
    lemma: Lemma
    score: float
    first_seen: int


def choose_lemmas(
    lemmas: list[Lemma],
    words: list[Word],
    *,
    language: str,
    level: str,
    count: int,
    is_function_word: IsFunctionWord | None,
) -> list[Lemma]:
    """Up to `count` study lemmas, best first."""
    forms: dict[tuple[str, str], list[Word]] = {}
    for word in words:
        forms.setdefault((word.lemma, word.part_of_speech), []).append(word)
    order = {key: index for index, key in enumerate(forms)}
    known_frequencies = any(lemma.frequency > 0 for lemma in lemmas)
    centre = BAND_CENTRE.get(level, BAND_CENTRE["B1"])
    candidates: list[Candidate] = []
    for lemma in lemmas:
        key = (lemma.lemma, lemma.part_of_speech)
        its_forms = forms.get(key, [])
        if not _studyable(lemma, its_forms, language, is_function_word):
            continue
        if known_frequencies and lemma.frequency <= 0:
            continue  # unknown to the frequency list: a name, a typo or an OCR error
        centrality = max((w.centrality for w in its_forms), default=0.0)
        repeated = min(len(its_forms), 3) / 3
        usefulness = max(0.0, 1.0 - abs(lemma.frequency - centre) / 2.0)
        score = 0.45 * centrality + 0.15 * repeated + 0.4 * usefulness
        candidates.append(Candidate(lemma, score, order.get(key, len(order))))
    candidates.sort(key=lambda c: (-c.score, c.first_seen))
    return [c.lemma for c in candidates[:count]]


def _studyable(
    lemma: Lemma, forms: list[Word], language: str, is_function_word: IsFunctionWord | None
) -> bool:
    text = lemma.lemma.strip()
    if len(text) < 2 or not any(c.isalpha() for c in text) or any(c.isdigit() for c in text):
        return False
    if lemma.part_of_speech in NOT_STUDY_WORDS:
        return False
    if language not in _CAPITALISED_NOUNS and text[0].isupper():
        return False
    if is_function_word is not None and (
        is_function_word(text, language)
        or any(is_function_word(w.wordform, language) for w in forms)
    ):
        return False
    return True
