"""Read views of sourcefiles: status, steps, and the results that exist so far."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from langproc.db.base import utcnow
from langproc.db.models import DONE_STEP_STATUSES, Event, Sourcefile, StepRun, StepStatus
from langproc.db.results import Audio, Lemma, Phrase, Sentence, WordForm
from langproc.errors import InvalidInput


async def step_runs(
    session: AsyncSession, sourcefile_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[StepRun]]:
    """The step rows of each sourcefile, without their (possibly large) outputs."""
    rows = (
        await session.execute(
            select(StepRun)
            .where(StepRun.sourcefile_id.in_(sourcefile_ids))
            .options(defer(StepRun.output))
            .order_by(StepRun.id)
        )
    ).scalars()
    grouped: dict[uuid.UUID, list[StepRun]] = {i: [] for i in sourcefile_ids}
    for run in rows:
        grouped[run.sourcefile_id].append(run)
    return grouped


async def _progress(
    session: AsyncSession, sourcefile_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    done = func.count().filter(StepRun.status.in_(DONE_STEP_STATUSES))
    rows = await session.execute(
        select(StepRun.sourcefile_id, done.label("completed"), func.count().label("total"))
        .where(StepRun.sourcefile_id.in_(sourcefile_ids))
        .group_by(StepRun.sourcefile_id)
    )
    return {r.sourcefile_id: {"completed": r.completed, "total": r.total} for r in rows}


def summary(sourcefile: Sourcefile, progress: dict[str, int]) -> dict[str, Any]:
    return {
        "id": sourcefile.id,
        "title": sourcefile.title,
        "language": sourcefile.language,
        "native_language": sourcefile.native_language,
        "level": sourcefile.level,
        "kind": sourcefile.kind,
        "status": sourcefile.status,
        "created_at": sourcefile.created_at,
        "updated_at": sourcefile.updated_at,
        "progress": progress,
    }


async def detail(
    session: AsyncSession, sourcefile: Sourcefile, runs: list[StepRun]
) -> dict[str, Any]:
    """Everything about one sourcefile (SPEC §4): its steps and the results that exist."""
    sid = sourcefile.id
    done = {r.step for r in runs if r.status in DONE_STEP_STATUSES}
    usage: dict[str, int] = {}
    for run in runs:
        for key, value in (run.usage or {}).items():
            usage[key] = usage.get(key, 0) + int(value)
    texts = await _outputs(session, sid, ["transcribe", "translate"])
    audio = {}
    if done & {"speak_text", "speak_sentences"}:
        # Audio only from a finished step: a re-run's sentences never get the old ones' audio.
        audio = {
            a.sentence_position: audio_url(a.id)
            for a in await session.scalars(select(Audio).where(Audio.sourcefile_id == sid))
            if (a.sentence_position is None and "speak_text" in done)
            or (a.sentence_position is not None and "speak_sentences" in done)
        }
    progress = {"completed": len(done), "total": len(runs)}
    return {
        **summary(sourcefile, progress),
        "steps": [_step(r) for r in runs],
        "text": texts.get("transcribe", {}).get("text"),
        "translation": texts.get("translate", {}).get("translation"),
        "words": await _rows(session, WordForm, sid) if "extract_words" in done else [],
        "phrases": await _rows(session, Phrase, sid) if "extract_phrases" in done else [],
        "lemmas": await _lemmas(session, sourcefile) if "describe_lemmas" in done else [],
        "sentences": [
            {**sentence, "audio_url": audio.get(sentence["position"])}
            for sentence in (
                await _rows(session, Sentence, sid) if "generate_sentences" in done else []
            )
        ],
        "audio_url": audio.get(None),
        "usage": usage,
    }


async def _outputs(
    session: AsyncSession, sid: uuid.UUID, steps: list[str]
) -> dict[str, dict[str, Any]]:
    rows = await session.execute(
        select(StepRun.step, StepRun.output).where(
            StepRun.sourcefile_id == sid, StepRun.step.in_(steps)
        )
    )
    return {r.step: r.output or {} for r in rows}


def _step(run: StepRun) -> dict[str, Any]:
    error = None
    if run.error_type:
        error = {
            "type": run.error_type,
            "message": run.error_message,
            "retryable": bool(run.error_retryable),
        }
    return {
        "name": run.step,
        "status": run.status,
        "attempts": run.attempt,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "next_attempt_at": run.next_attempt_at,
        "error": error,
    }


async def _rows(
    session: AsyncSession, table: type[WordForm | Phrase | Sentence], sid: uuid.UUID
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(table).where(table.sourcefile_id == sid).order_by(table.position)
    )
    return [{c.key: getattr(row, c.key) for c in table.__table__.columns} for row in rows]


async def _lemmas(session: AsyncSession, sourcefile: Sourcefile) -> list[dict[str, Any]]:
    """The shared lemmas of this sourcefile's words, in the order the words come."""
    pairs = select(WordForm.lemma, WordForm.part_of_speech).where(
        WordForm.sourcefile_id == sourcefile.id
    )
    rows = await session.scalars(
        select(Lemma).where(
            Lemma.language == sourcefile.language,
            tuple_(Lemma.lemma, Lemma.part_of_speech).in_(pairs),
        )
    )
    return [{c.key: getattr(row, c.key) for c in Lemma.__table__.columns} for row in rows]


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
    query = select(Sourcefile).where(Sourcefile.owner == owner)
    if status is not None:
        query = query.where(Sourcefile.status == status)
    if cursor is not None:
        created, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                Sourcefile.created_at < created,
                and_(Sourcefile.created_at == created, Sourcefile.id < ident),
            )
        )
    page = list(
        (
            await session.execute(
                query.order_by(Sourcefile.created_at.desc(), Sourcefile.id.desc()).limit(limit + 1)
            )
        ).scalars()
    )
    more = len(page) > limit
    page = page[:limit]
    progress = await _progress(session, [s.id for s in page])
    items = [summary(s, progress[s.id]) for s in page]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
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
