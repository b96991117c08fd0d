"""`make bench`: the speed goals in one run, beside the Flask fire-and-forget baseline.

Four runs of 200 text pipelines against the fake provider process, each on a fresh Postgres
database, uploads sent 16 at a time:

1. the baseline (`bench.flask_app` under gunicorn, 2 workers x 8 threads), provider 100 ms,
   20 reads/s;
2. `langproc serve`, provider 100 ms, 20 reads/s, one `GET /api/events` stream open;
3. `langproc serve`, provider 100 ms, no reads and no stream (the executor and uploads alone);
4. `langproc serve`, provider 2000 ms (a real model's pace), 20 reads/s and the stream.

langproc runs with `LANGPROC_MAX_CONCURRENT_PROVIDER_CALLS` and `LANGPROC_MAX_CONCURRENT_STEPS`
at `--provider-limit` (48): the baseline bounds nothing and had up to ~80 calls in flight, so the
default limit of 8 would measure the limit, not langproc. Then it prints each goal's figure beside
its target and the baseline's figure. Figures only: exits 1 when something broke, never on time.

    .venv/bin/python -m bench.goals
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import engine_load
from bench._harness import DEFAULT_POSTGRES, percentile, say, source_version, table
from bench._load_results import RunResult, report
from bench.baseline import THREADS, WORKERS, run_baseline


@dataclass
class Run:
    name: str
    result: RunResult
    load_before: float
    load_after: float

    @property
    def other_cpu(self) -> float:
        """Cores' worth of CPU other processes took during the run."""
        return self.result.foreign_cpu_s / self.result.wall_s


def measured(
    name: str, run: Callable[[argparse.Namespace, int, Path], RunResult], argv: list[str]
) -> Run:
    args = engine_load.parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="langproc-goals-"))
    load_before = os.getloadavg()[0]
    say("", f"### {name} (load average {load_before:.2f})")
    result = run(args, int(args.pipelines), workdir)
    outcome = Run(name, result, load_before, os.getloadavg()[0])
    report(result)
    if result.problems:
        say(f"  logs and data kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome


def p99_ms(result: RunResult, kind: str) -> float:
    return percentile(result.latencies(kind), 99) * 1000


def fmt(value: float, unit: str) -> str:
    return (
        "n/a"
        if math.isnan(value)
        else f"{value:.0f} {unit}"
        if value >= 10
        else f"{value:.2f} {unit}"
    )


def goal_rows(base: Run, loaded: Run, quiet: Run, slow: Run) -> list[list[str]]:
    """One row per goal: measured, target, baseline, langproc / baseline, met."""
    b, r, q, s = base.result, loaded.result, quiet.result, slow.result
    rows: list[tuple[str, float, float, str, float]] = [
        # (goal, langproc figure, target, unit, baseline figure)
        ("makespan, 200 pipelines (x baseline)", r.wall_s / b.wall_s, 0.5, "x", 1.0),
        ("CPU per pipeline, no reads", q.cpu_ms_per_pipeline, 60, "ms", math.nan),
        ("CPU per pipeline, 20 reads/s", r.cpu_ms_per_pipeline, 100, "ms", b.cpu_ms_per_pipeline),
        ("submit p99", p99_ms(r, "post"), 100, "ms", p99_ms(b, "post")),
        ("GET /api/sourcefiles/{id} p99", p99_ms(r, "detail"), 50, "ms", p99_ms(b, "detail")),
        ("GET /api/sourcefiles p99", p99_ms(r, "list"), 100, "ms", p99_ms(b, "list")),
        ("event lag p99", percentile(r.event_lags_s, 99) * 1000, 100, "ms", math.nan),
        (
            "peak RSS per process",
            max([*r.peak_rss_mb.values(), *q.peak_rss_mb.values(), *s.peak_rss_mb.values()]),
            250,
            "MiB",
            max(b.peak_rss_mb.values(), default=math.nan),
        ),
        ("2000 ms provider: wall / bound", s.wall_s / s.bound_s, 1.2, "x", math.nan),
    ]
    out = []
    for goal, value, target, unit, baseline in rows:
        ratio = value / baseline if baseline and not math.isnan(baseline) else math.nan
        out.append(
            [
                goal,
                fmt(value, unit),
                f"<= {target:g} {unit}",
                fmt(baseline, unit),
                "n/a" if math.isnan(ratio) or unit == "x" else f"{ratio:.2f}",
                "met" if value <= target else "NOT MET",
            ]
        )
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--pipelines", type=int, default=200)
    parser.add_argument("--provider-limit", type=int, default=48)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="an admin database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    say(
        f"bench.goals {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
        f"{len(os.sched_getaffinity(0))} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}, langproc at {source_version()}"
    )
    common = [f"--pipelines={args.pipelines}", f"--postgres-url={args.postgres_url}"]
    limits = [f"--provider-limit={args.provider_limit}", f"--max-steps={args.provider_limit}"]
    base = measured(
        f"Flask fire-and-forget baseline ({WORKERS} workers x {THREADS} threads)",
        run_baseline,
        [*common, "--no-events"],
    )
    loaded = measured("langproc serve, 20 reads/s", engine_load.run_once, [*common, *limits])
    quiet = measured(
        "langproc serve, no reads",
        engine_load.run_once,
        [*common, *limits, "--get-rate=0", "--no-events"],
    )
    slow = measured(
        "langproc serve, provider 2000 ms",
        engine_load.run_once,
        [*common, *limits, "--latency-ms=2000", "--timeout=400"],
    )
    runs = [base, loaded, quiet, slow]
    say(
        "",
        "== goals (issue 8): langproc against its targets and the baseline of the same run ==",
        *table(
            goal_rows(base, loaded, quiet, slow),
            ["goal", "langproc", "target", "baseline", "langproc/baseline", ""],
        ),
        "",
        *table(
            [
                [
                    run.name,
                    f"{run.result.wall_s:.1f} s",
                    f"{run.load_before:.2f} -> {run.load_after:.2f}",
                    f"{run.other_cpu:.0%} of a core",
                    "ok" if not run.result.problems else "PROBLEMS",
                ]
                for run in runs
            ],
            ["run", "wall", "load average", "other processes' CPU", ""],
        ),
    )
    if any(run.other_cpu > 0.15 for run in runs):
        say("NOTE: other processes used the machine during some runs; rerun on a quieter one.")
    return 1 if any(run.result.problems for run in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
