"""The executor: wakes on signals (no busy polling), claims up to its capacity, keeps leases
alive, recovers abandoned work, and hands unfinished steps back on shutdown.

Leases are renewed for every task this process still holds, through the shutdown grace and
through checkpoints, until the task has finished or been handed back. Checkpoints and hand-backs
are shielded from cancellation: a cancelled caller waits for them to end, so that no transaction
is abandoned half way (on SQLite that would leave the database write-locked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from langproc.pipeline.engine import Attempt, Claim, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")


async def shielded(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end even if the caller is cancelled; then re-raise the cancellation."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


class Executor:
    def __init__(
        self,
        engine: Engine,
        *,
        capacity: int,
        poll_interval_s: float,
        heartbeat_s: float,
    ) -> None:
        self.engine = engine
        self.capacity = capacity
        self.poll_interval_s = poll_interval_s
        self.heartbeat_s = heartbeat_s
        self.lease_s = engine.settings.lease_s
        # Past the lease, a renewal is of no use: give it up and try again on a fresh one.
        self.heartbeat_timeout_s = self.lease_s
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closed = asyncio.Event()
        self._running: dict[asyncio.Task[None], Claim] = {}
        # Tasks writing their checkpoint: the checkpoint ends the lease, which is no loss.
        self._finishing: set[asyncio.Task[None]] = set()
        # Claims whose checkpoint failed, and when: their lease lapses unless handed back first.
        self._stranded: dict[tuple[int, int], tuple[Claim, float]] = {}
        self._claim_loop: asyncio.Task[None] | None = None
        self._heartbeat_loop: asyncio.Task[None] | None = None
        engine.hub.subscribe(self.wake)

    def wake(self) -> None:
        """Look for runnable steps now (after a commit that may have made some)."""
        self._wake.set()

    @property
    def running(self) -> list[Claim]:
        return list(self._running.values())

    def start(self) -> None:
        self._claim_loop = asyncio.create_task(self._claim(), name="executor.claim")
        self._heartbeat_loop = asyncio.create_task(self._heartbeat(), name="executor.heartbeat")

    def interrupt(self, sourcefile_id: uuid.UUID) -> None:
        """Cancel this process's running steps of a sourcefile (it was cancelled or deleted)."""
        for task, claim in list(self._running.items()):
            if claim.sourcefile_id == sourcefile_id:
                task.cancel()

    async def stop(self, grace_s: float) -> None:
        """Stop claiming, let running steps finish within `grace_s`, hand the rest back; leases
        are renewed until then."""
        self._stopping.set()
        self._wake.set()
        if self._claim_loop is not None:
            # Not cancelled: a claim in flight ends, and what it took is handed back.
            await asyncio.gather(self._claim_loop, return_exceptions=True)
        if self._running:
            await asyncio.wait(list(self._running), timeout=grace_s)
        unfinished = dict(self._running)
        for task in unfinished:
            task.cancel()
        # A task cancelled during its checkpoint ends it first (see _finish).
        await asyncio.gather(*unfinished, return_exceptions=True)
        # The release is fenced: a step that did checkpoint, or was taken over, is left alone.
        handed_back = [*unfinished.values(), *(c for c, _ in self._stranded.values())]
        self._stranded.clear()
        if handed_back:
            try:
                await shielded(self.engine.release(handed_back))
                log.info("executor.released", extra={"steps": len(handed_back)})
            except Exception:
                # Their leases will lapse and another executor will take them.
                log.exception("executor.release_failed")
        self._closed.set()
        if self._heartbeat_loop is not None:
            await asyncio.gather(self._heartbeat_loop, return_exceptions=True)

    async def _claim(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            free = self.capacity - len(self._running)
            claims: list[Claim] = []
            try:
                claims = await self.engine.claim(free)
                backoff = 0.0
            except Exception as exc:
                # The database is down or restarting: wait longer each time, never longer
                # than the poll interval, so that the executor recovers by itself.
                backoff = min(max(backoff * 2, 0.25), self.poll_interval_s)
                log.warning(
                    "executor.claim_failed",
                    exc_info=backoff == 0.25,
                    extra={"error": f"{type(exc).__name__}: {exc}"[:300], "retry_in_s": backoff},
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await self._stopping.wait()
                continue
            if self._stopping.is_set():
                # Claimed while stopping: hand them back untouched.
                if claims:
                    await shielded(self.engine.release(claims))
                break
            for claim in claims:
                self._launch(claim)
            if free > 0 and len(claims) == free:
                continue
            await self._sleep(look_ahead=len(claims) < free)

    def _launch(self, claim: Claim) -> None:
        task = asyncio.create_task(self._execute(claim), name=f"step.{claim.step}")
        self._running[task] = claim
        # A done-callback, not a `finally`: a task cancelled before it starts never runs one.
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._finishing.discard(task)
        self.wake()

    async def _sleep(self, *, look_ahead: bool) -> None:
        """Wait for a wake-up, the poll interval, or (with `look_ahead`, when there is room for
        more) the moment the earliest waiting retry becomes due."""
        timeout = self.poll_interval_s
        if look_ahead:
            with contextlib.suppress(Exception):
                due_in = await self.engine.next_due()
                if due_in is not None:
                    timeout = min(timeout, max(due_in, 0.0) + 0.01)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _execute(self, claim: Claim) -> None:
        attempt = await self.engine.run(claim)
        task = asyncio.current_task()
        assert task is not None
        self._finishing.add(task)
        await shielded(self._finish(claim, attempt))

    async def _finish(self, claim: Claim, attempt: Attempt) -> None:
        try:
            await self.engine.finish(claim, attempt)  # bounded by CHECKPOINT_TIMEOUT_S
        except Exception:
            # The lease will expire and the step will be claimed again (or handed back sooner,
            # should this process stop first).
            log.exception(
                "step.checkpoint_failed",
                extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
            )
            now = asyncio.get_running_loop().time()
            for key, (_, since) in list(self._stranded.items()):
                if now - since > self.lease_s:
                    del self._stranded[key]
            self._stranded[(claim.step_run_id, claim.attempt)] = (claim, now)

    async def _heartbeat(self) -> None:
        while not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat_s):
                    await self._closed.wait()
            held = {(c.step_run_id, c.attempt) for c in self._running.values()}
            if not held:
                continue
            try:
                async with asyncio.timeout(self.heartbeat_timeout_s):
                    lost = await self.engine.heartbeat(held)
            except Exception:
                log.exception("executor.heartbeat_failed")
                continue
            for task, claim in list(self._running.items()):
                if (claim.step_run_id, claim.attempt) in lost and task not in self._finishing:
                    log.info(
                        "step.lease_lost",
                        extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
                    )
                    task.cancel()
