"""The engine's SQL, in one place: Core statements on the tables, no ORM unit of work.

Every function runs in the caller's transaction. The order of locks is always the same: a
sourcefile's row first, then its step rows (claims skip sourcefiles another transaction holds).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.models import Sourcefile, StepRun, StepStatus

STEP_RUN = cast(Table, StepRun.__table__)
SOURCEFILE = cast(Table, Sourcefile.__table__)
step = STEP_RUN.c
sourcefile = SOURCEFILE.c

# What a claimed step's context and the state rules read of its sourcefile.
_SOURCE_COLUMNS = (
    sourcefile.id,
    sourcefile.owner,
    sourcefile.status,
    sourcefile.language,
    sourcefile.native_language,
    sourcefile.kind,
    sourcefile.input_text,
    sourcefile.content_type,
    sourcefile.level,
    sourcefile.blob_key,
)
WAITING = (StepStatus.PENDING, StepStatus.RETRYING)


@dataclass(frozen=True)
class Held:
    """An attempt this executor claimed: the fence of every write that follows."""

    step_run_id: int
    attempt: int
    worker_id: str


@dataclass(frozen=True)
class StepState:
    """The state columns of one step row: what readiness and the sourcefile status follow."""

    id: int
    step: str
    status: str
    ready: bool
    attempt: int


def abandoned(now: datetime) -> ColumnElement[bool]:
    """Running under a lease nobody renewed: the process running it died (or hung)."""
    return and_(step.status == StepStatus.RUNNING, step.lease_expires_at < now)


def runnable(names: Collection[str], now: datetime) -> ColumnElement[bool]:
    """A step of this graph that may be claimed now."""
    waiting = and_(
        step.status.in_(WAITING),
        step.ready.is_(True),
        or_(step.next_attempt_at.is_(None), step.next_attempt_at <= now),
    )
    return and_(step.step.in_(names), or_(waiting, abandoned(now)))


def still_held(held: Held) -> ColumnElement[bool]:
    """The fence: the executor still holds the attempt it claimed."""
    return and_(
        step.id == held.step_run_id,
        step.attempt == held.attempt,
        step.status == StepStatus.RUNNING,
        step.lease_owner == held.worker_id,
    )


async def claimable(
    session: AsyncSession, names: Collection[str], now: datetime, limit: int
) -> Sequence[Any]:
    """Up to `limit` runnable steps, oldest first, whose sourcefile this transaction could
    lock (locked now, on Postgres); each with its sourcefile's columns."""
    query = (
        select(
            step.id.label("step_run_id"),
            step.step.label("step_name"),
            step.attempt.label("step_attempt"),
            step.status.label("step_status"),
            step.crash_count,
            *_SOURCE_COLUMNS,
        )
        .join_from(STEP_RUN, SOURCEFILE, sourcefile.id == step.sourcefile_id)
        .where(runnable(names, now))
        .order_by(step.id)
        .limit(limit)
        .with_for_update(of=SOURCEFILE, skip_locked=True)
    )
    return (await session.execute(query)).all()


