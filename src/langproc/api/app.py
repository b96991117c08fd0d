"""create_app() and its lifespan: the API's composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.routing import Match

from langproc.api.auth import jwks_client
from langproc.api.limits import BodySizeLimit
from langproc.api.observability import RequestContext
from langproc.api.routes import events, health, media, metrics, page, sourcefiles
from langproc.api.unavailable import HANDLED, RETRY_AFTER_S, database_error
from langproc.errors import LangprocError
from langproc.runtime import Runtime, build_runtime
from langproc.settings import ExecutorPlacement, Settings
from langproc.supervisor import ExecutorProcess


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    executor: ExecutorPlacement = ExecutorPlacement.INLINE,
) -> FastAPI:
    """The API, and the pipeline executor where `executor` places it (AUTO is decided by the
    settings: `Settings.executor_placement`)."""
    settings = runtime.settings if runtime is not None else (settings or Settings())
    if executor == ExecutorPlacement.AUTO:
        executor = settings.executor_placement

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or build_runtime(settings)
        app.state.runtime = rt
        if settings.jwks_url:
            app.state.jwks = jwks_client(settings.jwks_url)
        await rt.start(executor=executor == ExecutorPlacement.INLINE)
        child = ExecutorProcess(grace_s=settings.shutdown_grace_s)
        if executor == ExecutorPlacement.PROCESS:
            child.start()
        try:
            yield
        finally:
            await child.stop()
            await rt.stop()

    app = FastAPI(
        title="langproc",
        version="0.1.0",
        summary="Durable background processing of language-learning content.",
        lifespan=lifespan,
    )
    app.add_exception_handler(LangprocError, _langproc_error)  # type: ignore[arg-type]
    for database_exception in HANDLED:
        app.add_exception_handler(database_exception, database_error)
    app.add_exception_handler(405, _method_not_allowed)
    app.include_router(health.router)
    app.include_router(sourcefiles.router)
    app.include_router(events.router)
    app.include_router(media.router)
    app.include_router(metrics.router)
    app.include_router(page.router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Location"],
        )
    app.add_middleware(BodySizeLimit, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestContext)
    return app


async def _langproc_error(_request: Request, exc: LangprocError) -> JSONResponse:
    headers = {}
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.status_code == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


async def _method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
    """405 whose `Allow` lists every method of the path, not only those of the first route."""
    allowed = [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    return JSONResponse(
        {"detail": f"{request.method} is not allowed here: use {', '.join(allowed)}"},
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )
