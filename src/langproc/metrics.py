"""The Prometheus series of docs/api.md. Updated where things happen; gauges that describe the
database are refreshed when /metrics is scraped."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

STEP_DURATION = Histogram(
    "langproc_step_duration_seconds",
    "Time a step attempt took, by step and outcome.",
    ["step", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
STEP_ATTEMPTS = Counter(
    "langproc_step_attempts_total", "Step attempts started.", ["step"], registry=REGISTRY
)
STEP_RETRIES = Counter(
    "langproc_step_retries_total",
    "Step attempts that will be retried, by error class.",
    ["step", "error_class"],
    registry=REGISTRY,
)
STEPS = Gauge(
    "langproc_steps", "Steps by status (pending, running, retrying).", ["status"], registry=REGISTRY
)
OLDEST_RUNNABLE = Gauge(
    "langproc_oldest_runnable_step_age_seconds",
    "How long the oldest runnable step has waited to be claimed.",
    registry=REGISTRY,
)
LLM_CALLS = Counter(
    "langproc_llm_calls_total",
    "LLM calls made (cache hits excluded).",
    ["model"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "langproc_llm_tokens_total", "LLM tokens, by model and direction.", ["model", "direction"],
    registry=REGISTRY,
)  # fmt: skip
TTS_CHARACTERS = Counter(
    "langproc_tts_characters_total", "Characters sent to speech synthesis.", ["model"],
    registry=REGISTRY,
)  # fmt: skip
OPEN_STREAMS = Gauge("langproc_open_event_streams", "Open SSE streams.", registry=REGISTRY)
HTTP_REQUESTS = Counter(
    "langproc_http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "langproc_http_request_duration_seconds",
    "Time to the first byte of the answer, by method and route.",
    ["method", "route"],
    registry=REGISTRY,
)
EXECUTOR_PROCESS_EXITS = Counter(
    "langproc_executor_process_exits_total",
    "Times serve's executor process ended on its own and was started again.",
    registry=REGISTRY,
)
