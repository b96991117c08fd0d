"""Request and response models of the HTTP API (docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from langproc.api.openapi import LIST_EXAMPLE, READ_EXAMPLE, SUMMARY_EXAMPLE
from langproc.db.models import SourcefileKind, SourcefileStatus, StepStatus
from langproc.providers.usage import Usage
from langproc.settings import SUPPORTED_LANGUAGES
from langproc.sourcefiles.intake import LEVELS

# Documented as an enum for clients; the server also accepts other letter cases.
LANGUAGE_ENUM: dict[str, Any] = {"enum": list(SUPPORTED_LANGUAGES)}
LEVEL_ENUM: dict[str, Any] = {"enum": list(LEVELS)}
LEVEL_DESCRIPTION = (
    "The learner's CEFR level (A1-C2, default B1): it sets the level of the example sentences "
    "and which words of the text get them."
)


class SourcefileCreate(BaseModel):
    """A text to study, sent as JSON."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="The text in the studied language: not blank, at most 100,000 characters "
        "unless the server sets LANGPROC_MAX_TEXT_CHARS.",
        examples=["Ήταν μια φορά…"],
        json_schema_extra={"minLength": 1, "pattern": r"\S"},
    )
    language: str = Field(
        description="ISO 639-1 code of the studied language.",
        examples=["el"],
        json_schema_extra=LANGUAGE_ENUM,
    )
    title: str | None = Field(default=None, max_length=500)
    native_language: str | None = Field(
        default=None, description="Default: en.", examples=["en"], json_schema_extra=LANGUAGE_ENUM
    )
    level: str | None = Field(
        default=None, description=LEVEL_DESCRIPTION, examples=["B1"], json_schema_extra=LEVEL_ENUM
    )


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[str] | None = Field(
        default=None, description="Steps to re-run with their downstream; default: failed ones."
    )


class Progress(BaseModel):
    completed: int = Field(description="Steps that succeeded or were skipped.", examples=[3])
    total: int = Field(examples=[8])


class StepErrorRead(BaseModel):
    type: str = Field(examples=["TransientError"])
    message: str = Field(examples=["the speech service answered 503; retrying"])
    retryable: bool = Field(description="Whether the engine retries it by itself.")


class StepRead(BaseModel):
    name: str = Field(examples=["translate"])
    status: StepStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    error: StepErrorRead | None


class WordRead(BaseModel):
    """A distinct word form of the text, in order of first appearance."""

    position: int
    wordform: str = Field(examples=["βασιλιάς"])
    lemma: str = Field(examples=["βασιλιάς"])
    part_of_speech: str
    inflection: str
    translations: list[str]
    centrality: float = Field(ge=0, le=1)
    frequency: float = Field(description="Zipf frequency (wordfreq): 0 rare … 8 very common.")


class PhraseRead(BaseModel):
    position: int
    phrase: str
    translations: list[str]
    literal_translation: str
    notes: str


class LemmaRead(BaseModel):
    """An entry of the lemma table shared by all documents of the language."""

    # `register` is a BaseModel attribute: the field is named apart and keeps the API's name.
    model_config = ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    lemma: str = Field(description="The dictionary form.", examples=["θάλασσα"])
    part_of_speech: str = Field(
        description="noun, verb, adjective, adverb… (empty when no LLM is configured)."
    )
    translations: list[str] = Field(description="Into the learner's language, most usual first.")
    etymology: str = Field(description="Its origin, when the model was sure of it; else empty.")
    register_: str = Field(
        alias="register", description="neutral, formal, informal, colloquial, literary…"
    )
    cefr_level: str = Field(description="A1-C2: the level at which learners meet it.")
    frequency: float = Field(description="Zipf frequency (wordfreq): 0 rare … 8 very common.")
    mnemonic: str = Field(description="A memory aid, when a good one exists; else empty.")
    synonyms: list[str]
    gender: str = Field(
        default="", description="A noun's gender: masculine, feminine, neuter or common."
    )
    article: str = Field(default="", description="A noun's definite article (der, la, η…).")
    plural: str = Field(default="", description="A noun's nominative plural.")
    principal_parts: list[str] = Field(
        default=[], description="A verb's principal parts, as dictionaries list them."
    )


class SentenceRead(BaseModel):
    position: int
    sentence: str
    translation: str
    lemmas: list[str] = Field(description="The lemmas of this text it uses, its target first.")
    cefr_level: str
    target_lemma: str = Field(default="", description="The lemma the sentence was written for.")
    target_form: str = Field(
        default="",
        description="How the target lemma is written in the sentence (to highlight it); empty "
        "if the model's form could not be found in the sentence.",
    )
    audio_url: str | None = Field(description="Set once the sentence has been spoken.")


class SourcefileSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})

    id: uuid.UUID
    title: str | None
    language: str
    native_language: str
    level: str = Field(default="B1", description=LEVEL_DESCRIPTION)
    kind: SourcefileKind
    status: SourcefileStatus
    created_at: datetime
    updated_at: datetime
    progress: Progress


class SourcefileRead(SourcefileSummary):
    model_config = ConfigDict(json_schema_extra={"examples": [READ_EXAMPLE]})

    steps: list[StepRead]
    text: str | None = None
    translation: str | None = None
    words: list[WordRead] = []
    phrases: list[PhraseRead] = []
    lemmas: list[LemmaRead] = []
    sentences: list[SentenceRead] = []
    audio_url: str | None = None
    usage: Usage


class SourcefileList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [LIST_EXAMPLE]})

    items: list[SourcefileSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")
    last_event_id: int = Field(
        description="The caller's latest event when this page was read: open "
        "`/api/events?last_event_id=…` to follow changes from here on without a replay.",
        examples=[1042],
    )


class Health(BaseModel):
    status: str
