"""Read views of sourcefiles: status, steps, and the results that exist so far.

Core statements of the columns a view shows, never ORM objects: a read builds no identity map
and loads no output it does not serve (`step_run.output` of the words step can be large). The
rows become the frozen views of `pipeline.views`."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import ColumnElement, FromClause, Row, and_, case, func, null, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.base import utcnow
from langproc.db.models import (
    DONE_STEP_STATUSES,
    Event,
    Sourcefile,
    SourcefileKind,
    SourcefileStatus,
    StepRun,
    StepStatus,
)
from langproc.db.results import Audio, Lemma, Phrase, Sentence, WordForm
from langproc.errors import InvalidInput, NotFound
from langproc.sourcefiles.views import (
    DetailView,
    LemmaView,
    PageView,
    PhraseView,
    ProgressView,
    SentenceView,
    StepErrorView,
    StepView,
    SummaryView,
    WordView,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A row of any columns, read by their names.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
SOURCEFILE = Sourcefile.__table__
STEP_RUN = StepRun.__table__
AUDIO = Audio.__table__
WORD_FORM = WordForm.__table__
PHRASE = Phrase.__table__
LEMMA = Lemma.__table__
SENTENCE = Sentence.__table__
# Columns of a sourcefile that its views show (never the uploaded text itself).
SUMMARY_COLUMNS = (
    SOURCEFILE.c.id,
    SOURCEFILE.c.title,
    SOURCEFILE.c.language,
    SOURCEFILE.c.native_language,
    SOURCEFILE.c.level,
    SOURCEFILE.c.kind,
    SOURCEFILE.c.status,
    SOURCEFILE.c.created_at,
    SOURCEFILE.c.updated_at,
)
# The step outputs a detail view shows as they are; the other results come from their tables.
TEXT_STEPS = ("transcribe", "translate")
SPEAK_STEPS = frozenset({"speak_text", "speak_sentences"})
DONE = [str(s) for s in DONE_STEP_STATUSES]


def _view_columns(table: FromClause, view: type[DataclassInstance]) -> list[ColumnElement[Any]]:
    """The columns of `table` that `view` shows, by name (a view may add fields of its own)."""
    return [table.c[field.name] for field in fields(view) if field.name in table.c]


WORD_COLUMNS = _view_columns(WORD_FORM, WordView)
PHRASE_COLUMNS = _view_columns(PHRASE, PhraseView)
LEMMA_COLUMNS = _view_columns(LEMMA, LemmaView)
SENTENCE_COLUMNS = _view_columns(SENTENCE, SentenceView)


async def detail(session: AsyncSession, sourcefile_id: uuid.UUID, owner: str) -> DetailView:
    """Everything about one sourcefile (docs/api.md): its steps and the results that exist; another
    owner's sourcefile is as unknown as a missing one."""
    found = await _owned_summary(session, sourcefile_id, owner)
    sid = sourcefile_id
    runs = await _step_runs(session, sid)
    done = {r.step for r in runs if r.status in DONE_STEP_STATUSES}
    texts = {r.step: r.output or {} for r in runs if r.step in TEXT_STEPS}
    audio = await _audio_ids(session, sid, done) if done & SPEAK_STEPS else {}
    words = await _rows(session, WORD_FORM, WORD_COLUMNS, sid) if "extract_words" in done else []
    phrases = await _rows(session, PHRASE, PHRASE_COLUMNS, sid) if "extract_phrases" in done else []
    sentences = (
        await _rows(session, SENTENCE, SENTENCE_COLUMNS, sid)
        if "generate_sentences" in done
        else []
    )
    return DetailView(
        summary=_summary(found, ProgressView(completed=len(done), total=len(runs))),
        steps=[_step(r) for r in runs],
        text=texts.get("transcribe", {}).get("text"),
        translation=texts.get("translate", {}).get("translation"),
        words=[WordView(**r) for r in words],
        phrases=[PhraseView(**r) for r in phrases],
        lemmas=await _lemmas(session, sid, found.language) if "describe_lemmas" in done else [],
        sentences=[SentenceView(**r, audio_id=audio.get(r["position"])) for r in sentences],
        audio_id=audio.get(None),
        usage=_usage(runs),
    )