async def lock_sourcefiles(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The sourcefiles' columns by id, their rows locked until commit, in id order (so that two
    groups of locks never wait for each other); a deleted one is missing."""
    query = (
        select(*_SOURCE_COLUMNS)
        .where(sourcefile.id.in_(ids))
        .order_by(sourcefile.id)
        .with_for_update()
    )
    return {row.id: row for row in await session.execute(query)}


async def mark_running(
    session: AsyncSession,
    ids: Collection[int],
    names: Collection[str],
    *,
    worker_id: str,
    now: datetime,
    lease_until: datetime,
) -> Sequence[Any]:
    """Take the leases of the steps `ids` that are still runnable: one attempt more each."""
    # A re-claimed expired lease is a crash, not an attempt: it moves the round's floor.
    crashed = case((step.status == StepStatus.RUNNING, 1), else_=0)
    statement = (
        update(STEP_RUN)
        .where(step.id.in_(ids), runnable(names, now))
        .values(
            status=StepStatus.RUNNING,
            attempt=step.attempt + 1,
            attempt_floor=step.attempt_floor + crashed,
            crash_count=step.crash_count + crashed,
            lease_owner=worker_id,
            lease_expires_at=lease_until,
            started_at=now,
            finished_at=None,
            next_attempt_at=None,
        )
        .returning(step.id, step.sourcefile_id, step.step, step.attempt, step.attempt_floor)
    )
    return (await session.execute(statement)).all()


async def fail_abandoned(
    session: AsyncSession, step_run_id: int, now: datetime, values: dict[str, Any]
) -> bool:
    """Record `values` on a step whose lease lapsed, unless its owner renewed it after all."""
    statement = (
        update(STEP_RUN)
        .where(step.id == step_run_id, abandoned(now))
        .values(**values)
        .returning(step.id)
    )
    return (await session.execute(statement)).first() is not None


async def outputs(
    session: AsyncSession, sourcefile_ids: Collection[uuid.UUID], steps: Collection[str]
) -> dict[tuple[uuid.UUID, str], dict[str, Any] | None]:
    """The checkpointed outputs of `steps` of these sourcefiles."""
    if not steps:
        return {}
    query = select(step.sourcefile_id, step.step, step.output).where(
        step.sourcefile_id.in_(sourcefile_ids), step.step.in_(steps)
    )
    return {(r.sourcefile_id, r.step): r.output for r in await session.execute(query)}


async def store_outcome(session: AsyncSession, held: Held, values: dict[str, Any]) -> bool:
    """Write an attempt's outcome if it is still held: False when it is no longer ours."""
    statement = update(STEP_RUN).where(still_held(held)).values(**values).returning(step.id)
    return (await session.execute(statement)).first() is not None


async def renew(
    session: AsyncSession, held: Collection[tuple[int, int]], worker_id: str, until: datetime
) -> set[tuple[int, int]]:
    """Extend the leases of (step run id, attempt) still ours; answer those renewed. The rows
    are locked in id order, as a checkpoint of several steps locks them (no deadlock)."""
    ours = and_(
        tuple_(step.id, step.attempt).in_(list(held)),
        step.lease_owner == worker_id,
        step.status == StepStatus.RUNNING,
    )
    locked = select(step.id).where(ours).order_by(step.id).with_for_update()
    statement = (
        update(STEP_RUN)
        .where(step.id.in_(locked.scalar_subquery()), ours)
        .values(lease_expires_at=until)
        .returning(step.id, step.attempt)
    )
    return {(r.id, r.attempt) for r in await session.execute(statement)}


async def hand_back(session: AsyncSession, held: Held) -> bool:
    """Return a held step to `pending` without charging the attempt."""
    statement = (
        update(STEP_RUN)
        .where(still_held(held))
        .values(
            status=StepStatus.PENDING,
            lease_owner=None,
            lease_expires_at=None,
            attempt_floor=step.attempt_floor + 1,
        )
        .returning(step.id)
    )
    return (await session.execute(statement)).first() is not None


async def earliest_retry(session: AsyncSession) -> datetime | None:
    """When the earliest waiting retry becomes runnable."""
    query = select(func.min(step.next_attempt_at)).where(
        step.status.in_(WAITING), step.ready.is_(True)
    )
    due: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return due


async def step_states(
    session: AsyncSession, sourcefile_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[StepState]]:
    """The state columns of every step of these sourcefiles."""
    query = select(
        step.sourcefile_id, step.id, step.step, step.status, step.ready, step.attempt
    ).where(step.sourcefile_id.in_(sourcefile_ids))
    states: dict[uuid.UUID, list[StepState]] = {sid: [] for sid in sourcefile_ids}
    for r in await session.execute(query):
        states[r.sourcefile_id].append(StepState(r.id, r.step, r.status, r.ready, r.attempt))
    return states


async def mark_ready(session: AsyncSession, ids: Collection[int], now: datetime) -> None:
    if ids:
        await session.execute(
            update(STEP_RUN).where(step.id.in_(ids)).values(ready=True, ready_at=now)
        )


async def set_status(
    session: AsyncSession, sourcefile_ids: Collection[uuid.UUID], status: str, now: datetime
) -> None:
    """The sourcefiles' status, and when it was last worked on."""
    await session.execute(
        update(SOURCEFILE)
        .where(sourcefile.id.in_(sourcefile_ids))
        .values(status=status, updated_at=now)
    )
