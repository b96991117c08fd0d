"""Two executors on one PostgreSQL never run the same step attempt at the same time."""

from __future__ import annotations

import pytest

from tests.support.engine import MakeRuntime, Recorder, diamond, submit
from tests.support.engine import wait_for_status as wait


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_fifty_sourcefiles_on_two_executors(pg_url: str, make_runtime: MakeRuntime) -> None:
    recorder = Recorder(delay_s=0.05)
    graph = diamond(recorder)
    first = make_runtime(pg_url, graph=graph, max_concurrent_steps=8)
    second = make_runtime(pg_url, graph=graph, max_concurrent_steps=8)
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
    ids = await submit(first, 50)
    statuses = await wait(first, ids, {"succeeded", "failed"}, within_s=120)
    # Both stopped before counting, so no attempt still running is left out.
    await first.stop()
    await second.stop()

    assert set(statuses.values()) == {"succeeded"}
    assert recorder.max_overlap == 1, "no step attempt ran twice at the same time"
    assert all(len(recorder.spans[(sid, step)]) == 1 for sid in ids for step in "abcd")
    assert sum(claims_by.values()) == 50 * 4
    assert len(claims_by) == 2
    assert min(claims_by.values()) > 0, f"both executors took work: {claims_by}"
