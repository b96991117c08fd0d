"""Read views of sourcefiles: status, steps, and the results that exist so far.

Core statements of the columns a view shows, never ORM objects: a read builds no identity map
and loads no output it does not serve (`step_run.output` of the words step can be large)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, null, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.base import utcnow
from langproc.db.models import DONE_STEP_STATUSES, Event, Sourcefile, StepRun, StepStatus
from langproc.db.results import Audio, Lemma, Phrase, Sentence, WordForm
from langproc.errors import InvalidInput, NotFound

SOURCEFILE = Sourcefile.__table__
STEP_RUN = StepRun.__table__
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
DONE = [str(s) for s in DONE_STEP_STATUSES]


def summary(row: Mapping[Any, Any], progress: dict[str, int]) -> dict[str, Any]:
    return {**row, "progress": progress}


async def detail(session: AsyncSession, sourcefile_id: uuid.UUID, owner: str) -> dict[str, Any]:
    """Everything about one sourcefile (docs/api.md): its steps and the results that exist; another
    owner's sourcefile is as unknown as a missing one."""
    found = (
        (
            await session.execute(
                select(*SUMMARY_COLUMNS, SOURCEFILE.c.owner).where(SOURCEFILE.c.id == sourcefile_id)
            )
        )
        .mappings()
        .first()
    )
    if found is None or found["owner"] != owner:
        raise NotFound(f"no sourcefile with id {sourcefile_id}")
    row = {k: v for k, v in found.items() if k != "owner"}
    sid = sourcefile_id
    runs = (
        (
            await session.execute(
                select(
                    STEP_RUN.c.step,
                    STEP_RUN.c.status,
                    STEP_RUN.c.attempt,
                    STEP_RUN.c.started_at,
                    STEP_RUN.c.finished_at,
                    STEP_RUN.c.next_attempt_at,
                    STEP_RUN.c.error_type,
                    STEP_RUN.c.error_message,
                    STEP_RUN.c.error_retryable,
                    STEP_RUN.c.usage,
                    # The text steps' outputs come along; no other (possibly large) output does.
                    case((STEP_RUN.c.step.in_(TEXT_STEPS), STEP_RUN.c.output), else_=null()).label(
                        "output"
                    ),
                )
                .where(STEP_RUN.c.sourcefile_id == sid)
                .order_by(STEP_RUN.c.id)
            )
        )
        .mappings()
        .all()
    )
    done = {r["step"] for r in runs if r["status"] in DONE_STEP_STATUSES}
    texts = {r["step"]: r["output"] or {} for r in runs if r["step"] in TEXT_STEPS}
    usage: dict[str, int] = {}
    for run in runs:
        for key, value in (run["usage"] or {}).items():
            usage[key] = usage.get(key, 0) + int(value)
    audio = {}
    if done & {"speak_text", "speak_sentences"}:
        audio_rows = await session.execute(
            select(Audio.__table__.c.id, Audio.__table__.c.sentence_position).where(
                Audio.__table__.c.sourcefile_id == sid
            )
        )
        # Audio only from a finished step: a re-run's sentences never get the old ones' audio.
        audio = {
            a.sentence_position: audio_url(a.id)
            for a in audio_rows
            if (a.sentence_position is None and "speak_text" in done)
            or (a.sentence_position is not None and "speak_sentences" in done)
        }
    return {
        **summary(row, {"completed": len(done), "total": len(runs)}),
        "steps": [_step(r) for r in runs],
        "text": texts.get("transcribe", {}).get("text"),
        "translation": texts.get("translate", {}).get("translation"),
        "words": await _rows(session, WordForm, sid) if "extract_words" in done else [],
        "phrases": await _rows(session, Phrase, sid) if "extract_phrases" in done else [],
        "lemmas": await _lemmas(session, sid, row["language"]) if "describe_lemmas" in done else [],
        "sentences": [
            {**sentence, "audio_url": audio.get(sentence["position"])}
            for sentence in (
                await _rows(session, Sentence, sid) if "generate_sentences" in done else []
            )
        ],
        "audio_url": audio.get(None),
        "usage": usage,
    }


def _step(run: Mapping[Any, Any]) -> dict[str, Any]:
    error = None
    if run["error_type"]:
        error = {
            "type": run["error_type"],
            "message": run["error_message"],
            "retryable": bool(run["error_retryable"]),
        }
    return {
        "name": run["step"],
        "status": run["status"],
        "attempts": run["attempt"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "next_attempt_at": run["next_attempt_at"],
        "error": error,
    }


async def _rows(
    session: AsyncSession, model: type[WordForm | Phrase | Sentence], sid: uuid.UUID
) -> list[dict[str, Any]]:
    table = model.__table__
    rows = await session.execute(
        select(table).where(table.c.sourcefile_id == sid).order_by(table.c.position)
    )
    return [dict(row) for row in rows.mappings()]


async def _lemmas(session: AsyncSession, sid: uuid.UUID, language: str) -> list[dict[str, Any]]:
    """The shared lemmas of this sourcefile's words."""
    words, lemma = WordForm.__table__, Lemma.__table__
    pairs = select(words.c.lemma, words.c.part_of_speech).where(words.c.sourcefile_id == sid)
    rows = await session.execute(
        select(lemma).where(
            lemma.c.language == language,
            tuple_(lemma.c.lemma, lemma.c.part_of_speech).in_(pairs),
        )
    )
    return [dict(row) for row in rows.mappings()]


def audio_url(audio_id: uuid.UUID) -> str:
    return f"/api/audio/{audio_id}"


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
) -> dict[str, Any]:
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
    page = (await session.execute(query.limit(limit + 1))).mappings().all()
    more = len(page) > limit
    page = page[:limit]
    items = [
        {
            **{c.key: row[c.key] for c in SUMMARY_COLUMNS},
            "progress": {"completed": row["completed"], "total": row["total"]},
        }
        for row in page
    ]
    last = page[-1] if page else None
    next_cursor = encode_cursor(last["created_at"], last["id"]) if more and last else None
    return {"items": items, "next_cursor": next_cursor, "last_event_id": last_event_id or 0}


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