def created(sourcefile: Sourcefile, steps: Sequence[str]) -> DetailView:
    """The detail of a sourcefile its own transaction has just inserted, from what it inserted:
    every step pending, no result yet. The same view `detail` reads back, without the reads."""
    return DetailView(
        summary=_summary(sourcefile, ProgressView(completed=0, total=len(steps))),
        steps=[
            StepView(
                name=name,
                status=StepStatus.PENDING,
                attempts=0,
                started_at=None,
                finished_at=None,
                next_attempt_at=None,
                error=None,
            )
            for name in steps
        ],
        text=None,
        translation=None,
        words=[],
        phrases=[],
        lemmas=[],
        sentences=[],
        audio_id=None,
        usage={},
    )


async def _owned_summary(session: AsyncSession, sid: uuid.UUID, owner: str) -> AnyRow:
    found = (
        await session.execute(
            select(*SUMMARY_COLUMNS, SOURCEFILE.c.owner).where(SOURCEFILE.c.id == sid)
        )
    ).first()
    if found is None or found.owner != owner:
        raise NotFound(f"no sourcefile with id {sid}")
    return found


async def _step_runs(session: AsyncSession, sid: uuid.UUID) -> Sequence[AnyRow]:
    steps = STEP_RUN.c
    # The text steps' outputs come along; no other (possibly large) output does.
    output = case((steps.step.in_(TEXT_STEPS), steps.output), else_=null()).label("output")
    query = select(
        steps.step,
        steps.status,
        steps.attempt,
        steps.started_at,
        steps.finished_at,
        steps.next_attempt_at,
        steps.error_type,
        steps.error_message,
        steps.error_retryable,
        steps.usage,
        output,
    )
    return (await session.execute(query.where(steps.sourcefile_id == sid).order_by(steps.id))).all()


async def _audio_ids(
    session: AsyncSession, sid: uuid.UUID, done: set[str]
) -> dict[int | None, uuid.UUID]:
    """The audio of the text (key None) and of each sentence (key: its position)."""
    rows = await session.execute(
        select(AUDIO.c.id, AUDIO.c.sentence_position).where(AUDIO.c.sourcefile_id == sid)
    )
    # Audio only from a finished step: a re-run's sentences never get the old ones' audio.
    return {
        a.sentence_position: a.id
        for a in rows
        if (a.sentence_position is None and "speak_text" in done)
        or (a.sentence_position is not None and "speak_sentences" in done)
    }


def _summary(row: AnyRow | Sourcefile, progress: ProgressView) -> SummaryView:
    return SummaryView(
        id=row.id,
        title=row.title,
        language=row.language,
        native_language=row.native_language,
        level=row.level,
        kind=SourcefileKind(row.kind),
        status=SourcefileStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        progress=progress,
    )


def _step(run: AnyRow) -> StepView:
    error = None
    if run.error_type:
        error = StepErrorView(
            type=run.error_type, message=run.error_message, retryable=bool(run.error_retryable)
        )
    return StepView(
        name=run.step,
        status=StepStatus(run.status),
        attempts=run.attempt,
        started_at=run.started_at,
        finished_at=run.finished_at,
        next_attempt_at=run.next_attempt_at,
        error=error,
    )


def _usage(runs: Sequence[AnyRow]) -> dict[str, int]:
    usage: dict[str, int] = {}
    for run in runs:
        for key, value in (run.usage or {}).items():
            usage[key] = usage.get(key, 0) + int(value)
    return usage


