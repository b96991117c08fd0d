"""`langproc serve`'s executor in a child process: started with the API, started again when it
dies, stopped with the API.

The child is a plain `langproc worker` (the same settings, from the same environment) whose
standard input is a pipe from the API's process: when that process dies without stopping it
(kill -9), the pipe closes and the child stops too. Nothing it holds is lost either way: its
unfinished steps go back by hand-back or by lease expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from asyncio.subprocess import PIPE

from langproc import metrics

log = logging.getLogger(__name__)


class ExecutorProcess:
    def __init__(
        self,
        *,
        grace_s: float,
        first_restart_s: float = 1.0,
        max_restart_s: float = 30.0,
        healthy_after_s: float = 60.0,
    ) -> None:
        self._grace_s = grace_s
        self._first_restart_s = first_restart_s
        self._max_restart_s = max_restart_s
        self._healthy_after_s = healthy_after_s
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The running child's pid (None between a death and its restart)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="executor-process")

    async def stop(self) -> None:
        """Stop restarting, then SIGTERM the child and give it the shutdown grace (plus 5 s to
        exit) to hand its steps back before it is killed."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self._grace_s + 5)
        except TimeoutError:
            log.warning("the executor process did not stop in time; killing it")
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self._first_restart_s
        while True:
            started = loop.time()
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "langproc",
                "worker",
                "--with-parent",
                stdin=PIPE,
                # Out of the terminal's process group: Ctrl-C stops serve, and serve its child.
                start_new_session=True,
            )
            log.info("executor process %d started", self._process.pid)
            code = await self._process.wait()
            metrics.EXECUTOR_PROCESS_EXITS.inc()
            if loop.time() - started >= self._healthy_after_s:
                delay = self._first_restart_s
            log.error(
                "the executor process %d exited with code %d; starting it again in %g s",
                self._process.pid,
                code,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_restart_s)
