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


# Restarts wait this long after a death, doubling while the child keeps dying, up to the most;
# a child that ran this long before it died was healthy, and the wait starts over.
FIRST_RESTART_S = 1.0
MOST_RESTART_S = 30.0
HEALTHY_AFTER_S = 60.0


class ExecutorProcess:
    def __init__(self, *, grace_s: float) -> None:
        self._grace_s = grace_s
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

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
        delay = FIRST_RESTART_S
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
            if loop.time() - started >= HEALTHY_AFTER_S:
                delay = FIRST_RESTART_S
            log.error(
                "the executor process %d exited with code %d; starting it again in %g s",
                self._process.pid,
                code,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MOST_RESTART_S)
