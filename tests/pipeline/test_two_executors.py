"""Two executors on one PostgreSQL never run the same step attempt at the same time."""

from __future__ import annotations

from pathlib import Path

import pytest

from langproc.runtime import build_runtime
from tests.pipeline.conftest import NO_PROVIDERS, Recorder, diamond, make_settings, submit
from tests.pipeline.conftest import wait_for_status as wait


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_fifty_sourcefiles_on_two_executors(pg_url: str, tmp_path: Path) -> None:
    recorder = Recorder(delay_s=0.05)
    graph = diamond(recorder)
    settings = make_settings(pg_url, tmp_path, max_concurrent_steps=8)
    first = build_runtime(settings, graph=graph, providers=NO_PROVIDERS)
    second = build_runtime(settings, graph=graph, providers=NO_PROVIDERS)
    claims_by: dict[str, int] = {}
    for runtime in (first, second):
        claim = runtime.engine.claim

        async def counted(limit: int, claim=claim, runtime=runtime):  # type: ignore[no-untyped-def]
            claims = await claim(limit)
            worker = runtime.engine.worker_id
            claims_by[worker] = claims_by.get(worker, 0) + len(claims)
            return claims

        runtime.engine.claim = counted  # type: ignore[method-assign]
        await runtime.start(executor=True)
    try:
        ids = await submit(first, 50)
        statuses = await wait(first, ids, {"succeeded", "failed"}, within_s=120)
    finally:
        await first.stop()
        await second.stop()

    assert set(statuses.values()) == {"succeeded"}
    assert recorder.max_overlap == 1, "no step attempt ran twice at the same time"
    assert all(len(recorder.spans[(sid, step)]) == 1 for sid in ids for step in "abcd")
    assert sum(claims_by.values()) == 50 * 4
    assert len(claims_by) == 2
    assert min(claims_by.values()) > 0, f"both executors took work: {claims_by}"
