"""Request dependencies: the runtime, a committed-before-response session, and the caller (whose
token `api.auth` verifies)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.api.auth import verified_subject
from langproc.db.session import autocommit_scope
from langproc.errors import Unauthorized
from langproc.runtime import Runtime
from langproc.settings import AuthMode

LOCAL_OWNER = "local"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns, before the response;
    a reader's for GET and HEAD, which never write."""
    runtime = get_runtime(request)
    factory = runtime.readers if request.method in ("GET", "HEAD") else runtime.sessions
    async with factory() as session, session.begin():
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for reads. On Postgres each statement runs on its own (autocommit): no BEGIN
    and COMMIT round trips around a GET; its statements read the steps before the results, and a
    step's results commit with its status, so an answer never shows a result without its step."""
    async with autocommit_scope(get_runtime(request).readers) as session:
        yield session


bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    auto_error=False,
    description="A Supabase access token; not needed when the server runs with LANGPROC_AUTH=none.",
)
query_token = APIKeyQuery(
    scheme_name="access_token",
    name="access_token",
    auto_error=False,
    description="The same JWT as a query parameter, for EventSource, which cannot send headers.",
)


async def _runtime(request: Request) -> Runtime:
    # A coroutine, so that FastAPI does not hand it to a worker thread on every request.
    return get_runtime(request)


async def get_owner(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The caller's user id: `sub` of a verified JWT, or a fixed local user without auth."""
    if "access_token" in request.query_params and credentials is None:
        settings = get_runtime(request).settings
        if settings.auth != AuthMode.NONE:
            raise Unauthorized(
                "?access_token= is accepted only on event streams: send the token as "
                "Authorization: Bearer <JWT>"
            )
    return await _owner(request, credentials, None)


async def get_stream_owner(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    access_token: Annotated[str | None, Depends(query_token)],
) -> str:
    """The caller of an event stream, which may also send its token as `?access_token=`
    (EventSource cannot send headers)."""
    return await _owner(request, credentials, access_token)


async def _owner(
    request: Request, credentials: HTTPAuthorizationCredentials | None, access_token: str | None
) -> str:
    settings = get_runtime(request).settings
    if settings.auth == AuthMode.NONE:
        return LOCAL_OWNER
    token = credentials.credentials if credentials is not None else access_token
    if not token and request.headers.get("authorization"):
        raise Unauthorized("the Authorization header must read `Bearer <JWT>`")
    if not token:
        raise Unauthorized(
            "missing credentials: send Authorization: Bearer <JWT> (or ?access_token= on streams)"
        )
    jwks = request.app.state.jwks if settings.jwks_url else None
    return await verified_subject(settings, jwks, token)


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
Owner = Annotated[str, Depends(get_owner)]
StreamOwner = Annotated[str, Depends(get_stream_owner)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
