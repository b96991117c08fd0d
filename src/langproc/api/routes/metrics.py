"""Prometheus metrics (docs/api.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from langproc import metrics
from langproc.api.deps import Session
from langproc.events.stream import open_streams
from langproc.sourcefiles.reads import step_gauges

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics: steps, retries, LLM usage, streams, HTTP",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def get_metrics(session: Session) -> Response:
    counts, oldest_s = await step_gauges(session)
    for status, count in counts.items():
        metrics.STEPS.labels(status).set(count)
    metrics.OLDEST_RUNNABLE.set(oldest_s)
    metrics.OPEN_STREAMS.set(open_streams())
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
