"""State rules shared by the engine and the services: readiness, sourcefile status, events.

Every transaction that changes a sourcefile's steps locks the sourcefile row first
(`lock_sourcefile`), then changes steps, then calls `settle()`, which makes dependents ready,
derives the sourcefile's status, and appends the events, last, as `publish` requires.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from langproc.db.base import utcnow
from langproc.db.models import (
    DONE_STEP_STATUSES,
    Sourcefile,
    SourcefileStatus,
    StepRun,
    StepStatus,
)
from langproc.events.publish import iso, publish
from langproc.pipeline.graph import Graph

STATE_COLUMNS = (StepRun.step, StepRun.status, StepRun.ready, StepRun.ready_at, StepRun.attempt)


@dataclass(frozen=True)
class StepChange:
    """A step's new state, to be announced as a `step` event."""

    step: str
    status: str
    attempt: int
    error: dict[str, object] | None = None
    next_attempt_at: datetime | None = None


def derive_status(steps: Sequence[StepRun]) -> SourcefileStatus:
    """The sourcefile status of docs/api.md, from its steps."""
    statuses = [s.status for s in steps]
    if all(s in DONE_STEP_STATUSES for s in statuses):
        return SourcefileStatus.SUCCEEDED
    active = any(
        s.status in (StepStatus.RUNNING, StepStatus.RETRYING)
        or (s.status == StepStatus.PENDING and s.ready)
        for s in steps
    )
    if active:
        started = any(s.attempt > 0 or s.status in DONE_STEP_STATUSES for s in steps)
        return SourcefileStatus.PROCESSING if started else SourcefileStatus.QUEUED
    if StepStatus.CANCELLED in statuses:
        return SourcefileStatus.CANCELLED
    if StepStatus.FAILED in statuses:
        return SourcefileStatus.FAILED
    return SourcefileStatus.QUEUED


async def lock_sourcefile(session: AsyncSession, sourcefile_id: uuid.UUID) -> Sourcefile | None:
    return (
        await session.execute(
            select(Sourcefile).where(Sourcefile.id == sourcefile_id).with_for_update()
        )
    ).scalar_one_or_none()


async def settle(
    session: AsyncSession,
    graph: Graph,
    sourcefile: Sourcefile,
    changes: Iterable[StepChange],
    *,
    created: bool = False,
) -> None:
    """Mark newly ready steps, update the sourcefile status, and append the events (a new
    sourcefile's first event announces its status)."""
    steps = list(
        (
            await session.execute(
                select(StepRun)
                .where(StepRun.sourcefile_id == sourcefile.id)
                # The state columns only: outputs can be large and are not needed here.
                .options(load_only(*STATE_COLUMNS))
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    by_name = {s.step: s for s in steps}
    for run in steps:
        if run.status == StepStatus.PENDING and not run.ready and run.step in graph:
            needs = graph[run.step].needs
            if all(by_name[n].status in DONE_STEP_STATUSES for n in needs if n in by_name):
                run.ready = True
                run.ready_at = utcnow()
    progress = {
        "completed": sum(s.status in DONE_STEP_STATUSES for s in steps),
        "total": len(steps),
    }
    events = [
        (
            "step",
            {
                "step": c.step,
                "status": c.status,
                "attempt": c.attempt,
                "error": c.error,
                "next_attempt_at": iso(c.next_attempt_at) if c.next_attempt_at else None,
                "progress": progress,
            },
        )
        for c in changes
    ]
    status = derive_status(steps)
    sourcefile.updated_at = utcnow()
    if created or status != sourcefile.status:
        sourcefile.status = status
        events.append(("sourcefile", {"status": str(status), "progress": progress}))
    await session.flush()
    await publish(session, sourcefile_id=sourcefile.id, owner=sourcefile.owner, events=events)
