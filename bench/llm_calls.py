"""Provider calls for one typical page: each sample goes through a real `langproc serve` (SQLite)
against the in-process fake provider; then the identical upload again, which the result cache
should answer with no call at all.

    .venv/bin/python -m bench.llm_calls                  # the Greek story
    .venv/bin/python -m bench.llm_calls --all            # + the other stories and a page photo
    .venv/bin/python -m bench.llm_calls --omit-lemmas    # the model leaves lemmas out of batches

Prints figures. Exits 1 only when a pipeline does not succeed (or does not finish in time).
All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tests.fakes.openai_server import FakeOpenAI, Fault
from tests.paths import SAMPLES
from wordfreq import zipf_frequency

from bench._harness import migrate as migrate_database
from bench._harness import (
    say,
    service_env,
    source_version,
    start_processes,
    stop_gracefully,
    summarize_logs,
    table,
)
from langproc.db.models import TERMINAL_SOURCEFILE_STATUSES as TERMINAL

STEPS = (
    "transcribe", "translate", "extract_words", "extract_phrases", "describe_lemmas",
    "generate_sentences", "speak_text", "speak_sentences",
)  # fmt: skip
SPEECH_PATH = "/v1/audio/speech"
TYPICAL = SAMPLES / "el-story.txt"
OTHERS = (
    SAMPLES / "fr-story.txt",
    SAMPLES / "es-story.txt",
    SAMPLES / "de-story.txt",
    SAMPLES / "el-book-paragraph.png",
)


@dataclass
class Upload:
    """What one upload cost: provider calls by step, and what the service says it used."""

    status: str
    calls_by_step: dict[str, int] = field(default_factory=dict)
    total_calls: int = 0
    llm_calls: int = 0
    tts_calls: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # words, lemmas, sentences, ...
    seconds: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    # Lemmas whose frequency is not wordfreq's, and how many lemmas there were.
    frequency_mismatches: int = 0


@dataclass
class Sample:
    path: Path
    first: Upload
    second: Upload

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def language(self) -> str:
        return self.path.name.split("-", 1)[0]


def submit(client: httpx.Client, path: Path) -> str:
    language = path.name.split("-", 1)[0]
    if path.suffix == ".txt":
        body = {"text": path.read_text(encoding="utf-8"), "language": language}
        response = client.post("/api/sourcefiles", json=body)
    else:
        files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
        response = client.post("/api/sourcefiles", files=files, data={"language": language})
    if response.status_code != 202:
        raise RuntimeError(f"upload of {path.name}: {response.status_code} {response.text}")
    return str(response.json()["id"])


def wait_done(client: httpx.Client, sourcefile_id: str, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        detail: dict[str, Any] = client.get(f"/api/sourcefiles/{sourcefile_id}").json()
        if detail["status"] in TERMINAL or time.monotonic() > deadline:
            return detail
        time.sleep(0.05)


def measure(
    client: httpx.Client, fake: FakeOpenAI, path: Path, within_s: float, omit: bool
) -> Upload:
    fake.reset()
    if omit:
        # Every describe_lemmas answer leaves out every other lemma (all of a batch of one).
        fake.force(Fault.OMIT_ENTRIES, times=None, task="describe_lemmas")
    started = time.monotonic()
    detail = wait_done(client, submit(client, path), within_s)
    seconds = time.monotonic() - started
    stats = fake.stats
    by_step = {task: n for task, n in stats.calls_by_task.items() if task not in ("speech", "chat")}
    # Speech calls are told apart by what they say: a sentence, or a chunk of the whole text.
    sentences = {s["sentence"] for s in detail["sentences"]}
    for request in fake.requests:
        if request["path"] == SPEECH_PATH:
            step = "speak_sentences" if request["body"].get("input") in sentences else "speak_text"
            by_step[step] = by_step.get(step, 0) + 1
    tts = stats.calls_by_endpoint.get(SPEECH_PATH, 0)
    return Upload(
        status=detail["status"],
        calls_by_step=by_step,
        total_calls=stats.total_calls,
        llm_calls=stats.total_calls - tts,
        tts_calls=tts,
        usage=dict(detail["usage"]),
        counts={
            "characters": len(detail.get("text") or ""),
            "words (forms)": len(detail["words"]),
            "lemmas": len(detail["lemmas"]),
            "phrases": len(detail["phrases"]),
            "sentences": len(detail["sentences"]),
        },
        seconds=seconds,
        steps=detail["steps"],
        frequency_mismatches=sum(
            1
            for lemma in detail["lemmas"]
            if abs(lemma["frequency"] - _wordfreq(lemma["lemma"], detail["language"])) > 1e-9
        ),
    )


def _wordfreq(word: str, language: str) -> float:
    try:
        return float(zipf_frequency(word, language))
    except LookupError:
        return 0.0


def report(samples: list[Sample]) -> None:
    header = ["", *(s.name for s in samples)]
    say("", "== provider calls of the first upload, by step ==")
    rows: list[list[object]] = [
        [step, *(s.first.calls_by_step.get(step, 0) for s in samples)] for step in STEPS
    ]
    other = [sum(n for k, n in s.first.calls_by_step.items() if k not in STEPS) for s in samples]
    if any(other):
        rows.append(["other", *other])
    rows += [
        ["LLM calls (chat completions)", *(s.first.llm_calls for s in samples)],
        ["TTS calls (audio/speech)", *(s.first.tts_calls for s in samples)],
        ["all provider calls", *(s.first.total_calls for s in samples)],
        ["usage.llm_calls (service)", *(s.first.usage.get("llm_calls", 0) for s in samples)],
        ["usage.input_tokens", *(s.first.usage.get("input_tokens", 0) for s in samples)],
        ["usage.output_tokens", *(s.first.usage.get("output_tokens", 0) for s in samples)],
        ["usage.tts_characters", *(s.first.usage.get("tts_characters", 0) for s in samples)],
        ["status", *(s.first.status for s in samples)],
        ["seconds", *(f"{s.first.seconds:.1f}" for s in samples)],
    ]
    say(*table(rows, header))
    say("", "== what the pipeline produced (the fake's answers are smaller than a model's) ==")
    keys = list(samples[0].first.counts)
    rows = [[k, *(s.first.counts[k] for s in samples)] for k in keys]
    rows.append(["lemma frequencies != wordfreq", *(s.first.frequency_mismatches for s in samples)])
    say(*table(rows, header))
    say("", "== the identical upload again ==")
    say(
        *table(
            [
                ["all provider calls", *(s.second.total_calls for s in samples)],
                ["LLM calls", *(s.second.llm_calls for s in samples)],
                ["TTS calls", *(s.second.tts_calls for s in samples)],
                [
                    "usage.llm_calls (service)",
                    *(s.second.usage.get("llm_calls", 0) for s in samples),
                ],
                ["status", *(s.second.status for s in samples)],
                ["seconds", *(f"{s.second.seconds:.1f}" for s in samples)],
            ],
            header,
        )
    )
    typical = samples[0]
    calls = typical.first.calls_by_step
    llm_steps = [step for step in STEPS if not step.startswith("speak") and step in calls]
    over = [step for step in llm_steps if calls[step] > 1]
    per_step = "at most one per step" if not over else f"more than one in {over}"
    say(
        "",
        f"typical page ({typical.name}): {typical.first.llm_calls} LLM calls over "
        f"{len(llm_steps)} LLM steps ({per_step}), "
        f"{typical.first.tts_calls} TTS calls; the identical upload again: "
        f"{typical.second.total_calls} provider calls",
    )
    lemma_batch = _lemma_batch()
    if lemma_batch:
        say(
            f"describe_lemmas sends up to {lemma_batch} lemmas per call: a page with n new lemmas "
            f"takes ceil(n/{lemma_batch}) calls (e.g. 150 lemmas: {math.ceil(150 / lemma_batch)})"
        )
    for sample in samples:
        for upload, label in ((sample.first, "first"), (sample.second, "second")):
            if upload.status != "succeeded":
                failed = [
                    f"{s['name']}: {s['status']} {s['error']}"
                    for s in upload.steps
                    if s["status"] not in ("succeeded", "skipped")
                ]
                say(f"PROBLEM: {sample.name} ({label} upload) ended {upload.status}: {failed}")


def _lemma_batch() -> int | None:
    """describe_lemmas' batch size, if the module still names it BATCH."""
    try:
        from langproc.steps import describe_lemmas
    except ImportError:
        return None
    batch = getattr(describe_lemmas, "BATCH", None)
    return batch if isinstance(batch, int) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--all", action="store_true", help="also fr, es, de and a page photo")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="fake provider latency")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per upload at most")
    parser.add_argument("--keep", action="store_true", help="keep the logs and the database")
    parser.add_argument(
        "--omit-lemmas",
        action="store_true",
        help="the fake leaves every other lemma out of each describe_lemmas answer",
    )
    args = parser.parse_args(argv)
    paths = [TYPICAL, *(OTHERS if args.all else ())]
    say(f"llm_calls {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, langproc at {source_version()}")
    if args.omit_lemmas:
        say("the fake leaves every other lemma out of each describe_lemmas answer")
    workdir = Path(tempfile.mkdtemp(prefix="langproc-llm-calls-"))
    samples: list[Sample] = []
    with FakeOpenAI(latency_ms=args.latency_ms, samples_dir=SAMPLES) as fake:
        database_url = f"sqlite+aiosqlite:///{workdir / 'langproc.db'}"
        migrate_database(database_url, workdir)
        env = service_env(database_url, workdir / "data", fake.base_url)
        serve, _ = start_processes(env, workdir, 0)
        try:
            with httpx.Client(base_url=serve.url, timeout=30) as client:
                for path in paths:
                    first = measure(client, fake, path, args.timeout, args.omit_lemmas)
                    second = measure(client, fake, path, args.timeout, args.omit_lemmas)
                    samples.append(Sample(path, first, second))
        finally:
            stop_gracefully([serve])
    report(samples)
    logs = summarize_logs([serve.log])
    if logs.lines_by_level:
        say(f"log lines (warning and worse): {logs.lines_by_level}", *logs.samples)
    broken = any(u.status != "succeeded" for s in samples for u in (s.first, s.second))
    if broken or args.keep or logs.lines_by_level.get("error"):
        say(f"logs and database kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
