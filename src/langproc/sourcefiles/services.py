"""Create, retry, cancel and delete sourcefiles. Services flush; their caller commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from langproc.db.base import utcnow
from langproc.db.blobs import retain
from langproc.db.models import (
    DONE_STEP_STATUSES,
    TERMINAL_STEP_STATUSES,
    Event,
    Sourcefile,
    SourcefileKind,
    StepRun,
    StepStatus,
)
from langproc.db.results import Audio
from langproc.errors import Conflict, InvalidInput, NotFound
from langproc.pipeline.graph import Graph
from langproc.pipeline.queries import STEP_RUN
from langproc.pipeline.state import StepChange, announce_created, settle


@dataclass(frozen=True)
class NewSourcefile:
    owner: str
    language: str
    native_language: str
    kind: SourcefileKind
    title: str | None
    text: str | None = None
    blob_key: str | None = None
    content_type: str | None = None
    idempotency_key: str | None = None
    level: str = "B1"


async def create_sourcefile(session: AsyncSession, graph: Graph, new: NewSourcefile) -> Sourcefile:
    """Insert the sourcefile, its step rows and its first event; an idempotent repeat returns
    the first sourcefile."""
    if new.idempotency_key is not None:
        existing = await by_idempotency_key(session, new.owner, new.idempotency_key)
        if existing is not None:
            return existing
    sourcefile = Sourcefile(
        id=uuid.uuid4(),
        owner=new.owner,
        language=new.language,
        native_language=new.native_language,
        kind=new.kind,
        title=new.title,
        input_text=new.text,
        blob_key=new.blob_key,
        content_type=new.content_type,
        idempotency_key=new.idempotency_key,
        level=new.level,
    )
    if new.idempotency_key is None:
        session.add(sourcefile)
        await session.flush()
    else:
        # A savepoint (two more round trips) only where a concurrent repeat can collide.
        try:
            async with session.begin_nested():
                session.add(sourcefile)
                await session.flush()
        except IntegrityError:
            existing = await by_idempotency_key(session, new.owner, new.idempotency_key)
            if existing is None:
                raise
            return existing
    if new.blob_key is not None:
        await retain(session, [new.blob_key])
    await session.execute(
        insert(STEP_RUN),
        [
            {
                "sourcefile_id": sourcefile.id,
                "step": name,
                "ready": not graph[name].needs,
                "ready_at": None if graph[name].needs else sourcefile.created_at,
            }
            for name in graph.names
        ],
    )
    await announce_created(session, sourcefile, len(graph.names))
    return sourcefile


async def by_idempotency_key(session: AsyncSession, owner: str, key: str) -> Sourcefile | None:
    """The owner's sourcefile created with this `Idempotency-Key`, if any."""
    return (
        await session.execute(
            select(Sourcefile).where(Sourcefile.owner == owner, Sourcefile.idempotency_key == key)
        )
    ).scalar_one_or_none()


async def get_owned(session: AsyncSession, sourcefile_id: uuid.UUID, owner: str) -> Sourcefile:
    """The sourcefile if `owner` owns it; another user's is as unknown as a missing one."""
    sourcefile = await session.get(Sourcefile, sourcefile_id)
    if sourcefile is None or sourcefile.owner != owner:
        raise NotFound(f"no sourcefile with id {sourcefile_id}")
    return sourcefile


async def _locked_owned(
    session: AsyncSession, sourcefile_id: uuid.UUID, owner: str
) -> tuple[Sourcefile, dict[str, StepRun]]:
    sourcefile = (
        await session.execute(
            select(Sourcefile).where(Sourcefile.id == sourcefile_id).with_for_update()
        )
    ).scalar_one_or_none()
    if sourcefile is None or sourcefile.owner != owner:
        raise NotFound(f"no sourcefile with id {sourcefile_id}")
    steps = (
        await session.execute(
            select(StepRun)
            .where(StepRun.sourcefile_id == sourcefile_id)
            .execution_options(populate_existing=True)
        )
    ).scalars()
    return sourcefile, {s.step: s for s in steps}


async def retry_sourcefile(
    session: AsyncSession,
    graph: Graph,
    sourcefile_id: uuid.UUID,
    owner: str,
    steps: list[str] | None,
) -> Sourcefile:
    """Re-run the named steps and their downstream, or every failed or cancelled step."""
    sourcefile, runs = await _locked_owned(session, sourcefile_id, owner)
    selected = _to_retry(graph, runs, steps)
    running = [n for n in selected if n in runs and runs[n].status == StepStatus.RUNNING]
    if running:
        raise Conflict(f"steps {running} are running: cancel them first or wait until they end")
    for name in selected:
        if name not in runs:
            # A step added to the graph after this sourcefile was created.
            runs[name] = StepRun(sourcefile_id=sourcefile.id, step=name, attempt=0)
            session.add(runs[name])
    reset = set(selected)
    changes: list[StepChange] = []
    for name in selected:
        ready = all(
            need in runs and runs[need].status in DONE_STEP_STATUSES and need not in reset
            for need in graph[name].needs
        )
        _reset(runs[name], ready=ready)
        changes.append(StepChange(name, StepStatus.PENDING, runs[name].attempt))
        store = graph[name].store
        if store is not None:
            # The old results must not be served beside (or attached to) the new ones.
            await store(session, sourcefile, None)
    await _settle(session, graph, sourcefile, changes)
    return sourcefile


def _to_retry(graph: Graph, runs: dict[str, StepRun], steps: list[str] | None) -> list[str]:
    """The named steps with their downstream, or every failed or cancelled step."""
    if steps is not None:
        unknown = sorted(set(steps) - set(graph.names))
        if unknown:
            raise InvalidInput(f"unknown steps {unknown}: the steps are {graph.names}")
        return graph.downstream(steps)
    selected = [
        name
        for name, run in runs.items()
        if run.status in (StepStatus.FAILED, StepStatus.CANCELLED) and name in graph
    ]
    if not selected:
        raise Conflict("no step has failed or been cancelled: name the steps to re-run")
    return selected


def _reset(run: StepRun, *, ready: bool) -> None:
    """A new round for the step: pending, its attempts and crashes counted afresh."""
    run.ready = ready
    run.ready_at = utcnow() if ready else None
    run.status = StepStatus.PENDING
    run.attempt_floor = run.attempt
    run.crash_count = 0
    run.next_attempt_at = None
    run.error_type = run.error_message = None
    run.error_retryable = None
    run.finished_at = None


async def cancel_sourcefile(
    session: AsyncSession, graph: Graph, sourcefile_id: uuid.UUID, owner: str
) -> Sourcefile:
    """Mark every unfinished step cancelled; results so far are kept."""
    sourcefile, runs = await _locked_owned(session, sourcefile_id, owner)
    changes: list[StepChange] = []
    for run in runs.values():
        if run.status not in TERMINAL_STEP_STATUSES:
            run.status = StepStatus.CANCELLED
            run.lease_owner = None
            run.lease_expires_at = None
            run.next_attempt_at = None
            changes.append(StepChange(run.step, StepStatus.CANCELLED, run.attempt))
    if not changes:
        return sourcefile  # nothing left to stop: a finished sourcefile stays as it was
    await _settle(session, graph, sourcefile, changes)
    return sourcefile


async def _settle(
    session: AsyncSession, graph: Graph, sourcefile: Sourcefile, changes: list[StepChange]
) -> None:
    """Flush the changed step rows, settle, and keep `sourcefile` as the database has it."""
    await session.flush()
    statuses = await settle(session, graph, [(sourcefile, changes)])
    set_committed_value(sourcefile, "status", statuses[sourcefile.id])


async def delete_sourcefile(session: AsyncSession, sourcefile_id: uuid.UUID, owner: str) -> None:
    """Delete the sourcefile with its steps, events and results.

    Its files are not touched here: the blob collector deletes them once no row uses them.
    """
    sourcefile, _ = await _locked_owned(session, sourcefile_id, owner)
    await session.execute(delete(Event).where(Event.sourcefile_id == sourcefile_id))
    await session.execute(delete(StepRun).where(StepRun.sourcefile_id == sourcefile_id))
    await session.delete(sourcefile)
    await session.flush()


async def get_owned_audio(session: AsyncSession, audio_id: uuid.UUID, owner: str) -> Audio:
    """Audio of one of `owner`'s sourcefiles; another user's is as unknown as a missing one."""
    audio = (
        await session.execute(
            select(Audio)
            .join(Sourcefile, Sourcefile.id == Audio.sourcefile_id)
            .where(Audio.id == audio_id, Sourcefile.owner == owner)
        )
    ).scalar_one_or_none()
    if audio is None:
        raise NotFound(f"no audio with id {audio_id}")
    return audio
