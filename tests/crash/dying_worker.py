"""A worker whose step `a` kills its own process (as an out-of-memory kill would), for crash-loop
tests: `python -m tests.crash.dying_worker DATABASE_URL DATA_DIR` runs until killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from langproc.pipeline.graph import Graph, StepSpec
from langproc.steps.context import StepContext
from langproc.steps.models import Text
from tests.support.engine import new_runtime


async def oom(_ctx: StepContext) -> Text:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


async def after(_ctx: StepContext) -> Text:
    return Text(text="after")


GRAPH = Graph([StepSpec("a", oom), StepSpec("b", after, needs=("a",))])


async def main(db_url: str, data_dir: Path) -> None:
    runtime = new_runtime(
        db_url, data_dir, graph=GRAPH, lease_s=1.0, poll_interval_s=0.2, shutdown_grace_s=0.5
    )
    await runtime.start(executor=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
