"""Fixtures for tests that run real `langproc` processes against PostgreSQL and the fake LLM."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.fakes.openai_server import FakeOpenAI
from tests.paths import SAMPLES
from tests.processes import LangprocProcess


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(latency_ms=300, samples_dir=SAMPLES)
    fake.start()
    yield fake
    fake.stop()


class Cluster:
    """Starts langproc processes on one database and one fake provider; cleans them up."""

    def __init__(self, db_url: str, data_dir: Path, llm: FakeOpenAI) -> None:
        self.db_url = db_url
        self.data_dir = data_dir
        self.llm = llm
        self.processes: list[LangprocProcess] = []

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "LANGPROC_DATABASE_URL": self.db_url,
            "LANGPROC_DATA_DIR": str(self.data_dir),
            "LANGPROC_PROVIDER": "openai",
            "OPENAI_BASE_URL": self.llm.base_url,
            "OPENAI_API_KEY": "test-key",
            "LANGPROC_LEASE_S": "3",
            "LANGPROC_HEARTBEAT_S": "0.5",
            "LANGPROC_SHUTDOWN_GRACE_S": "1",
            "LANGPROC_POLL_INTERVAL_S": "1",
            "LANGPROC_RETRY_BASE_DELAY_S": "0.2",
            "LANGPROC_RETRY_MAX_DELAY_S": "2",
            "LANGPROC_MAX_ATTEMPTS": "10",
            "LANGPROC_LOG_LEVEL": "WARNING",
            **extra,
        }

    def start(self, command: str = "serve", **extra: str) -> LangprocProcess:
        log = self.data_dir / f"{command}-{len(self.processes)}.log"
        process = LangprocProcess(command, self.env(**extra), log)
        self.processes.append(process)
        if command == "serve":
            process.wait_healthy()
        return process

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        url = make_url(self.db_url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def wait_all_done(self, count: int, within_s: float = 120.0) -> dict[str, int]:
        deadline = time.monotonic() + within_s
        while True:
            rows = dict(self.query("SELECT status, count(*) FROM sourcefile GROUP BY status"))
            if rows.get("succeeded", 0) + rows.get("failed", 0) >= count:
                failures = self.query(
                    "SELECT step, error_type, error_message FROM step_run WHERE status = 'failed'"
                )
                assert not failures, failures
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"not done within {within_s} s: {rows}")
            time.sleep(0.2)


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path, fake_llm: FakeOpenAI) -> Iterator[Cluster]:
    group = Cluster(pg_url, tmp_path, fake_llm)
    yield group
    for process in group.processes:
        process.stop()


def submit_stories(server: LangprocProcess, count: int) -> list[str]:
    """`count` distinct Greek texts, submitted over HTTP."""
    story = (SAMPLES / "el-story.txt").read_text()
    ids = []
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for i in range(count):
            body = {"text": f"Κεφάλαιο {i + 1}.\n\n{story}", "language": "el", "title": f"{i}"}
            response = http.post("/api/sourcefiles", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    return ids
