"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter

from langproc.api.deps import RuntimeDep
from langproc.api.openapi import ErrorResponse
from langproc.api.schemas import Health
from langproc.db.migrate import is_at_head
from langproc.errors import DatabaseUnavailable

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="healthz", summary="Liveness: the process runs")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness: the database answers and migrations are at head",
    responses={503: {"model": ErrorResponse, "description": "Not ready."}},
)
async def readyz(runtime: RuntimeDep) -> Health:
    try:
        at_head = await is_at_head(runtime.db)
    except Exception as exc:
        raise DatabaseUnavailable(
            f"the database does not answer ({type(exc).__name__}): try again shortly"
        ) from exc
    if not at_head:
        raise DatabaseUnavailable("the database schema is not at head: run `langproc migrate`")
    return Health(status="ready")
