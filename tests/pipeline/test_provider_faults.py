"""Provider failures are routine: transient ones retry (honouring Retry-After), permanent ones
fail the step with a message that says what to do, and a retry after the fix completes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest

from langproc.db.models import Event
from tests.fakes.openai_server import FakeOpenAI, Fault
from tests.paths import SAMPLES
from tests.support.engine import events_of
from tests.support.service import openai_settings, serving

STORY = (SAMPLES / "el-story.txt").read_text()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _previous(events: list[Event], event: Event, status: str) -> Event:
    """The last event of the same step with `status` before `event`."""
    return [
        e
        for e in events
        if e.id < event.id
        and e.sourcefile_id == event.sourcefile_id
        and e.payload.get("step") == event.payload["step"]
        and e.payload["status"] == status
    ][-1]


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_thirty_percent_transient_failures_all_succeed(
    db_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    fake_llm.set_transient_failures(0.3, retry_after_s=0.5)
    fake_llm.slow_response_s = 3.0
    settings = openai_settings(db_url, tmp_path, fake_llm, max_attempts=12, provider_timeout_s=1.0)
    async with serving(settings) as service:
        ids = [await service.submit_text(f"Κεφάλαιο {i}.\n\n{STORY}", "el") for i in range(10)]
        bodies = [await service.finished(sid, within_s=120) for sid in ids]
        events: list[Event] = []
        for sid in ids:
            events += await events_of(service.runtime, uuid.UUID(sid))

    assert [b["status"] for b in bodies] == ["succeeded"] * 10, [b["steps"] for b in bodies]
    injected = fake_llm.stats.faults_injected
    assert set(injected) == {"rate_limit", "server_error", "timeout"}, fake_llm.stats
    retries = [e for e in events if e.payload.get("status") == "retrying"]
    rate_limited = [e for e in retries if "429" in e.payload["error"]["message"]]
    assert rate_limited
    for event in rate_limited:
        attempt = _previous(events, event, "running")
        waited = _at(event.payload["next_attempt_at"]) - _at(attempt.payload["at"])
        assert waited.total_seconds() >= 0.5, "Retry-After was honoured"
    for event in retries:
        again = next(
            e
            for e in events
            if e.id > event.id
            and e.payload.get("step") == event.payload["step"]
            and e.sourcefile_id == event.sourcefile_id
            and e.payload["status"] == "running"
        )
        assert _at(again.payload["at"]) >= _at(event.payload["next_attempt_at"])


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (Fault.REFUSAL, "refused"),
        (Fault.UNAUTHORIZED, "OPENAI_API_KEY"),
        (Fault.BAD_REQUEST, "rejected"),
    ],
)
async def test_a_permanent_failure_stops_one_branch_and_retry_completes_it(
    fault: Fault, words: str, sqlite_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    fake_llm.force(fault, times=None, task="extract_phrases")
    async with serving(openai_settings(sqlite_url, tmp_path, fake_llm)) as service:
        sid = await service.submit_text(STORY, "el")
        failed = await service.finished(sid)
        fake_llm.clear_faults()
        retried = await service.http.post(f"/api/sourcefiles/{sid}/retry")
        done = await service.finished(sid)

    steps = {s["name"]: s for s in failed["steps"]}
    assert failed["status"] == "failed"
    phrases = steps.pop("extract_phrases")
    assert phrases["status"] == "failed"
    assert phrases["attempts"] == 1
    assert phrases["error"]["retryable"] is False
    assert words in phrases["error"]["message"]
    assert {s["status"] for s in steps.values()} <= {"succeeded", "skipped"}, "other branches"
    assert failed["translation"]
    assert failed["sentences"]

    assert retried.status_code == 202
    assert done["status"] == "succeeded"
    assert done["phrases"]


@pytest.mark.parametrize("fault", [Fault.MALFORMED_JSON, Fault.SCHEMA_VIOLATION])
async def test_unusable_output_is_retried(
    fault: Fault, sqlite_url: str, tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    fake_llm.force(fault, times=2, task="translate")
    async with serving(openai_settings(sqlite_url, tmp_path, fake_llm)) as service:
        sid = await service.submit_text(STORY, "el")
        body = await service.finished(sid)
        events = await events_of(service.runtime, uuid.UUID(sid))

    translate = next(s for s in body["steps"] if s["name"] == "translate")
    assert body["status"] == "succeeded"
    assert translate["attempts"] == 3
    retries = [e for e in events if e.payload.get("status") == "retrying"]
    assert len(retries) == 2
    assert all("not valid" in e.payload["error"]["message"] for e in retries)
