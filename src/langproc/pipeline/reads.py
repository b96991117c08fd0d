"""Read views of sourcefiles: status, steps, and the results that exist so far."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.models import DONE_STEP_STATUSES, Sourcefile, StepRun
from langproc.errors import InvalidInput


async def step_runs(
    session: AsyncSession, sourcefile_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[StepRun]]:
    rows = (
        await session.execute(
            select(StepRun).where(StepRun.sourcefile_id.in_(sourcefile_ids)).order_by(StepRun.id)
        )
    ).scalars()
    grouped: dict[uuid.UUID, list[StepRun]] = {i: [] for i in sourcefile_ids}
    for run in rows:
        grouped[run.sourcefile_id].append(run)
    return grouped


def summary(sourcefile: Sourcefile, runs: list[StepRun]) -> dict[str, Any]:
    return {
        "id": sourcefile.id,
        "title": sourcefile.title,
        "language": sourcefile.language,
        "native_language": sourcefile.native_language,
        "kind": sourcefile.kind,
        "status": sourcefile.status,
        "created_at": sourcefile.created_at,
        "updated_at": sourcefile.updated_at,
        "progress": {
            "completed": sum(r.status in DONE_STEP_STATUSES for r in runs),
            "total": len(runs),
        },
    }


def detail(sourcefile: Sourcefile, runs: list[StepRun]) -> dict[str, Any]:
    """Everything about one sourcefile (SPEC §4)."""
    outputs = {r.step: r.output or {} for r in runs}
    usage: dict[str, int] = {}
    for run in runs:
        for key, value in (run.usage or {}).items():
            usage[key] = usage.get(key, 0) + int(value)
    sentences = list(outputs.get("generate_sentences", {}).get("sentences", []))
    for item in outputs.get("speak_sentences", {}).get("items", []):
        index = item["sentence_index"]
        if 0 <= index < len(sentences):
            sentences[index] = {**sentences[index], "audio_url": audio_url(item["audio"])}
    spoken = outputs.get("speak_text", {})
    return {
        **summary(sourcefile, runs),
        "steps": [
            {
                "name": r.step,
                "status": r.status,
                "attempts": r.attempt,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "next_attempt_at": r.next_attempt_at,
                "error": (
                    {
                        "type": r.error_type,
                        "message": r.error_message,
                        "retryable": bool(r.error_retryable),
                    }
                    if r.error_type
                    else None
                ),
            }
            for r in runs
        ],
        "text": outputs.get("transcribe", {}).get("text"),
        "translation": outputs.get("translate", {}).get("translation"),
        "words": outputs.get("extract_words", {}).get("words", []),
        "phrases": outputs.get("extract_phrases", {}).get("phrases", []),
        "lemmas": outputs.get("describe_lemmas", {}).get("lemmas", []),
        "sentences": sentences,
        "audio_url": audio_url(spoken) if spoken else None,
        "usage": usage,
    }


def audio_url(audio: dict[str, Any]) -> str:
    return f"/api/audio/{audio['blob_key']}"


def encode_cursor(created_at: datetime, sourcefile_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{sourcefile_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, ident = raw.split("|")
        return datetime.fromisoformat(created), uuid.UUID(ident)
    except ValueError as exc:
        raise InvalidInput(
            "the cursor is not valid: pass the next_cursor of a previous page"
        ) from exc


async def list_sourcefiles(
    session: AsyncSession, owner: str, *, status: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the owner's sourcefiles, newest first, and the cursor of the next page."""
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
    runs = await step_runs(session, [s.id for s in page])
    items = [summary(s, runs[s.id]) for s in page]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return items, next_cursor
