"""The executor: wakes on signals (no busy polling), claims up to its capacity, keeps leases
alive, recovers abandoned work, and hands unfinished steps back on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from langproc.db.base import utcnow
from langproc.pipeline.engine import Claim, Engine

log = logging.getLogger(__name__)


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
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._running: dict[asyncio.Task[None], Claim] = {}
        self._finishing: set[int] = set()
        self._loops: list[asyncio.Task[None]] = []
        engine.hub.subscribe(self.wake)

    def wake(self) -> None:
        """Look for runnable steps now (after a commit that may have made some)."""
        self._wake.set()

    @property
    def running(self) -> list[Claim]:
        return list(self._running.values())

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="executor.claim"),
            asyncio.create_task(self._heartbeat_loop(), name="executor.heartbeat"),
        ]

    def interrupt(self, sourcefile_id: uuid.UUID) -> None:
        """Cancel this process's running steps of a sourcefile (it was cancelled or deleted)."""
        for task, claim in list(self._running.items()):
            if claim.sourcefile_id == sourcefile_id:
                task.cancel()

    async def stop(self, grace_s: float) -> None:
        """Stop claiming, let running steps finish within `grace_s`, release the rest."""
        self._stopping.set()
        self._wake.set()
        if self._running:
            await asyncio.wait(list(self._running), timeout=grace_s)
        unfinished = self.running
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        if unfinished:
            await self.engine.release(unfinished)
            log.info("executor.released", extra={"steps": len(unfinished)})

    async def _claim_loop(self) -> None:
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
                    await self.engine.release(claims)
                break
            for claim in claims:
                task = asyncio.create_task(self._execute(claim), name=f"step.{claim.step}")
                self._running[task] = claim
            if free > 0 and len(claims) == free:
                continue
            await self._sleep(look_ahead=len(claims) < free)

    async def _sleep(self, *, look_ahead: bool) -> None:
        """Wait for a wake-up, the poll interval, or (with `look_ahead`, when there is room for
        more) the moment the earliest waiting retry becomes due."""
        timeout = self.poll_interval_s
        if look_ahead:
            with contextlib.suppress(Exception):
                due = await self.engine.next_due()
                if due is not None:
                    timeout = min(timeout, max((due - utcnow()).total_seconds(), 0.0) + 0.01)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _execute(self, claim: Claim) -> None:
        try:
            outcome, usage, elapsed = await self.engine.run(claim)
            # From here the lease may end under us (the checkpoint ends it): the heartbeat
            # must not take that for a lost lease and cancel the checkpoint half way.
            self._finishing.add(claim.step_run_id)
            await self.engine.finish(claim, outcome, usage, elapsed)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease will expire and the step will be claimed again.
            log.exception(
                "step.checkpoint_failed",
                extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
            )
        finally:
            self._finishing.discard(claim.step_run_id)
            self._running.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            self.wake()

    async def _heartbeat_loop(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self.heartbeat_s)
            held = {
                c.step_run_id: c.attempt
                for c in self._running.values()
                if c.step_run_id not in self._finishing
            }
            try:
                lost = await self.engine.heartbeat(held)
            except Exception:
                log.exception("executor.heartbeat_failed")
                continue
            for task, claim in list(self._running.items()):
                if claim.step_run_id in lost and claim.step_run_id not in self._finishing:
                    log.info(
                        "step.lease_lost",
                        extra={"sourcefile_id": str(claim.sourcefile_id), "step": claim.step},
                    )
                    task.cancel()
