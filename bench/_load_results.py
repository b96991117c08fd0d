"""What one `engine_load` run measured, and how it is printed."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench._harness import LogSummary, percentile, say, table
from langproc.db.models import TERMINAL_SOURCEFILE_STATUSES as TERMINAL

# Issue 2's seed baselines, measured on this kind of machine before langproc existed.
SEED_FLASK_PIPELINES, SEED_FLASK_WALL_S, SEED_FLASK_GET_P99_S = 100, 10.0, 1.0
SEED_TUTORIAL_DEADLOCK_AT = 16
DEFAULT_PROVIDER_LIMIT = 8  # Settings.max_concurrent_provider_calls
FOREIGN_CPU_WARNING = 0.15  # of one core


@dataclass
class Request:
    kind: str  # post | detail | list
    latency_s: float
    status: int  # 0: no answer (connection error or timeout)
    error: str = ""  # the exception's class and message when there was no answer
    at: float = 0.0  # wall-clock time the request was sent


@dataclass
class RunResult:
    pipelines: int
    database: str
    workers: int
    requests: list[Request] = field(default_factory=list)
    accepted: int = 0
    wall_s: float = float("nan")
    finished: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    step_statuses: dict[str, int] = field(default_factory=dict)
    step_failures: list[tuple[Any, ...]] = field(default_factory=list)
    attempts: int = 0
    steps: int = 0
    retried_steps: int = 0
    pipeline_latency_s: list[float] = field(default_factory=list)
    provider: dict[str, Any] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    machine_busy: float = float("nan")
    machine_busy_s: float = float("nan")
    gets_skipped: int = 0
    pg_sessions: int | None = None
    read_cost: dict[str, tuple[float, float]] = field(default_factory=dict)
    logs: LogSummary | None = None
    limit_per_process: int = DEFAULT_PROVIDER_LIMIT
    latency_ms: float = 100.0
    event_lags_s: list[float] = field(default_factory=list)
    event_errors: list[str] = field(default_factory=list)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return int(self.provider.get("total_calls", 0))

    @property
    def provider_limit(self) -> int:
        """Concurrent provider calls allowed across all executor processes."""
        return self.limit_per_process * (1 + self.workers)

    @property
    def bound_s(self) -> float:
        """No executor can be faster: every call takes the latency, `provider_limit` at a time."""
        return self.calls * self.latency_ms / 1000 / self.provider_limit

    @property
    def rate(self) -> float:
        return self.statuses.get("succeeded", 0) / self.wall_s

    @property
    def foreign_cpu_s(self) -> float:
        """CPU the machine spent on processes that are not part of this run."""
        return max(0.0, self.machine_busy_s - sum(self.cpu_s.values()))

    @property
    def langproc_cpu_s(self) -> float:
        """CPU of the service under test: langproc's processes, or the baseline's gunicorn."""
        return sum(v for k, v in self.cpu_s.items() if k.startswith(("langproc", "gunicorn")))

    @property
    def cpu_ms_per_pipeline(self) -> float:
        return self.langproc_cpu_s / self.pipelines * 1000

    def latencies(self, kind: str) -> list[float]:
        return [r.latency_s for r in self.requests if r.kind == kind]

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.finished:
            found.append("the run did not finish within --timeout")
        bad = {s: n for s, n in self.statuses.items() if s != "succeeded" and n}
        if bad or self.statuses.get("succeeded", 0) != self.pipelines:
            found.append(f"sourcefiles not succeeded: {self.statuses}")
        server_errors = [r for r in self.requests if r.status >= 500]
        if server_errors:
            found.append(f"{len(server_errors)} answers with a 5xx status")
        unanswered = [r for r in self.requests if r.status == 0]
        if unanswered:
            kinds = Counter(f"{r.kind} {r.error[:120]}" for r in unanswered)
            at = ", ".join(
                datetime.fromtimestamp(r.at, UTC).strftime("%H:%M:%S") for r in unanswered[:5]
            )
            found.append(f"{len(unanswered)} requests got no answer: {dict(kinds)} (sent {at} UTC)")
        other = [r for r in self.requests if 300 <= r.status < 500]
        if other:
            found.append(f"{len(other)} answers with a 3xx/4xx status")
        if self.step_failures:
            found.append(f"failed steps: {self.step_failures[:5]}")
        if self.event_errors:
            found.append(f"the event stream broke: {self.event_errors[:3]}")
        if self.logs and self.logs.lines_by_level.get("error", 0):
            found.append(f"{self.logs.lines_by_level['error']} error log lines")
        return found


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def latency_row(result: RunResult, kind: str, label: str) -> list[str]:
    values = result.latencies(kind)
    bad = sum(not 200 <= r.status < 300 for r in result.requests if r.kind == kind)
    if not values:
        return [label, "no requests"]
    return [
        label,
        f"p50 {ms(percentile(values, 50))}, p99 {ms(percentile(values, 99))}, "
        f"max {ms(max(values))} (n={len(values)}, non-2xx {bad})",
    ]


def report(result: RunResult) -> None:
    limit, calls, bound_s, rate = result.provider_limit, result.calls, result.bound_s, result.rate
    by_task = Counter(result.provider.get("calls_by_task", {}))
    say(
        "",
        f"== engine_load: {result.pipelines} pipelines on {result.database}, 1 serve + "
        f"{result.workers} worker(s), provider {result.latency_ms:g} ms, "
        f"{result.limit_per_process} provider calls per process ==",
    )
    rows = [
        ["wall time, first POST -> all done", f"{result.wall_s:.2f} s"],
        ["pipelines/s", f"{rate:.1f}"],
        [
            "sourcefiles by status",
            ", ".join(f"{k} {v}" for k, v in sorted(result.statuses.items())),
        ],
        ["uploads accepted (202)", f"{result.accepted} of {result.pipelines}"],
        ["provider calls total", str(calls)],
        ["provider calls per pipeline", f"{calls / max(result.pipelines, 1):.2f}"],
        ["provider calls by task", ", ".join(f"{k} {v}" for k, v in sorted(by_task.items()))],
        ["max provider calls in flight", f"{result.provider.get('max_in_flight')} (limit {limit})"],
        [
            "mean provider calls in flight",
            f"{calls * result.latency_ms / 1000 / result.wall_s:.2f} (calls x latency / wall time)",
        ],
        [f"lower bound: calls x {result.latency_ms:g} ms / {limit}", f"{bound_s:.2f} s"],
        ["measured / lower bound", f"{result.wall_s / bound_s:.2f}" if bound_s else "n/a"],
        latency_row(result, "post", "POST /api/sourcefiles"),
        latency_row(result, "detail", "GET /api/sourcefiles/{id}"),
        latency_row(result, "list", "GET /api/sourcefiles"),
        [
            "event lag, commit -> SSE client",
            f"p50 {ms(percentile(result.event_lags_s, 50))}, "
            f"p99 {ms(percentile(result.event_lags_s, 99))} (n={len(result.event_lags_s)})",
        ],
        [
            "peak RSS",
            ", ".join(f"{k} {v:.0f} MiB" for k, v in result.peak_rss_mb.items()) or "n/a",
        ],
        [
            "pipeline latency, created -> done",
            f"p50 {percentile(result.pipeline_latency_s, 50):.2f} s, "
            f"p99 {percentile(result.pipeline_latency_s, 99):.2f} s",
        ],
        [
            "step attempts / steps",
            f"{result.attempts} / {result.steps} ({result.retried_steps} steps retried)",
        ],
        ["steps by status", ", ".join(f"{k} {v}" for k, v in sorted(result.step_statuses.items()))],
        *(
            [
                f"after the run, one {kind} GET alone",
                f"{cpu_ms:.1f} ms of serve CPU, {p50_ms:.1f} ms p50 latency",
            ]
            for kind, (cpu_ms, p50_ms) in result.read_cost.items()
        ),
        [
            "Postgres connections opened in the run",
            "n/a" if result.pg_sessions is None else str(result.pg_sessions),
        ],
        ["reader ticks skipped (50 GETs open)", str(result.gets_skipped)],
        *(
            [f"CPU {name}", f"{seconds:.1f} s ({seconds / result.wall_s:.0%} of one core)"]
            for name, seconds in result.cpu_s.items()
        ),
        [
            f"machine CPU busy ({os.cpu_count()} cores = 100%)",
            f"{result.machine_busy:.0%} ({result.machine_busy_s:.1f} CPU s)",
        ],
        [
            "CPU of other processes (not ours)",
            f"{result.foreign_cpu_s:.1f} s ({result.foreign_cpu_s / result.wall_s:.0%} of a core)",
        ],
        [
            "langproc CPU per pipeline",
            f"{result.langproc_cpu_s / result.pipelines * 1000:.0f} ms "
            f"(serve and workers, including the reads)",
        ],
    ]
    if result.logs:
        levels = ", ".join(f"{k} {v}" for k, v in sorted(result.logs.lines_by_level.items()))
        rows.append(["log lines (warning and worse)", levels or "none"])
    say(*table(rows, right=False))
    if result.logs and result.logs.samples:
        say("  first log lines:", *(f"    {line}" for line in result.logs.samples))
    seed_rate = SEED_FLASK_PIPELINES / SEED_FLASK_WALL_S
    detail, listing = result.latencies("detail"), result.latencies("list")
    say(
        "  vs the seed (issue 2):",
        f"    Flask fire-and-forget: {SEED_FLASK_PIPELINES} pipelines in ~{SEED_FLASK_WALL_S:g} s "
        f"({seed_rate:g}/s), GET p99 ~{SEED_FLASK_GET_P99_S:g} s",
        f"      throughput here / seed: {rate / seed_rate:.2f}x; "
        f"wall time here / seed scaled to {result.pipelines}: "
        f"{result.wall_s / (SEED_FLASK_WALL_S * result.pipelines / SEED_FLASK_PIPELINES):.2f}",
        f"      GET p99 here / seed: detail {percentile(detail, 99) / SEED_FLASK_GET_P99_S:.2f}, "
        f"list {percentile(listing, 99) / SEED_FLASK_GET_P99_S:.2f} (below 1: faster)",
        f"    FastAPI BackgroundTasks tutorial: deadlocked at {SEED_TUTORIAL_DEADLOCK_AT} "
        "concurrent uploads, a third stuck `queued`",
        f"      here: {result.pipelines} concurrent uploads, {result.accepted} accepted, "
        f"{result.statuses.get('succeeded', 0)} succeeded, "
        f"{sum(v for k, v in result.statuses.items() if k not in TERMINAL)} left unfinished",
    )
    if result.foreign_cpu_s / result.wall_s > FOREIGN_CPU_WARNING:
        say(
            "  NOTE: other processes used "
            f"{result.foreign_cpu_s / result.wall_s:.0%} of a core during this run: "
            "the machine was shared, so times are longer than on a quiet machine"
        )
    for problem in result.problems:
        say(f"  PROBLEM: {problem}")


SUMMARY_HEADER = [
    "pipelines", "db", "workers", "wall s", "per s", "calls/pipeline", "max in flight",
    "wall/bound", "POST p99 ms", "detail p99 ms", "list p99 ms", "",
]  # fmt: skip


def summary_row(r: RunResult) -> list[object]:
    return [
        r.pipelines,
        r.database,
        r.workers,
        f"{r.wall_s:.1f}",
        f"{r.rate:.1f}",
        f"{r.calls / r.pipelines:.1f}",
        r.provider.get("max_in_flight"),
        f"{r.wall_s / r.bound_s:.2f}" if r.bound_s else "n/a",
        *(f"{percentile(r.latencies(kind), 99) * 1000:.0f}" for kind in ("post", "detail", "list")),
        "PROBLEMS" if r.problems else "ok",
    ]
