"""Typed outputs of the steps (docs/api.md). They are checkpointed as JSON and served by the API.

Every value fits what the tables hold (`db/results.py`), whoever produced it: a model's verbose
label is cut to its column, a CEFR level is reduced to its code, a "word" longer than a column
is dropped, and NUL (which PostgreSQL cannot store) is removed. A verbose answer is thus never
a database error. None of this changes the JSON schema an LLM is given.

The LLM is asked for the `…Answer` models of `steps.answers` (not for these) wherever they
differ: frequencies, for one, come only from wordfreq and are never asked of a model.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# Column lengths of the result tables.
MAX_WORD_CHARS = 200
MAX_PART_OF_SPEECH_CHARS = 50
MAX_INFLECTION_CHARS = 200
MAX_REGISTER_CHARS = 100

_CEFR = re.compile(r"(?<![A-Za-z])([ABCabc][12])(?![0-9])")

Level = Literal["A1", "A2", "B1", "B2", "C1", "C2"]
LEVELS: tuple[Level, ...] = ("A1", "A2", "B1", "B2", "C1", "C2")
DEFAULT_LEVEL: Level = "B1"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _clipped(limit: int) -> AfterValidator:
    return AfterValidator(lambda value: value[:limit])


def _cefr_code(value: str) -> str:
    """The level's code: "B1 (intermediate)" gives "B1", text naming no level gives ""."""
    match = _CEFR.search(value)
    return match.group(1).upper() if match else ""


CefrLevel = Annotated[str, AfterValidator(_cefr_code)]
PartOfSpeech = Annotated[str, _clipped(MAX_PART_OF_SPEECH_CHARS)]


class StepModel(BaseModel):
    """Base of the step models: NUL characters are dropped from every string."""

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        return _without_nul(data)


class Text(StepModel):
    text: str = Field(description="The page's text, paragraphs separated by a blank line.")


class Translation(StepModel):
    translation: str = Field(
        description="The whole translation, its paragraphs separated by a blank line."
    )


class Word(StepModel):
    wordform: str
    lemma: str
    part_of_speech: PartOfSpeech = ""
    inflection: Annotated[str, _clipped(MAX_INFLECTION_CHARS)] = ""
    translations: list[str] = []
    centrality: float = Field(default=0.0, ge=0.0, le=1.0)
    frequency: float = 0.0


def _fitting_words(words: list[Word]) -> list[Word]:
    return [w for w in words if max(len(w.wordform), len(w.lemma)) <= MAX_WORD_CHARS]


class Words(StepModel):
    # A "word" longer than a column (a URL, a run of letters) is not one worth learning.
    words: Annotated[list[Word], AfterValidator(_fitting_words)]


class Phrase(StepModel):
    phrase: str = Field(description="The expression exactly as it appears in the text.")
    translations: list[str] = Field(
        default=[], description="Its meaning in the learner's language, most usual first."
    )
    literal_translation: str = Field(
        default="", description="A word-for-word rendering, to show how the expression is built."
    )
    notes: str = Field(default="", description="One short sentence on when and how it is used.")


class Phrases(StepModel):
    phrases: list[Phrase] = Field(
        description="Idioms, collocations and multi-word expressions; empty if there are none."
    )


class Lemma(StepModel):
    # `register` is a BaseModel attribute, so the field has another name and the API's alias.
    model_config = ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    lemma: str
    part_of_speech: PartOfSpeech = ""
    translations: list[str] = []
    etymology: str = ""
    register_: Annotated[str, _clipped(MAX_REGISTER_CHARS)] = Field(default="", alias="register")
    cefr_level: CefrLevel = ""
    frequency: float = 0.0
    mnemonic: str = ""
    synonyms: list[str] = []
    gender: str = ""
    article: str = ""
    plural: str = ""
    principal_parts: list[str] = []
    # True once an LLM was asked for it (even if it answered nothing): it is not asked again.
    described: bool = False


def _fitting_lemmas(lemmas: list[Lemma]) -> list[Lemma]:
    return [lemma for lemma in lemmas if len(lemma.lemma) <= MAX_WORD_CHARS]


class Lemmas(StepModel):
    lemmas: Annotated[list[Lemma], AfterValidator(_fitting_lemmas)]


class Sentence(StepModel):
    sentence: str
    translation: str = ""
    lemmas: list[str] = []
    cefr_level: CefrLevel = ""
    # The lemma the sentence was written for, and its form as it appears in `sentence`.
    target_lemma: str = ""
    target_form: str = ""


class Sentences(StepModel):
    sentences: list[Sentence]


class Audio(StepModel):
    blob_key: str
    content_type: str
    characters: int


class SentenceAudio(StepModel):
    sentence_index: int
    audio: Audio


class SentenceAudios(StepModel):
    items: list[SentenceAudio]
