"""Real `langproc` processes on one PostgreSQL database and one fake LLM, for crash, shutdown
and multi-process tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.fakes.openai_server import FakeOpenAI
from tests.paths import SAMPLES
from tests.processes import LangprocProcess
from tests.support.waiting import wait_until

# The steps of the language pipeline for a text (one of them, transcribe, is skipped).
STEPS = 8


class Cluster:
    """Starts langproc processes on one database and one fake provider; `stop` ends them."""

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

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        url = make_url(self.db_url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def wait_for_steps(self, running: int, succeeded: int = 0, within_s: float = 30.0) -> None:
        """Until at least `running` steps are running and `succeeded` have succeeded."""
        found: dict[str, int] = {}

        def under_way() -> bool:
            found.clear()
            found.update(self.query("SELECT status, count(*) FROM step_run GROUP BY status"))
            return found.get("running", 0) >= running and found.get("succeeded", 0) >= succeeded

        wait_until(under_way, within_s, failure=lambda: f"found {found}")

    def wait_all_done(self, count: int, within_s: float = 120.0) -> dict[str, int]:
        rows: dict[str, int] = {}

        def all_done() -> bool:
            rows.clear()
            rows.update(self.query("SELECT status, count(*) FROM sourcefile GROUP BY status"))
            return rows.get("succeeded", 0) + rows.get("failed", 0) >= count

        wait_until(all_done, within_s, every_s=0.2, failure=lambda: f"found {rows}")
        failures = self.query(
            "SELECT step, error_type, error_message FROM step_run WHERE status = 'failed'"
        )
        assert not failures, failures
        return rows


def assert_each_step_finished_once(cluster: Cluster, ids: list[str]) -> None:
    """Every step of the language pipeline of each sourcefile in `ids` finished, once."""
    rows = cluster.query("SELECT status, count(*) FROM step_run GROUP BY status")
    assert dict(rows) == {"succeeded": len(ids) * (STEPS - 1), "skipped": len(ids)}
    finished = cluster.query(
        "SELECT sourcefile_id, payload->>'step', count(*) FROM event "
        "WHERE type = 'step' AND payload->>'status' IN ('succeeded', 'skipped') "
        "GROUP BY 1, 2"
    )
    assert len(finished) == len(ids) * STEPS
    assert {count for *_, count in finished} == {1}
    missing = cluster.query(
        "SELECT count(*) FROM step_run WHERE status = 'succeeded' AND output IS NULL"
    )
    assert missing == [(0,)]


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