async def _rows(
    session: AsyncSession, table: FromClause, columns: list[ColumnElement[Any]], sid: uuid.UUID
) -> list[dict[str, Any]]:
    """A sourcefile's rows of one result table, in order, as column name -> value."""
    rows = await session.execute(
        select(*columns).where(table.c.sourcefile_id == sid).order_by(table.c.position)
    )
    return [row._asdict() for row in rows]


async def _lemmas(session: AsyncSession, sid: uuid.UUID, language: str) -> list[LemmaView]:
    """The shared lemmas of this sourcefile's words."""
    words, lemma = WORD_FORM, LEMMA
    pairs = select(words.c.lemma, words.c.part_of_speech).where(words.c.sourcefile_id == sid)
    rows = await session.execute(
        select(*LEMMA_COLUMNS).where(
            lemma.c.language == language,
            tuple_(lemma.c.lemma, lemma.c.part_of_speech).in_(pairs),
        )
    )
    return [LemmaView(**row._asdict()) for row in rows]


def encode_cursor(created_at: datetime, sourcefile_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{sourcefile_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, ident = raw.split("|")
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("a cursor's time has a UTC offset")
        return at.astimezone(UTC), uuid.UUID(ident)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(
            "the cursor is not valid: pass the next_cursor of a previous page"
        ) from exc


async def list_sourcefiles(
    session: AsyncSession, owner: str, *, status: str | None, limit: int, cursor: str | None
) -> PageView:
    """A page of the owner's sourcefiles, newest first, the cursor of the next page, and the id
    of the owner's latest event (to follow changes from this listing on)."""
    last_event_id = await session.scalar(select(func.max(Event.id)).where(Event.owner == owner))
    steps = STEP_RUN.c
    completed = (
        select(func.count())
        .where(steps.sourcefile_id == SOURCEFILE.c.id, steps.status.in_(DONE))
        .scalar_subquery()
    )
    total = select(func.count()).where(steps.sourcefile_id == SOURCEFILE.c.id).scalar_subquery()
    query = select(*SUMMARY_COLUMNS, completed.label("completed"), total.label("total")).where(
        SOURCEFILE.c.owner == owner
    )
    if status is not None:
        query = query.where(SOURCEFILE.c.status == status)
    if cursor is not None:
        created, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                SOURCEFILE.c.created_at < created,
                and_(SOURCEFILE.c.created_at == created, SOURCEFILE.c.id < ident),
            )
        )
    query = query.order_by(SOURCEFILE.c.created_at.desc(), SOURCEFILE.c.id.desc())
    page = (await session.execute(query.limit(limit + 1))).all()
    more = len(page) > limit
    page = page[:limit]
    last = page[-1] if page else None
    return PageView(
        items=[
            _summary(row, ProgressView(completed=row.completed, total=row.total)) for row in page
        ],
        next_cursor=encode_cursor(last.created_at, last.id) if more and last else None,
        last_event_id=last_event_id or 0,
    )


async def step_gauges(session: AsyncSession) -> tuple[dict[str, int], float]:
    """Steps pending, running and retrying, and the age in seconds of the oldest runnable one."""
    active = [StepStatus.PENDING, StepStatus.RUNNING, StepStatus.RETRYING]
    rows = await session.execute(
        select(StepRun.status, func.count().label("n"))
        .where(StepRun.status.in_(active))
        .group_by(StepRun.status)
    )
    counts: dict[str, int] = dict.fromkeys(map(str, active), 0)
    counts.update({str(row.status): int(row.n) for row in rows})
    now = utcnow()
    since = await session.scalar(
        select(func.min(func.coalesce(StepRun.next_attempt_at, StepRun.ready_at))).where(
            StepRun.status.in_([StepStatus.PENDING, StepStatus.RETRYING]),
            StepRun.ready.is_(True),
            or_(StepRun.next_attempt_at.is_(None), StepRun.next_attempt_at <= now),
        )
    )
    return counts, max((now - since).total_seconds(), 0.0) if since is not None else 0.0
