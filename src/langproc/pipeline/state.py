"""State rules shared by the engine and the services: readiness, sourcefile status, events.

Every transaction that changes a sourcefile's steps locks the sourcefile row first
(`queries.lock_sourcefiles`, or the services' ORM lock), then changes steps, then calls
`settle()`, which makes dependents ready, derives the sourcefile's status, and appends the
events, last, as `publish` requires.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.base import utcnow
from langproc.db.models import DONE_STEP_STATUSES, SourcefileStatus, StepStatus
from langproc.events.payloads import (
    ErrorPayload,
    Progress,
    SourcefileEventPayload,
    StepEventPayload,
)
from langproc.events.publish import NewEvent, iso, publish
from langproc.pipeline import queries
from langproc.pipeline.graph import Graph
from langproc.pipeline.queries import StepState


class SourcefileRef(Protocol):
    """What the state rules need of a sourcefile: a row of `queries` or an ORM instance."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def owner(self) -> str: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class StepChange:
    """A step's new state, to be announced as a `step` event."""

    step: str
    status: str
    attempt: int
    error: ErrorPayload | None = None
    next_attempt_at: datetime | None = None


class StepStateLike(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def ready(self) -> bool: ...
    @property
    def attempt(self) -> int: ...


def derive_status(steps: Sequence[StepStateLike]) -> SourcefileStatus:
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


def _newly_ready(graph: Graph, steps: Sequence[StepState]) -> list[StepState]:
    """Pending steps whose every dependency is now done (a step unknown to `graph` waits)."""
    done = {s.step for s in steps if s.status in DONE_STEP_STATUSES}
    present = {s.step for s in steps}
    return [
        s
        for s in steps
        if s.status == StepStatus.PENDING
        and not s.ready
        and s.step in graph
        and all(need in done for need in graph[s.step].needs if need in present)
    ]


def _progress(steps: Sequence[StepState]) -> Progress:
    return {
        "completed": sum(s.status in DONE_STEP_STATUSES for s in steps),
        "total": len(steps),
    }


def _step_event(sourcefile: SourcefileRef, change: StepChange, progress: Progress) -> NewEvent:
    payload: StepEventPayload = {
        "step": change.step,
        "status": change.status,
        "attempt": change.attempt,
        "error": change.error,
        "next_attempt_at": iso(change.next_attempt_at) if change.next_attempt_at else None,
        "progress": progress,
    }
    return NewEvent(sourcefile.id, sourcefile.owner, "step", payload)


def _status_event(sourcefile: SourcefileRef, status: str, progress: Progress) -> NewEvent:
    payload: SourcefileEventPayload = {"status": str(status), "progress": progress}
    return NewEvent(sourcefile.id, sourcefile.owner, "sourcefile", payload)


async def settle(
    session: AsyncSession,
    graph: Graph,
    touched: Iterable[tuple[SourcefileRef, Sequence[StepChange]]],
) -> dict[uuid.UUID, SourcefileStatus]:
    """After steps of these sourcefiles changed (their rows locked by the caller): mark newly
    ready steps, set each sourcefile's status, and append the events, last, as `publish`
    requires. Answers each sourcefile's status."""
    touched = list(touched)
    now = utcnow()
    states = await queries.step_states(session, [sf.id for sf, _ in touched])
    ready = {s.id for steps in states.values() for s in _newly_ready(graph, steps)}
    await queries.mark_ready(session, ready, now)
    events: list[NewEvent] = []
    statuses: dict[uuid.UUID, SourcefileStatus] = {}
    for sourcefile, changes in touched:
        steps = [replace(s, ready=True) if s.id in ready else s for s in states[sourcefile.id]]
        progress = _progress(steps)
        events.extend(_step_event(sourcefile, change, progress) for change in changes)
        status = statuses[sourcefile.id] = derive_status(steps)
        if status != sourcefile.status:
            events.append(_status_event(sourcefile, status, progress))
    by_status: dict[SourcefileStatus, list[uuid.UUID]] = defaultdict(list)
    for sourcefile_id, status in statuses.items():
        by_status[status].append(sourcefile_id)
    for status, ids in by_status.items():
        await queries.set_status(session, ids, status, now)
    await publish(session, events)
    return statuses


async def announce_created(session: AsyncSession, sourcefile: SourcefileRef, steps: int) -> None:
    """A new sourcefile's first event: `queued`, nothing done yet."""
    progress: Progress = {"completed": 0, "total": steps}
    await publish(session, [_status_event(sourcefile, SourcefileStatus.QUEUED, progress)])
