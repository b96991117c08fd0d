"""The engine: claim runnable steps, run them with no session open, checkpoint the outcome.

Each claim and each checkpoint is one short transaction. A checkpoint writes the step's output
and its new status together, fenced by the attempt it claimed: an executor whose lease was
taken over finds its update matching no row and drops its result.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, case, func, or_, select, tuple_, update

from langproc import metrics
from langproc.blobs import BlobStore
from langproc.db import failures as db_failures
from langproc.db.base import utcnow
from langproc.db.clock import database_now
from langproc.db.engine import SessionFactory, session_scope
from langproc.db.models import Sourcefile, StepRun, StepStatus
from langproc.errors import PermanentError, StepError, StepSkipped, TransientError, describe
from langproc.events.hub import Hub
from langproc.pipeline.backoff import retry_delay
from langproc.pipeline.graph import Graph
from langproc.pipeline.outcomes import Outcome, error_json, refused, status_values
from langproc.pipeline.results import StoredLemmas
from langproc.pipeline.state import StepChange, lock_sourcefile, settle
from langproc.providers.usage import Usage, current_usage
from langproc.settings import Settings
from langproc.steps.context import BlobAccess, Providers, Source, StepContext

log = logging.getLogger(__name__)

# Transactions a checkpoint tries before it records the database's refusal instead.
CHECKPOINT_TRIES = 3


@dataclass(frozen=True)
class Claim:
    """A step attempt this executor holds the lease of."""

    step_run_id: int
    sourcefile_id: uuid.UUID
    step: str
    attempt: int
    round_attempt: int
    context: StepContext


def _abandoned(now: datetime) -> ColumnElement[bool]:
    """Running under a lease nobody renewed: the process running it died (or hung)."""
    return and_(StepRun.status == StepStatus.RUNNING, StepRun.lease_expires_at < now)


def _runnable(now: datetime) -> ColumnElement[bool]:
    waiting = and_(
        StepRun.status.in_([StepStatus.PENDING, StepStatus.RETRYING]),
        StepRun.ready.is_(True),
        or_(StepRun.next_attempt_at.is_(None), StepRun.next_attempt_at <= now),
    )
    return or_(waiting, _abandoned(now))


class Engine:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        graph: Graph,
        providers: Providers,
        blobs: BlobStore,
        settings: Settings,
        hub: Hub,
        run_blocking: Any,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.graph = graph
        self.providers = providers
        self.blobs = blobs
        self.settings = settings
        self.hub = hub
        self.run_blocking = run_blocking
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.lemmas = StoredLemmas(sessions)

    async def claim(self, limit: int) -> list[Claim]:
        """Take the leases of up to `limit` runnable steps, in one transaction.

        Only steps this graph knows are taken: rows of other steps (a newer or older version's)
        wait for a version that knows them. A step whose process died `max_crashes` times is
        failed instead of run again.
        """
        if limit <= 0:
            return []
        now = utcnow()
        runnable = and_(StepRun.step.in_(self.graph.names), _runnable(now))
        async with session_scope(self.sessions) as session:
            candidates = (
                await session.execute(
                    select(StepRun.id, StepRun.sourcefile_id)
                    .where(runnable)
                    .order_by(StepRun.id)
                    .limit(limit)
                )
            ).all()
            if not candidates:
                return []
            sourcefiles = {
                sf.id: sf
                for sf in (
                    await session.execute(
                        select(Sourcefile)
                        .where(Sourcefile.id.in_({c.sourcefile_id for c in candidates}))
                        .order_by(Sourcefile.id)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            }
            ids = [c.id for c in candidates if c.sourcefile_id in sourcefiles]
            if not ids:
                return []
            changes = await self._fail_crash_loops(session, ids, now)
            # A re-claimed expired lease is a crash, not an attempt: it moves the round's floor.
            abandoned = case((StepRun.status == StepStatus.RUNNING, 1), else_=0)
            claimed = (
                await session.execute(
                    update(StepRun)
                    .where(StepRun.id.in_(ids), runnable)
                    .values(
                        status=StepStatus.RUNNING,
                        attempt=StepRun.attempt + 1,
                        attempt_floor=StepRun.attempt_floor + abandoned,
                        crash_count=StepRun.crash_count + abandoned,
                        lease_owner=self.worker_id,
                        lease_expires_at=now + timedelta(seconds=self.settings.lease_s),
                        started_at=now,
                        finished_at=None,
                        next_attempt_at=None,
                    )
                    .returning(
                        StepRun.id,
                        StepRun.sourcefile_id,
                        StepRun.step,
                        StepRun.attempt,
                        StepRun.attempt_floor,
                    )
                    .execution_options(synchronize_session=False)
                )
            ).all()
            needed = {need for c in claimed for need in self.graph[c.step].needs}
            outputs = await self._outputs(session, {c.sourcefile_id for c in claimed}, needed)
            claims = [
                Claim(
                    step_run_id=c.id,
                    sourcefile_id=c.sourcefile_id,
                    step=c.step,
                    attempt=c.attempt,
                    round_attempt=c.attempt - c.attempt_floor,
                    context=self._context(sourcefiles[c.sourcefile_id], c.step, outputs),
                )
                for c in claimed
            ]
            for c in claims:
                changes.setdefault(c.sourcefile_id, []).append(
                    StepChange(c.step, StepStatus.RUNNING, c.attempt)
                )
            for sourcefile_id, sourcefile_changes in changes.items():
                await settle(session, self.graph, sourcefiles[sourcefile_id], sourcefile_changes)
        self.hub.notify()
        return claims

    async def _fail_crash_loops(
        self, session: Any, ids: list[int], now: datetime
    ) -> dict[uuid.UUID, list[StepChange]]:
        """Fail the abandoned steps among `ids` whose process has now died `max_crashes` times."""
        crashes = (StepRun.crash_count + 1).label("crashes")
        dead = (
            await session.execute(
                select(StepRun.id, StepRun.sourcefile_id, StepRun.step, StepRun.attempt, crashes)
                .where(StepRun.id.in_(ids), _abandoned(now))
                .where(crashes >= self.settings.max_crashes)
            )
        ).all()
        changes: dict[uuid.UUID, list[StepChange]] = {}
        for row in dead:
            died = row.crashes
            error = PermanentError(f"the process running this step died {died} times")
            values = status_values(Outcome(StepStatus.FAILED, error=error), now)
            result = await session.execute(
                update(StepRun)
                .where(StepRun.id == row.id, _abandoned(now))
                .values(**values, crash_count=died)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # its owner renewed the lease after all
                continue
            log.warning(
                "step.crash_loop",
                extra={"sourcefile_id": str(row.sourcefile_id), "step": row.step, "died": died},
            )
            changes.setdefault(row.sourcefile_id, []).append(
                StepChange(row.step, StepStatus.FAILED, row.attempt, error_json(values))
            )
        return changes

    async def _outputs(
        self, session: Any, sourcefile_ids: set[uuid.UUID], steps: set[str]
    ) -> dict[tuple[uuid.UUID, str], dict[str, Any] | None]:
        """The checkpointed outputs of `steps`: only what the claimed steps take as input."""
        if not steps:
            return {}
        rows = await session.execute(
            select(StepRun.sourcefile_id, StepRun.step, StepRun.output).where(
                StepRun.sourcefile_id.in_(sourcefile_ids), StepRun.step.in_(steps)
            )
        )
        return {(r.sourcefile_id, r.step): r.output for r in rows}

    def _context(
        self,
        sourcefile: Sourcefile,
        step: str,
        outputs: Mapping[tuple[uuid.UUID, str], dict[str, Any] | None],
    ) -> StepContext:
        source = Source(
            id=sourcefile.id,
            language=sourcefile.language,
            native_language=sourcefile.native_language,
            kind=sourcefile.kind,
            text=sourcefile.input_text,
            content_type=sourcefile.content_type,
            level=sourcefile.level,
        )
        blob_key = sourcefile.blob_key

        async def read_source() -> bytes:
            if blob_key is None:
                raise PermanentError("this sourcefile has no uploaded file")
            return await self.blobs.get(blob_key)

        return StepContext(
            source=source,
            providers=self.providers,
            outputs={need: outputs.get((sourcefile.id, need)) for need in self.graph[step].needs},
            blobs=BlobAccess(read_source, self.blobs.put, self.blobs.writer),
            run_blocking=self.run_blocking,
            lemmas=self.lemmas,
        )

    async def run(self, claim: Claim) -> tuple[Outcome, Usage, float]:
        """Run the claimed step with no session open: its outcome, usage and duration."""
        spec = self.graph[claim.step]
        usage = Usage()
        current_usage.set(usage)
        metrics.STEP_ATTEMPTS.labels(claim.step).inc()
        started = time.monotonic()
        try:
            async with asyncio.timeout(spec.timeout_s):
                output: BaseModel = await spec.run(claim.context)
            outcome = Outcome(StepStatus.SUCCEEDED, output=output.model_dump(mode="json"))
        except StepSkipped as skipped:
            data = (
                skipped.output.model_dump(mode="json")
                if isinstance(skipped.output, BaseModel)
                else None
            )
            outcome = Outcome(StepStatus.SKIPPED, output=data, error=skipped)
        except TimeoutError:
            error = TransientError(
                f"the step did not finish within {spec.timeout_s:g} s", kind="timeout"
            )
            outcome = self._failure(claim, error)
        except StepError as error:
            outcome = self._failure(claim, error)
        except Exception as exc:  # a bug in a step must not kill the executor
            outcome = self._failure(claim, unexpected(claim, exc))
        return outcome, usage, time.monotonic() - started

    async def finish(self, claim: Claim, outcome: Outcome, usage: Usage, elapsed: float) -> None:
        """Count the attempt in the metrics, checkpoint it, and log it."""
        metrics.STEP_DURATION.labels(claim.step, outcome.status).observe(elapsed)
        if outcome.status == StepStatus.RETRYING and outcome.error is not None:
            failure = outcome.error
            kind = failure.kind if isinstance(failure, TransientError) else failure.type_name
            metrics.STEP_RETRIES.labels(claim.step, kind).inc()
        duration_ms = round(elapsed * 1000)
        stored = await self._checkpoint(claim, outcome, usage)
        log.info(
            "step.%s",
            stored or "stale",
            extra={
                "sourcefile_id": str(claim.sourcefile_id),
                "step": claim.step,
                "attempt": claim.attempt,
                "duration_ms": duration_ms,
            },
        )

    def _failure(self, claim: Claim, error: StepError) -> Outcome:
        spec = self.graph[claim.step]
        retry = (
            error.retryable and spec.retryable and claim.round_attempt < self.settings.max_attempts
        )
        if not retry:
            return Outcome(StepStatus.FAILED, error=error)
        delay = retry_delay(
            claim.round_attempt,
            base_s=self.settings.retry_base_delay_s,
            cap_s=self.settings.retry_max_delay_s,
            retry_after_s=error.retry_after_s if isinstance(error, TransientError) else None,
        )
        return Outcome(
            StepStatus.RETRYING, error=error, next_attempt_at=utcnow() + timedelta(seconds=delay)
        )

    async def checkpoint(self, claim: Claim, outcome: Outcome, usage: Usage) -> bool:
        """Store the outcome if this executor still holds the claimed attempt.

        A write the database refuses is retried at once if the refusal is transient (a lock, a
        deadlock, a lost connection), a few times; then the step's refusal is itself recorded,
        fenced, in a fresh transaction: `retrying` (run again at once, within the attempt
        limit) or `failed` with the database's message.
        """
        return await self._checkpoint(claim, outcome, usage) is not None

    async def _checkpoint(self, claim: Claim, outcome: Outcome, usage: Usage) -> StepStatus | None:
        """`checkpoint`, answering the status stored (None: the attempt was no longer ours)."""
        refusal: Exception | None = None
        for _ in range(CHECKPOINT_TRIES):
            try:
                return await self._store(claim, outcome, usage)
            except Exception as exc:
                refusal = exc
                if not db_failures.is_transient(exc):
                    break
                log.warning(
                    "step.checkpoint_retried",
                    extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
                )
        assert refusal is not None
        log.error(
            "step.checkpoint_refused",
            exc_info=refusal,
            extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
        )
        recorded = refused(refusal, claim.round_attempt, self.settings.max_attempts)
        try:
            return await self._store(claim, recorded, Usage())
        except Exception:
            # Nothing could be written: the lease expires and the step is claimed again.
            log.exception(
                "step.checkpoint_failed",
                extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
            )
            return None

    async def _store(self, claim: Claim, outcome: Outcome, usage: Usage) -> StepStatus | None:
        """One checkpoint transaction: the step row, its result rows and the events."""
        values = status_values(outcome, utcnow())
        if outcome.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
            values["output"] = outcome.output
            values["usage"] = usage.model_dump()
        async with session_scope(self.sessions) as session:
            sourcefile = await lock_sourcefile(session, claim.sourcefile_id)
            if sourcefile is None:
                return None
            result = await session.execute(
                update(StepRun)
                .where(self._still_held(claim))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            store = self.graph[claim.step].store
            if store is not None and outcome.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
                await store(session, sourcefile, outcome.output)
            change = StepChange(
                claim.step,
                outcome.status,
                claim.attempt,
                error_json(values),
                outcome.next_attempt_at,
            )
            await settle(session, self.graph, sourcefile, [change])
        self.hub.notify()
        return outcome.status

    def _still_held(self, claim: Claim) -> ColumnElement[bool]:
        """The fence: this executor still holds the attempt it claimed."""
        return and_(
            StepRun.id == claim.step_run_id,
            StepRun.attempt == claim.attempt,
            StepRun.status == StepStatus.RUNNING,
            StepRun.lease_owner == self.worker_id,
        )

    async def heartbeat(self, held: Collection[tuple[int, int]]) -> set[tuple[int, int]]:
        """Extend the leases of `held` (step run id, attempt), by the database's clock; return
        those no longer ours."""
        if not held:
            return set()
        async with session_scope(self.sessions) as session:
            now = await database_now(session)
            alive = {
                (r.id, r.attempt)
                for r in await session.execute(
                    update(StepRun)
                    .where(
                        tuple_(StepRun.id, StepRun.attempt).in_(list(held)),
                        StepRun.lease_owner == self.worker_id,
                        StepRun.status == StepStatus.RUNNING,
                    )
                    .values(lease_expires_at=now + timedelta(seconds=self.settings.lease_s))
                    .returning(StepRun.id, StepRun.attempt)
                    .execution_options(synchronize_session=False)
                )
            }
        return set(held) - alive

    async def release(self, claims: list[Claim]) -> None:
        """Hand unfinished steps back at once (on shutdown); the attempt is not charged."""
        for claim in claims:
            async with session_scope(self.sessions) as session:
                sourcefile = await lock_sourcefile(session, claim.sourcefile_id)
                if sourcefile is None:
                    continue
                result = await session.execute(
                    update(StepRun)
                    .where(self._still_held(claim))
                    .values(
                        status=StepStatus.PENDING,
                        lease_owner=None,
                        lease_expires_at=None,
                        attempt_floor=StepRun.attempt_floor + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    change = StepChange(claim.step, StepStatus.PENDING, claim.attempt)
                    await settle(session, self.graph, sourcefile, [change])

    async def next_due(self) -> float | None:
        """Seconds until the earliest waiting retry becomes runnable, by the database's clock."""
        async with self.sessions() as session:
            due = (
                await session.execute(
                    select(func.min(StepRun.next_attempt_at)).where(
                        StepRun.status.in_([StepStatus.PENDING, StepStatus.RETRYING]),
                        StepRun.ready.is_(True),
                    )
                )
            ).scalar_one_or_none()
            if due is None:
                return None
            return (due - await database_now(session)).total_seconds()


def unexpected(claim: Claim, exc: Exception) -> StepError:
    """What an exception no step raised on purpose means: a database that could not be reached
    (the result cache, the lemma table) passes and is retried; anything else is a bug, logged."""
    if db_failures.is_transient(exc):
        return TransientError(
            f"the database was unreachable: {db_failures.message(exc)}", kind="database"
        )
    log.exception(
        "step.crashed", extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step}
    )
    return PermanentError(
        f"internal error in step {claim.step} ({type(exc).__name__}): {describe(exc)}"
    )
