"""The engine: claim runnable steps, run them with no session open, checkpoint the outcome.

Each claim and each checkpoint is one short transaction (checkpoints that finish together
share one, see `grouping`). A checkpoint writes the step's output and its new status together,
fenced by the attempt it claimed: an executor whose lease was taken over finds its update
matching no row and drops its result.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from langproc import metrics
from langproc.blobs import BlobStore
from langproc.db import failures as db_failures
from langproc.db.base import utcnow
from langproc.db.clock import database_now
from langproc.db.models import StepStatus
from langproc.db.session import SessionFactory, session_scope
from langproc.errors import PermanentError, StepError, StepSkipped, TransientError, describe
from langproc.events.hub import Hub
from langproc.pipeline import queries
from langproc.pipeline.backoff import retry_delay
from langproc.pipeline.graph import Graph
from langproc.pipeline.grouping import GroupWriter
from langproc.pipeline.outcomes import Outcome, error_json, refused, status_values
from langproc.pipeline.state import StepChange, settle
from langproc.providers.ports import Providers, RunBlocking
from langproc.providers.usage import Usage, current_usage
from langproc.settings import Settings
from langproc.steps.context import BlobAccess, LemmaCatalog, Source, StepContext

log = logging.getLogger(__name__)

# The checkpointed outputs a claim read, by sourcefile and step.
Outputs = Mapping[tuple[uuid.UUID, str], dict[str, Any] | None]
# Transactions a checkpoint tries before it records the database's refusal instead.
CHECKPOINT_TRIES = 3
# Checkpoints written together at most (see `grouping`).
CHECKPOINT_GROUP = 32
# A checkpoint that hangs would keep its lease renewed forever. This is well above SQLite's busy
# timeout (30 s), which reports a lock wait itself, and above any checkpoint seen under load.
CHECKPOINT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Claim:
    """A step attempt this executor holds the lease of."""

    step_run_id: int
    sourcefile_id: uuid.UUID
    step: str
    attempt: int
    round_attempt: int
    context: StepContext


# What a checkpoint stores: the attempt it ends, how it ended, what the provider calls used.
Checkpoint = tuple[Claim, Outcome, Usage]


@dataclass(frozen=True)
class Attempt:
    """What running a claimed step gave: its outcome, the provider usage, how long it took."""

    outcome: Outcome
    usage: Usage
    elapsed_s: float


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
        run_blocking: RunBlocking,
        lemmas: LemmaCatalog,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.graph = graph
        self.providers = providers
        self.blobs = blobs
        self.settings = settings
        self.hub = hub
        self.run_blocking = run_blocking
        # Host and pid say which process holds a step (it stays on the row once finished).
        self.worker_id = (
            worker_id or f"{socket.gethostname()[:64]}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        )
        self.lemmas = lemmas
        self._checkpoints = GroupWriter(self._checkpoint_group, CHECKPOINT_GROUP)

    async def claim(self, limit: int) -> list[Claim]:
        """Take the leases of up to `limit` runnable steps, in one transaction.

        Only steps this graph knows are taken: rows of other steps (a newer or older version's)
        wait for a version that knows them. A step whose process died `max_crashes` times is
        failed instead of run again.
        """
        if limit <= 0:
            return []
        names = self.graph.names
        async with session_scope(self.sessions) as session:
            # Leases are renewed by the database's clock: they expire by it too.
            now = await database_now(session)
            candidates = await queries.claimable(session, names, now, limit)
            if not candidates:
                return []
            sources = {c.id: c for c in candidates}
            dead = await self._fail_crash_loops(session, candidates, now)
            claimed = await queries.mark_running(
                session,
                [c.step_run_id for c in candidates if c.step_run_id not in dead],
                names,
                worker_id=self.worker_id,
                now=now,
                lease_until=now + timedelta(seconds=self.settings.lease_s),
            )
            needed = {need for c in claimed for need in self.graph[c.step].needs}
            outputs = await queries.outputs(session, {c.sourcefile_id for c in claimed}, needed)
            claims = [self._to_claim(c, sources[c.sourcefile_id], outputs) for c in claimed]
            changes: defaultdict[uuid.UUID, list[StepChange]] = defaultdict(list)
            for sourcefile_id, change in dead.values():
                changes[sourcefile_id].append(change)
            for c in claims:
                changes[c.sourcefile_id].append(StepChange(c.step, StepStatus.RUNNING, c.attempt))
            await settle(session, self.graph, [(sources[i], cs) for i, cs in changes.items()])
        self.hub.notify()
        return claims

    def _to_claim(self, row: Any, source: Any, outputs: Outputs) -> Claim:
        """A claim from a row of `queries.mark_running` and its sourcefile's row."""
        return Claim(
            step_run_id=row.id,
            sourcefile_id=row.sourcefile_id,
            step=row.step,
            attempt=row.attempt,
            round_attempt=row.attempt - row.attempt_floor,
            context=self._context(source, row.step, outputs),
        )

    async def _fail_crash_loops(
        self, session: AsyncSession, candidates: Sequence[Any], now: datetime
    ) -> dict[int, tuple[uuid.UUID, StepChange]]:
        """Fail the abandoned candidates whose process has now died `max_crashes` times: their
        sourcefile and change, by step run id."""
        dead: dict[int, tuple[uuid.UUID, StepChange]] = {}
        for row in candidates:
            died = row.crash_count + 1
            if row.step_status != StepStatus.RUNNING or died < self.settings.max_crashes:
                continue
            error = PermanentError(f"the process running this step died {died} times")
            values = status_values(Outcome(StepStatus.FAILED, error=error), now)
            values["crash_count"] = died
            if not await queries.fail_abandoned(session, row.step_run_id, now, values):
                continue  # its owner renewed the lease after all
            log.warning(
                "step.crash_loop",
                extra={"sourcefile_id": str(row.id), "step": row.step_name, "died": died},
            )
            change = StepChange(
                row.step_name, StepStatus.FAILED, row.step_attempt, error_json(values)
            )
            dead[row.step_run_id] = (row.id, change)
        return dead

    def _context(self, sourcefile: Any, step: str, outputs: Outputs) -> StepContext:
        """What the step sees: its sourcefile (a row of `queries.claimable`) and its inputs."""
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

    async def run(self, claim: Claim) -> Attempt:
        """Run the claimed step with no session open."""
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
        return Attempt(outcome, usage, time.monotonic() - started)

    async def finish(self, claim: Claim, attempt: Attempt) -> None:
        """Count the attempt in the metrics, checkpoint it, and log it."""
        outcome, usage = attempt.outcome, attempt.usage
        metrics.STEP_DURATION.labels(claim.step, outcome.status).observe(attempt.elapsed_s)
        if outcome.status == StepStatus.RETRYING and outcome.error is not None:
            failure = outcome.error
            kind = failure.kind if isinstance(failure, TransientError) else failure.type_name
            metrics.STEP_RETRIES.labels(claim.step, kind).inc()
        duration_ms = round(attempt.elapsed_s * 1000)
        stored = await self._checkpoints.write((claim, outcome, usage))
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
        return Outcome(StepStatus.RETRYING, error=error, retry_in_s=delay)

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
                [stored] = await self._store([(claim, outcome, usage)])
                return stored
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
            [stored] = await self._store([(claim, recorded, Usage())])
            return stored
        except Exception:
            # Nothing could be written: the lease expires and the step is claimed again.
            log.exception(
                "step.checkpoint_failed",
                extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
            )
            return None

    async def _checkpoint_group(self, group: Sequence[Checkpoint]) -> list[StepStatus | None]:
        """The checkpoints that queued up together, in one transaction; if the database refuses
        it, each in its own, where a refusal is retried or recorded for the step it belongs to."""
        async with asyncio.timeout(CHECKPOINT_TIMEOUT_S):
            if len(group) > 1:
                try:
                    return await self._store(group)
                except Exception as exc:
                    log.info("step.group_checkpoint_split", extra={"error": describe(exc)})
            return [await self._checkpoint(*checkpoint) for checkpoint in group]

    async def _store(self, group: Sequence[Checkpoint]) -> list[StepStatus | None]:
        """One checkpoint transaction: each step's row, its result rows and the events; the
        status each stored (None: the attempt was no longer ours). Rows are locked in one order
        everywhere: sourcefiles, then step rows, each by id (see `queries.renew`)."""
        stored: dict[int, StepStatus | None] = {}
        async with session_scope(self.sessions) as session:
            # A retry's due time is compared by the database's clock (see `claim`).
            retries = any(outcome.retry_in_s is not None for _, outcome, _ in group)
            now = await database_now(session) if retries else utcnow()
            sourcefiles = await queries.lock_sourcefiles(
                session, {c.sourcefile_id for c, _, _ in group}
            )
            changes: defaultdict[uuid.UUID, list[StepChange]] = defaultdict(list)
            for claim, outcome, usage in sorted(group, key=lambda c: c[0].step_run_id):
                stores_output = outcome.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
                values = status_values(outcome, now)
                if stores_output:
                    values["output"] = outcome.output
                    values["usage"] = usage.model_dump()
                sourcefile = sourcefiles.get(claim.sourcefile_id)
                if sourcefile is None or not await queries.store_outcome(
                    session, self._held(claim), values
                ):
                    stored[claim.step_run_id] = None
                    continue
                store = self.graph[claim.step].store
                if store is not None and stores_output:
                    await store(session, sourcefile, outcome.output)
                changes[claim.sourcefile_id].append(
                    StepChange(
                        claim.step,
                        outcome.status,
                        claim.attempt,
                        error_json(values),
                        values["next_attempt_at"],
                    )
                )
                stored[claim.step_run_id] = outcome.status
            await settle(session, self.graph, [(sourcefiles[i], cs) for i, cs in changes.items()])
        self.hub.notify()
        return [stored[claim.step_run_id] for claim, _, _ in group]

    def _held(self, claim: Claim) -> queries.Held:
        return queries.Held(claim.step_run_id, claim.attempt, self.worker_id)

    async def heartbeat(self, held: Collection[tuple[int, int]]) -> set[tuple[int, int]]:
        """Extend the leases of `held` (step run id, attempt), by the database's clock; return
        those no longer ours."""
        if not held:
            return set()
        async with session_scope(self.sessions) as session:
            until = await database_now(session) + timedelta(seconds=self.settings.lease_s)
            alive = await queries.renew(session, held, self.worker_id, until)
        return set(held) - alive

    async def release(self, claims: list[Claim]) -> None:
        """Hand unfinished steps back at once (on shutdown); the attempt is not charged."""
        for claim in claims:
            async with session_scope(self.sessions) as session:
                locked = await queries.lock_sourcefiles(session, [claim.sourcefile_id])
                sourcefile = locked.get(claim.sourcefile_id)
                if sourcefile is not None and await queries.hand_back(session, self._held(claim)):
                    change = StepChange(claim.step, StepStatus.PENDING, claim.attempt)
                    await settle(session, self.graph, [(sourcefile, [change])])

    async def next_due(self) -> float | None:
        """Seconds until the earliest waiting retry becomes runnable, by the database's clock."""
        async with self.sessions() as session:
            due = await queries.earliest_retry(session)
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
