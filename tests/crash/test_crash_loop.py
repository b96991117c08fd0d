"""A step that kills its process is re-run by the processes that replace it a bounded number of
times, then fails with a message saying why; real processes, killed for real."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from langproc.runtime import Runtime
from tests.crash.dying_worker import GRAPH
from tests.support.engine import MakeRuntime, steps_of, submit, wait_for_status
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow


def start_worker(db_url: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.crash.dying_worker", db_url, str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def gone_or_failed(
    runtime: Runtime, sid: uuid.UUID, worker: subprocess.Popen[bytes]
) -> Callable[[], Awaitable[bool]]:
    """The worker died, or step `a` failed (and the worker lives on)."""

    async def check() -> bool:
        if worker.poll() is not None:
            return True
        return (await steps_of(runtime, sid))["a"].status == "failed"

    return check


async def test_a_step_that_kills_its_process_fails_after_three_deaths(
    pg_url: str, tmp_path: Path, make_runtime: MakeRuntime
) -> None:
    db_url = pg_url
    runtime = make_runtime(db_url, graph=GRAPH)
    log = tmp_path / "workers.log"
    deaths = 0
    worker = None
    try:
        [sid] = await submit(runtime)
        # Each worker that dies is replaced, as a supervisor (or Fly) restarts a machine.
        for _ in range(6):
            worker = start_worker(db_url, tmp_path, log)
            await eventually(gone_or_failed(runtime, sid, worker), within_s=30)
            if worker.poll() is None:
                break
            assert worker.returncode == -9, log.read_text()
            deaths += 1
        status = await wait_for_status(runtime, [sid], {"failed"}, within_s=5)
        step = (await steps_of(runtime, sid))["a"]
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(10)

    assert deaths == 3
    assert status[sid] == "failed"
    assert (step.status, step.crash_count) == ("failed", 3)
    assert step.error_message == "the process running this step died 3 times"
