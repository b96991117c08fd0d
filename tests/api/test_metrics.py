"""/metrics exposes the series of docs/api.md, and they move when a pipeline runs."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from langproc.runtime import Runtime
from tests.support.engine import wait_for_status

SERIES = {
    "langproc_step_duration_seconds",
    "langproc_step_attempts",
    "langproc_step_retries",
    "langproc_steps",
    "langproc_oldest_runnable_step_age_seconds",
    "langproc_llm_calls",
    "langproc_llm_tokens",
    "langproc_tts_characters",
    "langproc_open_event_streams",
    "langproc_http_requests",
    "langproc_http_request_duration_seconds",
}


async def _scrape(
    client: httpx.AsyncClient,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    assert SERIES <= {f.name for f in families}
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


async def test_metrics_move_when_a_pipeline_runs(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await runtime.executor.stop(0)
    before = await _scrape(client)
    sid = (await client.post("/api/sourcefiles", json={"text": "Γεια.", "language": "el"})).json()[
        "id"
    ]
    queued = await _scrape(client)
    assert queued[("langproc_steps", (("status", "pending"),))] == 4
    assert queued[("langproc_oldest_runnable_step_age_seconds", ())] >= 0

    runtime.executor = type(runtime.executor)(
        runtime.engine, capacity=8, poll_interval_s=0.5, heartbeat_s=0.2
    )
    runtime.executor.start()
    runtime.executor_started = True
    await wait_for_status(runtime, [uuid.UUID(sid)], {"succeeded"})
    after = await _scrape(client)

    def moved(name: str, labels: dict[str, str]) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("langproc_step_attempts_total", {"step": "a"}) == 1
    assert moved("langproc_step_duration_seconds_count", {"step": "d", "outcome": "succeeded"}) == 1
    assert after[("langproc_steps", (("status", "pending"),))] == 0
    created = {"method": "POST", "route": "/api/sourcefiles", "status": "202"}
    assert moved("langproc_http_requests_total", created) == 1
