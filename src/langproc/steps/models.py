"""Typed outputs of the steps (SPEC §2). They are checkpointed as JSON and served by the API.

The LLM is asked for the `…Answer` models of `steps.answers`, not for these: frequencies, for
one, come only from wordfreq and are never asked of a model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["A1", "A2", "B1", "B2", "C1", "C2"]
LEVELS: tuple[Level, ...] = ("A1", "A2", "B1", "B2", "C1", "C2")
DEFAULT_LEVEL: Level = "B1"


class Text(BaseModel):
    text: str = Field(description="The page's text, paragraphs separated by a blank line.")


class Translation(BaseModel):
    translation: str = Field(
        description="The whole translation, its paragraphs separated by a blank line."
    )


class Word(BaseModel):
    wordform: str
    lemma: str
    part_of_speech: str = ""
    inflection: str = ""
    translations: list[str] = []
    centrality: float = Field(default=0.0, ge=0.0, le=1.0)
    frequency: float = 0.0


class Words(BaseModel):
    words: list[Word]


class Phrase(BaseModel):
    phrase: str = Field(description="The expression exactly as it appears in the text.")
    translations: list[str] = Field(
        default=[], description="Its meaning in the learner's language, most usual first."
    )
    literal_translation: str = Field(
        default="", description="A word-for-word rendering, to show how the expression is built."
    )
    notes: str = Field(default="", description="One short sentence on when and how it is used.")


class Phrases(BaseModel):
    phrases: list[Phrase] = Field(
        description="Idioms, collocations and multi-word expressions; empty if there are none."
    )


class Lemma(BaseModel):
    # `register` is a BaseModel attribute, so the field has another name and the SPEC's alias.
    model_config = ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    lemma: str
    part_of_speech: str = ""
    translations: list[str] = []
    etymology: str = ""
    register_: str = Field(default="", alias="register")
    cefr_level: str = ""
    frequency: float = 0.0
    mnemonic: str = ""
    synonyms: list[str] = []
    gender: str = ""
    article: str = ""
    plural: str = ""
    principal_parts: list[str] = []
    # True once an LLM was asked for it (even if it answered nothing): it is not asked again.
    described: bool = False


class Lemmas(BaseModel):
    lemmas: list[Lemma]


class Sentence(BaseModel):
    sentence: str
    translation: str = ""
    lemmas: list[str] = []
    cefr_level: str = ""
    # The lemma the sentence was written for, and its form as it appears in `sentence`.
    target_lemma: str = ""
    target_form: str = ""


class Sentences(BaseModel):
    sentences: list[Sentence]


class Audio(BaseModel):
    blob_key: str
    content_type: str
    characters: int


class SentenceAudio(BaseModel):
    sentence_index: int
    audio: Audio


class SentenceAudios(BaseModel):
    items: list[SentenceAudio]
