"""Typed outputs of the steps (SPEC §2). They are checkpointed as JSON and served by the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Text(BaseModel):
    text: str


class Translation(BaseModel):
    translation: str


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
    phrase: str
    translations: list[str] = []
    literal_translation: str = ""
    notes: str = ""


class Phrases(BaseModel):
    phrases: list[Phrase]


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


class Lemmas(BaseModel):
    lemmas: list[Lemma]


class Sentence(BaseModel):
    sentence: str
    translation: str = ""
    lemmas: list[str] = []
    cefr_level: str = ""


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
