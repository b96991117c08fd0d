"""The answers about sourcefiles, built from the pipeline's read views, and the URLs they link."""

from __future__ import annotations

import uuid

from langproc.api.schemas import (
    LemmaRead,
    PhraseRead,
    Progress,
    SentenceRead,
    SourcefileList,
    SourcefileRead,
    SourcefileSummary,
    StepRead,
    WordRead,
)
from langproc.providers.usage import Usage
from langproc.sourcefiles.views import DetailView, PageView, SentenceView, SummaryView


def sourcefile_url(sourcefile_id: uuid.UUID) -> str:
    return f"/api/sourcefiles/{sourcefile_id}"


def audio_url(audio_id: uuid.UUID) -> str:
    return f"/api/audio/{audio_id}"


def sourcefile_summary(view: SummaryView) -> SourcefileSummary:
    return SourcefileSummary.model_validate(view, from_attributes=True)


def sourcefile_list(page: PageView) -> SourcefileList:
    return SourcefileList(
        items=[sourcefile_summary(item) for item in page.items],
        next_cursor=page.next_cursor,
        last_event_id=page.last_event_id,
    )


def sourcefile_read(view: DetailView) -> SourcefileRead:
    """Everything about one sourcefile, its audio as URLs."""
    summary = view.summary
    return SourcefileRead(
        id=summary.id,
        title=summary.title,
        language=summary.language,
        native_language=summary.native_language,
        level=summary.level,
        kind=summary.kind,
        status=summary.status,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
        progress=Progress.model_validate(summary.progress, from_attributes=True),
        steps=[StepRead.model_validate(step, from_attributes=True) for step in view.steps],
        text=view.text,
        translation=view.translation,
        words=[WordRead.model_validate(word, from_attributes=True) for word in view.words],
        phrases=[PhraseRead.model_validate(p, from_attributes=True) for p in view.phrases],
        lemmas=[LemmaRead.model_validate(lemma, from_attributes=True) for lemma in view.lemmas],
        sentences=[_sentence(sentence) for sentence in view.sentences],
        audio_url=audio_url(view.audio_id) if view.audio_id is not None else None,
        usage=Usage.model_validate(view.usage),
    )


def _sentence(view: SentenceView) -> SentenceRead:
    return SentenceRead(
        position=view.position,
        sentence=view.sentence,
        translation=view.translation,
        lemmas=view.lemmas,
        cefr_level=view.cefr_level,
        target_lemma=view.target_lemma,
        target_form=view.target_form,
        audio_url=audio_url(view.audio_id) if view.audio_id is not None else None,
    )
