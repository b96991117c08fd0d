"""The Flask fire-and-forget baseline under the same load as `engine_load`: `bench.flask_app`
under gunicorn (2 workers x 8 threads), the same texts, the same fake provider process, the same
submits at a time and the same reader, on a fresh Postgres database.

    .venv/bin/python -m bench.baseline --pipelines 200

Prints figures; exits 1 when a pipeline did not succeed or a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from tests.processes import free_port

from bench._harness import (
    REPO,
    Database,
    FakeProviderProcess,
    fresh_database,
    machine_cpu,
    own_cpu_s,
    peak_rss_mb,
    postgres_cpu_s,
    process_cpu_s,
    say,
)
from bench._load_results import RunResult, report
from bench.engine_load import Reader, parse, stories, submit_and_wait, terminal_count
from bench.flask_app import SCHEMA

WORKERS, THREADS = 2, 8


class Gunicorn:
    """`gunicorn bench.flask_app:app` with 2 workers x 8 threads on a free port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
                "--threads", str(THREADS), "--bind", f"127.0.0.1:{self.port}",
                "--log-level", "warning", "bench.flask_app:app",
            ],
            cwd=REPO, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    if len(self.workers()) == WORKERS:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start; see {log}")

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def run_baseline(args: argparse.Namespace, pipelines: int, workdir: Path) -> RunResult:
    """One run of the baseline; the result reads like an `engine_load` result."""
    result = RunResult(pipelines, "postgres", 0, latency_ms=args.latency_ms)
    fake = FakeProviderProcess(args.latency_ms, workdir / "fake-provider.log")
    try:
        with fresh_database("postgres", args.postgres_url, workdir) as database:
            database.execute(SCHEMA)
            run_app(args, pipelines, workdir, database, fake, result)
            result.provider = fake.stats()
            collect_baseline(result, database)
    finally:
        fake.stop()
    return result


def run_app(
    args: argparse.Namespace,
    pipelines: int,
    workdir: Path,
    database: Database,
    fake: FakeProviderProcess,
    result: RunResult,
) -> None:
    url = make_url(database.url).set(drivername="postgresql+psycopg")
    (workdir / "audio").mkdir(parents=True, exist_ok=True)
    env = {
        "BASELINE_DATABASE_URL": url.render_as_string(hide_password=False),
        "BASELINE_DATA_DIR": str(workdir / "audio"),
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "bench-key",
    }
    app = Gunicorn(env, workdir / "gunicorn.log")
    try:
        pids = {"fake provider": fake.process.pid, "gunicorn master": app.process.pid}
        pids |= {f"gunicorn worker {i}": pid for i, pid in enumerate(app.workers())}
        cpu_before = {name: process_cpu_s(pid) for name, pid in pids.items()}
        postgres_before, client_before = postgres_cpu_s(), own_cpu_s()
        busy_before, total_before = machine_cpu()
        reader = Reader(app.url, args.get_rate, [])
        reader.start()
        try:
            posts, result.wall_s, result.finished = asyncio.run(
                submit_and_wait(
                    app.url, stories(pipelines, args.sample), database, reader, args.timeout,
                    args.submit_concurrency, table="baseline_job",
                )
            )  # fmt: skip
        finally:
            reader.stop()
        busy_after, total_after = machine_cpu()
        result.cpu_s = {name: process_cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
        result.cpu_s["postgres (all backends)"] = sum(
            cpu - postgres_before.get(pid, 0.0) for pid, cpu in postgres_cpu_s().items()
        )
        result.cpu_s["benchmark client"] = own_cpu_s() - client_before
        result.machine_busy = (busy_after - busy_before) / (total_after - total_before)
        result.machine_busy_s = busy_after - busy_before
        result.peak_rss_mb = {
            name: peak_rss_mb(pid) for name, pid in pids.items() if name.startswith("gunicorn")
        }
        result.requests = posts + reader.samples
        result.gets_skipped = reader.skipped
        result.accepted = sum(p.status == 202 for p in posts)
    finally:
        app.stop()


def collect_baseline(result: RunResult, database: Database) -> None:
    result.statuses = terminal_count(database, "baseline_job")
    result.step_failures = database.query(
        "SELECT error, count(*) FROM baseline_job WHERE status = 'failed' GROUP BY error"
    )
    result.pipeline_latency_s = [
        (done - created).total_seconds()
        for created, done in database.query(
            "SELECT created_at, updated_at FROM baseline_job WHERE status = 'succeeded'"
        )
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="langproc-baseline-"))
    result = run_baseline(args, int(args.pipelines), workdir)
    say("", f"== Flask fire-and-forget baseline ({WORKERS} workers x {THREADS} threads) ==")
    report(result)
    if result.problems or args.keep:
        say(f"  logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
