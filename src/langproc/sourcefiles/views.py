"""What the read queries answer: frozen views of a sourcefile, its steps and its results.

They hold what a reader is shown and nothing of HTTP: spoken audio is named by its id, and the
API turns ids into URLs. Result rows keep the names of their columns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from langproc.db.models import SourcefileKind, SourcefileStatus, StepStatus


@dataclass(frozen=True, slots=True)
class ProgressView:
    completed: int
    total: int


@dataclass(frozen=True, slots=True)
class SummaryView:
    """A sourcefile as a listing shows it."""

    id: uuid.UUID
    title: str | None
    language: str
    native_language: str
    level: str
    kind: SourcefileKind
    status: SourcefileStatus
    created_at: datetime
    updated_at: datetime
    progress: ProgressView


@dataclass(frozen=True, slots=True)
class StepErrorView:
    type: str
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class StepView:
    name: str
    status: StepStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    error: StepErrorView | None


@dataclass(frozen=True, slots=True)
class WordView:
    position: int
    wordform: str
    lemma: str
    part_of_speech: str
    inflection: str
    translations: list[str]
    centrality: float
    frequency: float


@dataclass(frozen=True, slots=True)
class PhraseView:
    position: int
    phrase: str
    translations: list[str]
    literal_translation: str
    notes: str


@dataclass(frozen=True, slots=True)
class LemmaView:
    lemma: str
    part_of_speech: str
    translations: list[str]
    etymology: str
    register: str
    cefr_level: str
    frequency: float
    mnemonic: str
    synonyms: list[str]
    gender: str
    article: str
    plural: str
    principal_parts: list[str]


@dataclass(frozen=True, slots=True)
class SentenceView:
    position: int
    sentence: str
    translation: str
    lemmas: list[str]
    cefr_level: str
    target_lemma: str
    target_form: str
    audio_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class DetailView:
    """Everything about one sourcefile: its steps and the results that exist so far."""

    summary: SummaryView
    steps: list[StepView]
    text: str | None
    translation: str | None
    words: list[WordView]
    phrases: list[PhraseView]
    lemmas: list[LemmaView]
    sentences: list[SentenceView]
    audio_id: uuid.UUID | None
    usage: dict[str, int]


@dataclass(frozen=True, slots=True)
class PageView:
    """A page of a listing, the cursor of the next one and the owner's latest event id."""

    items: list[SummaryView]
    next_cursor: str | None
    last_event_id: int
